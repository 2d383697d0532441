"""Registry writes: one event per accepted change, with the full state after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import AuditEntry, ChangeEvent, Listing
from hub.errors import Conflict, InvalidRecord, PermissionDenied
from hub.services import registry
from hub.services.actors import Actor
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction, person_listing, person_restriction

CLERK = Actor("staff:wang", court_code="京0105")


def events(ctx: HubContext) -> list[ChangeEvent]:
    with ctx.sessions() as s:
        return list(s.scalars(select(ChangeEvent).order_by(ChangeEvent.seq)))


def test_add_listing_appends_one_event_with_full_state(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=CLERK, now=NOW)
    [event] = events(hub_ctx)
    assert (event.seq, event.type, event.record_key) == (1, "listing.added", "L-2024-000001")
    assert event.state["status"] == "active"
    assert event.state["gender"] == "male"  # derived from the ID
    assert event.state["birth_date"] == "1985-03-15"
    assert event.state["expires_on"] is None  # B1 has no term
    assert event.actor == "staff:wang"
    with hub_ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_rejected_listing_writes_nothing(hub_ctx: HubContext) -> None:
    with pytest.raises(InvalidRecord) as err, session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(id_number="110105198503150018"), actor=CLERK,
                             now=NOW)
    assert err.value.problems[0].field == "id_number"
    assert events(hub_ctx) == []
    with hub_ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Listing)) == 0


def test_staff_may_change_only_their_court(hub_ctx: HubContext) -> None:
    other = Actor("staff:li", court_code="沪0115")
    with pytest.raises(PermissionDenied), session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=other, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=CLERK, now=NOW)
    with pytest.raises(PermissionDenied), session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-2024-000001", reason="performed", actor=other, now=NOW)
    assert [e.type for e in events(hub_ctx)] == ["listing.added"]


def test_correction_names_changed_fields_and_skips_no_op(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=CLERK, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        event = registry.correct_listing(
            s, "L-2024-000002", {"obligation": "支付货款人民币1000000元", "extension_months": 12},
            reason="data_inaccurate", actor=CLERK, now=NOW,
        )
    assert event is not None
    assert event.changed_fields == ["obligation", "extension_months", "expires_on"]
    assert event.state["expires_on"] == "2027-05-20"  # 24 + 12 months from decided_on
    with session_scope(hub_ctx.sessions) as s:
        again = registry.correct_listing(
            s, "L-2024-000002", {"obligation": "支付货款人民币1000000元"},
            reason="data_inaccurate", actor=CLERK, now=NOW,
        )
    assert again is None
    assert len(events(hub_ctx)) == 2


def test_correction_needs_a_reason_code(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=CLERK, now=NOW)
    with pytest.raises(InvalidRecord, match="reason"), session_scope(hub_ctx.sessions) as s:
        registry.correct_listing(s, "L-2024-000001", {"name": "张伟伟"}, reason="because",
                                 actor=CLERK, now=NOW)


def test_exits_are_distinct_events_and_cannot_repeat(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=CLERK, now=NOW)
        registry.add_listing(s, org_listing(), actor=CLERK, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-2024-000001", reason="performed", actor=CLERK, now=NOW)
        registry.revoke_listing(s, "L-2024-000002", actor=CLERK, now=NOW)
    with pytest.raises(Conflict, match="removed"), session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-2024-000001", reason="performed", actor=CLERK, now=NOW)
    evs = events(hub_ctx)
    assert [(e.type, e.reason) for e in evs[2:]] == [
        ("listing.removed", "performed"), ("listing.revoked", "wrongly_listed")]
    assert evs[2].state["status"] == "removed"
    assert evs[2].state["status_reason"] == "performed"


def test_restriction_lifecycle(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=CLERK, now=NOW)
        registry.issue_restriction(s, org_restriction(), actor=CLERK, now=NOW)
    today = (NOW + timedelta(hours=8)).date()
    with session_scope(hub_ctx.sessions) as s:
        registry.grant_exemption(s, "R-2024-000002", {
            "person": "320102197907040241", "categories": ["C1"], "from": today.isoformat(),
            "until": (today + timedelta(days=7)).isoformat(), "reason": "illness",
        }, actor=CLERK, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        registry.release_person(s, "R-2024-000002", "320102197907040241",
                                reason="representative_replaced", actor=CLERK, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        registry.lift_restriction(s, "R-2024-000002", reason="performed", actor=CLERK, now=NOW)
    evs = events(hub_ctx)
    assert [e.type for e in evs] == ["listing.added", "restriction.issued",
                                     "restriction.exempted", "restriction.person_released",
                                     "restriction.lifted"]
    issued, exempted, released, lifted = (e.state for e in evs[1:])
    assert issued["bound_persons"][0]["role"] == "legal_representative"
    assert exempted["exemptions"][0]["categories"] == ["C1"]
    assert released["bound_persons"][0]["released_on"] == today.isoformat()
    assert (lifted["status"], lifted["status_reason"]) == ("lifted", "performed")


def test_exemption_longer_than_a_month_is_refused(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=CLERK, now=NOW)
        registry.issue_restriction(s, person_restriction(), actor=CLERK, now=NOW)
    with pytest.raises(InvalidRecord, match="until"), session_scope(hub_ctx.sessions) as s:
        registry.grant_exemption(s, "R-2024-000001", {
            "person": "110105198503150019", "categories": ["C1", "C9"], "from": "2026-11-26",
            "until": "2027-01-10", "reason": "funeral"}, actor=CLERK, now=NOW)
    assert len(events(hub_ctx)) == 2


def test_restriction_needs_an_existing_listing(hub_ctx: HubContext) -> None:
    with pytest.raises(InvalidRecord, match="listing_id"), session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, person_restriction(), actor=CLERK, now=NOW)


def test_correcting_bound_persons_keeps_releases(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=CLERK, now=NOW)
        registry.issue_restriction(s, org_restriction(), actor=CLERK, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        registry.release_person(s, "R-2024-000002", "320102197907040241",
                                reason="representative_replaced", actor=CLERK, now=NOW)
    persons = [
        {"name": "李娜", "id_number": "320102197907040241", "role": "legal_representative"},
        {"name": "赵强", "id_number": "11010519491231002X", "role": "actual_controller"},
    ]
    with session_scope(hub_ctx.sessions) as s:
        event = registry.correct_restriction(s, "R-2024-000002", {"bound_persons": persons},
                                             reason="data_inaccurate", actor=CLERK, now=NOW)
    assert event is not None
    assert event.changed_fields == ["bound_persons"]
    first, second = event.state["bound_persons"]
    assert first["released_on"] is not None
    assert second["released_on"] is None
