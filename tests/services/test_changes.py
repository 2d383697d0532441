"""The /changes page service: previous states, withdrawn rows, cursor over ignored events."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent
from hub.errors import Conflict
from hub.services import registry
from hub.services.actors import Actor
from hub.services.changes import _states_before, changes_page
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction

CLERK = Actor("staff:wang", court_code="京0105")
REP = "320102197907040241"


def _seed(ctx: HubContext) -> None:
    with session_scope(ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=CLERK, now=NOW)
        registry.issue_restriction(s, org_restriction(), actor=CLERK, now=NOW)
    with session_scope(ctx.sessions) as s:
        registry.release_person(s, "R-2024-000002", REP, reason="representative_replaced",
                                actor=CLERK, now=NOW)


def test_states_before_is_each_asked_records_last_state(hub_ctx: HubContext) -> None:
    _seed(hub_ctx)
    with hub_ctx.sessions() as s:
        events = list(s.scalars(select(ChangeEvent).order_by(ChangeEvent.seq)))
    assert [e.seq for e in events] == [1, 2, 3]
    asked = {("listing", "L-2024-000002"), ("restriction", "R-2024-000002")}
    with hub_ctx.engine.connect() as conn:
        # Asked as two lists (kinds, keys): only the pairs asked come back.
        before = _states_before(conn, asked, 2)
        assert set(before) == asked
        assert _states_before(conn, {("listing", "R-2024-000002")}, 3) == {}
        assert before[("restriction", "R-2024-000002")] == events[1].state
        assert _states_before(conn, {("restriction", "R-2024-000002")}, 3) == {
            ("restriction", "R-2024-000002"): events[2].state}
        assert _states_before(conn, {("restriction", "R-2024-000002")}, 1) == {}


def test_cursor_passes_ignored_events_for_a_person_only_partner(hub_ctx: HubContext) -> None:
    _seed(hub_ctx)
    travelsky = load_adapters(hub_ctx.settings)["travelsky"]
    with hub_ctx.engine.connect() as conn:
        first = changes_page(conn, travelsky, 0, 2)
        rest = changes_page(conn, travelsky, first.next_after, 1000)
    # The listing (seq 1) is not travelsky's: skipped, but the cursor passes it.
    assert [e["seq"] for e in first.events] == [2]
    assert (first.next_after, first.high_water) == (2, 3)
    [released] = rest.events
    assert released["type"] == "restriction.person_released"
    key = f"R-2024-000002#legal_representative#{REP}"
    assert {(r["record_key"], r["status"]) for r in released["rows"]} == {(key, "released")}
    assert rest.next_after == rest.high_water == 3


def test_a_cursor_beyond_the_high_water_mark_is_refused(hub_ctx: HubContext) -> None:
    _seed(hub_ctx)
    ndrc = load_adapters(hub_ctx.settings)["ndrc"]
    with hub_ctx.engine.connect() as conn:
        last = changes_page(conn, ndrc, 3, 1000)
        assert (last.events, last.next_after, last.high_water) == ([], 3, 3)
        with pytest.raises(Conflict, match="beyond the high-water mark 3"):
            changes_page(conn, ndrc, 4, 1000)
