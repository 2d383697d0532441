"""The PostgreSQL fast path of full snapshots writes the very bytes of the reference path
(the change log projected and exported in Python), for every partner that takes it."""

from __future__ import annotations

import io
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import text

from hub.config.partners import adapter_for, default_partners_dir, load_partners
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.exporters import BatchHeader
from hub.partners.base import PartnerAdapter
from hub.services import fast_snapshot, registry
from hub.services.demo import seed
from hub.services.snapshots import full_rows, write_full_snapshot
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction, person_listing, person_restriction
from tests.services.test_replay import ACTOR

CONFIGS = load_partners(default_partners_dir())
TRICKY = ['He said "hi", then left', "line\nbreak\r\ttab", "=1+2", "+86", "-5", "@home",
          "𠀀𠀁 GB18030 only 䶮", "back\\slash \u0001 ctl \u007f", "'quoted'"]


def _header(seq: int) -> BatchHeader:
    return BatchHeader(partner="x", kind="full", from_seq=0, to_seq=seq, batch_id="b",
                       created_at="2026-11-25T04:00:00Z")


def _tricky_world(ctx: HubContext) -> None:
    seed(ctx.sessions, subjects=60, seed=5, now=NOW)
    today = (NOW + timedelta(hours=8)).date()
    with session_scope(ctx.sessions) as s:
        for i, name in enumerate(TRICKY):
            registry.add_listing(s, person_listing(listing_id=f"L-T-{i}", obligation=name,
                                                   basis_issuer=name), actor=ACTOR, now=NOW)
            registry.add_listing(s, org_listing(listing_id=f"L-TO-{i}", name=name,
                                                legal_representative={"name": name}),
                                 actor=ACTOR, now=NOW)
            registry.issue_restriction(s, org_restriction(order_id=f"R-TO-{i}",
                                                          listing_id=f"L-TO-{i}"),
                                       actor=ACTOR, now=NOW)
            registry.issue_restriction(s, person_restriction(order_id=f"R-TP-{i}",
                                                             listing_id=f"L-T-{i}"),
                                       actor=ACTOR, now=NOW)
        # A person whose name only GB18030 (not GBK) encodes, for the railway's file.
        registry.add_listing(s, person_listing(listing_id="L-TN", name="𠀀𠀁䶮"), actor=ACTOR,
                             now=NOW)
        registry.add_listing(s, person_listing(listing_id="L-TF", name='=1+2,"x"'),
                             actor=ACTOR, now=NOW)
        registry.remove_listing(s, "L-T-0", reason="performed", actor=ACTOR, now=NOW)
        registry.release_person(s, "R-TO-1", "320102197907040241",
                                reason="representative_replaced", actor=ACTOR, now=NOW)
        registry.lift_restriction(s, "R-TP-2", reason="performed", actor=ACTOR, now=NOW)
        for order, days in (("R-TP-3", 5), ("R-TP-4", 1)):
            registry.grant_exemption(s, order, {
                "person": "110105198503150019", "categories": ["C1"],
                "from": today.isoformat(), "until": (today + timedelta(days=days)).isoformat(),
                "reason": "illness"}, actor=ACTOR, now=NOW)
    from hub.services.expiry import run_expiry

    run_expiry(ctx.sessions, now=NOW + timedelta(days=2))  # ends R-TP-4's exemption


@pytest.fixture(scope="module")
def world(pg_context: HubContext) -> HubContext:
    from tests.conftest import reset_postgres

    reset_postgres(pg_context.engine)
    _tricky_world(pg_context)
    return pg_context


def _reference(ctx: HubContext, adapter: PartnerAdapter) -> bytes:
    out = io.BytesIO()
    with ctx.engine.connect() as conn:
        seq = int(conn.execute(text("SELECT value FROM counters WHERE name = 'seq'")).scalar_one())
        adapter.exporter().write(full_rows(conn, adapter, seq), out,  # type: ignore[arg-type]
                                 _header(seq))
    return out.getvalue()


@pytest.mark.postgres
@pytest.mark.parametrize("partner", sorted(CONFIGS))
def test_fast_path_bytes_equal_reference(partner: str, world: HubContext) -> None:
    adapter = adapter_for(CONFIGS[partner])
    out = io.BytesIO()
    result = write_full_snapshot(world.engine, adapter, out, _header)
    expected = _reference(world, adapter)
    assert out.getvalue() == expected
    if fast_snapshot.supports(adapter) and CONFIGS[partner].format == "jsonl":
        # Every line is one record, and the tricky values did reach the file.
        assert result.records == len(expected.splitlines()) > 0
    if partner == "ndrc":  # receives every field
        for value in TRICKY[1:]:  # [0] went with the removed listing
            assert orjson.dumps(value)[1:-1] in expected, value
    if partner == "railway":
        assert "𠀀𠀁䶮".encode("gb18030") in expected
        assert b'"\'=1+2,""x"""' in expected  # guarded, then quoted


@pytest.mark.postgres
def test_benchmark_jsonl_partner_takes_the_fast_path() -> None:
    assert fast_snapshot.supports(adapter_for(CONFIGS["ndrc"]))
    assert fast_snapshot.supports(adapter_for(CONFIGS["railway"]))
    assert not fast_snapshot.supports(adapter_for(CONFIGS["mps"]))




