"""The /checks service: subjects and bound persons found through indexes, not a scan."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent
from hub.services import registry
from hub.services.actors import Actor
from hub.services.checks import active_orders, check_subjects, portable_records, records
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction, person_listing, person_restriction

CLERK = Actor("staff:wang", court_code="京0105")
PERSON, ORG, REP = "110105198503150019", "91110105MA01ABCD5F", "320102197907040241"
UNLISTED = "11010519900101001X"


def _seed(ctx: HubContext) -> None:
    with session_scope(ctx.sessions) as s:
        for listing in (person_listing(), org_listing()):
            registry.add_listing(s, listing, actor=CLERK, now=NOW)
    with session_scope(ctx.sessions) as s:
        for order in (person_restriction(), org_restriction()):
            registry.issue_restriction(s, order, actor=CLERK, now=NOW)


def test_subject_and_bound_person_orders_are_found(hub_ctx: HubContext) -> None:
    _seed(hub_ctx)
    travelsky = load_adapters(hub_ctx.settings)["travelsky"]
    with hub_ctx.sessions() as s:
        answer = check_subjects(s, travelsky, [PERSON, REP, ORG, UNLISTED])
    found = {r.id_number: [(m["record_key"], m["matched_as"]) for m in r.matches]
             for r in answer.results}
    assert found == {
        PERSON: [("R-2024-000001", "subject")],
        REP: [(f"R-2024-000002#legal_representative#{REP}", "bound_person")],
        ORG: [],  # travelsky takes persons only
        UNLISTED: [],
    }
    assert answer.seqs[0] <= answer.seqs[1] == 4  # two listings, two orders


def test_a_listing_past_its_term_is_not_found_before_the_expiry_job_runs(
        hub_ctx: HubContext) -> None:
    """DOMAIN.md: a listing expires the day after expires_on; the job that marks it may
    not have run yet (a missed night), but the counter must not stop the person."""
    _seed(hub_ctx)
    ndrc = load_adapters(hub_ctx.settings)["ndrc"]
    with hub_ctx.sessions() as s:
        ends = registry.get_listing(s, "L-2024-000002").expires_on  # 24 months
    assert ends is not None

    def listings_found(on: date) -> list[str]:
        at = datetime.combine(on, time(12), UTC)
        with hub_ctx.sessions() as s:
            (result,) = check_subjects(s, ndrc, [ORG], now=at).results
        return [m["record_key"] for m in result.matches if m["record_type"] == "listing"]

    assert listings_found(ends) == ["L-2024-000002"]  # its last day
    assert listings_found(ends + timedelta(days=1)) == []


def test_a_legacy_15_digit_resident_id_finds_the_record_of_its_18_digit_form(
        hub_ctx: HubContext) -> None:
    """DOMAIN.md §2: the registry stores a 15-digit number in its 18-digit form; a
    counter may still read the old card. The answer stays under the ID asked."""
    _seed(hub_ctx)
    travelsky = load_adapters(hub_ctx.settings)["travelsky"]
    legacy = PERSON[:6] + PERSON[8:17]
    with hub_ctx.sessions() as s:
        answer = check_subjects(s, travelsky, [legacy, PERSON])
    by_id = {r.id_number: [m["record_key"] for m in r.matches] for r in answer.results}
    assert by_id == {legacy: ["R-2024-000001"], PERSON: ["R-2024-000001"]}
    assert answer.looked_up == [legacy, PERSON]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_orders_query_uses_indexes_on_postgres(hub_ctx: HubContext) -> None:
    _seed(hub_ctx)
    with hub_ctx.engine.connect() as conn:
        # With scans priced out, a plan that still scans restrictions has no index to use.
        conn.execute(text("SET enable_seqscan = off"))
        sql = active_orders([PERSON, REP], "postgresql").compile(
            hub_ctx.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {sql}")))
        conn.execute(text("RESET enable_seqscan"))
    assert "Seq Scan" not in plan, plan


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_one_statement_lookup_gives_the_portable_lookups_states(
        hub_ctx: HubContext) -> None:
    """PostgreSQL's single statement and the portable path read the same states, and
    each is the record's last state in the log (persons released, exemptions of both
    statuses, an organisation's listing with its representative, JSON columns)."""
    _seed(hub_ctx)
    with session_scope(hub_ctx.sessions) as s:
        registry.grant_exemption(s, "R-2024-000002", {
            "person": REP, "categories": ["C1"], "from": NOW.date().isoformat(),
            "until": (NOW.date() + timedelta(days=3)).isoformat(), "reason": "illness",
        }, actor=CLERK, now=NOW)
        exemption = registry.grant_exemption(s, "R-2024-000002", {
            "person": REP, "categories": ["C1"], "from": NOW.date().isoformat(),
            "until": (NOW.date() + timedelta(days=2)).isoformat(), "reason": "funeral",
        }, actor=CLERK, now=NOW)
        registry.end_exemption(s, exemption, actor=CLERK, now=NOW)
    ids = [PERSON, REP, ORG, UNLISTED]
    with hub_ctx.sessions() as s:
        found, seqs = records(s, ids)
        fast = sorted(found, key=_by_key)
        portable = sorted(portable_records(s, ids), key=_by_key)
        logged = {(e.record_kind, e.record_key): e.state for e in s.scalars(
            select(ChangeEvent).order_by(ChangeEvent.seq))}
    assert [kind for kind, _state in fast] == ["listing", "listing", "restriction",
                                               "restriction"]
    assert seqs == (7, 7)  # read by the same statement: 4 records, 2 exemptions, 1 end
    assert fast == portable
    assert [s for _k, s in fast] == [logged[_by_key(r)] for r in fast]
    (org_order,) = [s for k, s in fast if k == "restriction" and s["subject_type"] ==
                    "organisation"]
    assert [e["status"] for e in org_order["exemptions"]] == ["active", "ended"]


def _by_key(record: tuple[str, dict[str, Any]]) -> tuple[str, str]:
    kind, state = record
    return kind, state["listing_id"] if kind == "listing" else state["order_id"]
