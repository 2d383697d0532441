"""Property: replaying the change log from seq 0 rebuilds every record's current state."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.context import HubContext
from hub.core.records import listing_state
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent, Listing, Restriction
from hub.errors import HubError
from hub.services import registry
from hub.services.actors import Actor
from hub.services.expiry import run_expiry
from hub.services.feed import high_water
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction, person_listing, person_restriction

ACTOR = Actor("cli:property")
_examples = itertools.count()
IDX = st.integers(0, 2)

OPS = st.one_of(
    st.tuples(st.just("add_person"), IDX),
    st.tuples(st.just("add_org"), IDX),
    st.tuples(st.just("correct"), IDX, st.sampled_from(["甲", "乙"]), st.sampled_from([0, 12])),
    st.tuples(st.just("remove"), IDX, st.sampled_from(["performed", "creditor_request"])),
    st.tuples(st.just("revoke"), IDX),
    st.tuples(st.just("issue_person"), IDX),
    st.tuples(st.just("issue_org"), IDX),
    st.tuples(st.just("correct_order"), IDX, st.sampled_from([["C1", "C9"], ["C1", "C2", "C9"]])),
    st.tuples(st.just("lift"), IDX),
    st.tuples(st.just("release"), IDX),
    st.tuples(st.just("exempt"), IDX, st.integers(1, 40)),
    st.tuples(st.just("expire"), st.sampled_from([0, 20, 700])),
)


def _apply(ctx: HubContext, p: str, op: tuple[Any, ...]) -> None:
    name, *args = op
    lp, lo = f"L-{p}-P{args[0]}", f"L-{p}-O{args[0]}"
    rp, ro = f"R-{p}-P{args[0]}", f"R-{p}-O{args[0]}"
    today = (NOW + timedelta(hours=8)).date()
    if name == "expire":
        run_expiry(ctx.sessions, now=NOW + timedelta(days=args[0]))
        return
    with session_scope(ctx.sessions) as s:
        if name == "add_person":
            registry.add_listing(s, person_listing(listing_id=lp), actor=ACTOR, now=NOW)
        elif name == "add_org":
            # Decided late enough for its 24-month term to end within "expire"'s reach.
            registry.add_listing(s, org_listing(listing_id=lo, decided_on="2025-11-20",
                                                listed_on="2025-11-21"), actor=ACTOR, now=NOW)
        elif name == "correct":
            registry.correct_listing(s, lo, {"obligation": f"支付货款{args[1]}",
                                             "extension_months": args[2]},
                                     reason="data_inaccurate", actor=ACTOR, now=NOW)
        elif name == "remove":
            registry.remove_listing(s, lp, reason=args[1], actor=ACTOR, now=NOW)
        elif name == "revoke":
            registry.revoke_listing(s, lo, actor=ACTOR, now=NOW)
        elif name == "issue_person":
            registry.issue_restriction(s, person_restriction(order_id=rp, listing_id=lp),
                                       actor=ACTOR, now=NOW)
        elif name == "issue_org":
            registry.issue_restriction(s, org_restriction(order_id=ro, listing_id=lo),
                                       actor=ACTOR, now=NOW)
        elif name == "correct_order":
            registry.correct_restriction(s, ro, {"categories": args[1]},
                                         reason="data_inaccurate", actor=ACTOR, now=NOW)
        elif name == "lift":
            registry.lift_restriction(s, rp, reason="performed", actor=ACTOR, now=NOW)
        elif name == "release":
            registry.release_person(s, ro, "320102197907040241",
                                    reason="representative_replaced", actor=ACTOR, now=NOW)
        elif name == "exempt":
            registry.grant_exemption(s, rp, {
                "person": "110105198503150019", "categories": ["C1"], "from": today.isoformat(),
                "until": (today + timedelta(days=args[1])).isoformat(), "reason": "illness",
            }, actor=ACTOR, now=NOW)


def replayed_states(ctx: HubContext) -> dict[tuple[str, str], dict[str, Any]]:
    states: dict[tuple[str, str], dict[str, Any]] = {}
    with ctx.sessions() as s:
        for event in s.scalars(select(ChangeEvent).order_by(ChangeEvent.seq)):
            states[(event.record_kind, event.record_key)] = event.state
    return states


def current_states(ctx: HubContext) -> dict[tuple[str, str], dict[str, Any]]:
    with ctx.sessions() as s:
        out = {("listing", l.listing_id): listing_state(registry.listing_values(l))
               for l in s.scalars(select(Listing))}  # noqa: E741
        out.update({("restriction", r.order_id): registry.current_restriction_state(r)
                    for r in s.scalars(select(Restriction))})
    return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(OPS, min_size=1, max_size=12))
def test_replay_rebuilds_current_state(hub_ctx: HubContext, ops: list[tuple[Any, ...]]) -> None:
    prefix = f"X{next(_examples)}"
    for op in ops:
        with hub_ctx.engine.connect() as conn:
            before = high_water(conn)
        try:
            _apply(hub_ctx, prefix, op)
        except HubError:
            with hub_ctx.engine.connect() as conn:
                assert high_water(conn) == before, f"{op} failed but left events behind"
    assert replayed_states(hub_ctx) == current_states(hub_ctx)
    with hub_ctx.sessions() as s:
        seqs = list(s.scalars(select(ChangeEvent.seq).order_by(ChangeEvent.seq)))
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free


#: A history in which every operation of OPS applies (each after what it needs): the
#: properties above and in test_snapshots.py, which let refused operations pass as
#: part of a history, are only worth what these operations can do.
EVERY_OPERATION = [
    ("add_person", 0), ("add_org", 0), ("correct", 0, "甲", 12), ("issue_person", 0),
    ("issue_org", 0), ("correct_order", 0, ["C1", "C9"]), ("release", 0), ("exempt", 0, 5),
    ("lift", 0), ("remove", 0, "performed"), ("revoke", 0), ("expire", 700),
]


def test_every_operation_of_the_properties_applies(hub_ctx: HubContext) -> None:
    seqs = []
    for op in EVERY_OPERATION:
        _apply(hub_ctx, "E", op)  # raises if the generator's records are refused
        with hub_ctx.engine.connect() as conn:
            seqs.append(high_water(conn))
    # Each wrote at least one event (expire: the listings past their term).
    assert all(b > a for a, b in itertools.pairwise([0, *seqs])), list(zip(EVERY_OPERATION,
                                                                           seqs, strict=True))
