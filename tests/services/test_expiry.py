"""Expiry: due listings and exemptions end with one event each; a rerun does nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent, Listing
from hub.services import registry
from hub.services.actors import Actor
from hub.services.expiry import run_expiry
from tests.conftest import NOW, invoke
from tests.samples import org_listing, org_restriction, person_listing

ACTOR = Actor("cli:test")


def _types(ctx: HubContext) -> list[str]:
    with ctx.sessions() as s:
        return list(s.scalars(select(ChangeEvent.type).order_by(ChangeEvent.seq)))


def test_listing_expires_the_day_after_expires_on(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=ACTOR, now=NOW)  # expires 2026-05-20
        registry.add_listing(s, person_listing(), actor=ACTOR, now=NOW)  # B1: never expires
    on_the_day = datetime(2026, 5, 20, 12, tzinfo=UTC)
    assert run_expiry(hub_ctx.sessions, now=on_the_day).listings_expired == 0
    # 2026-05-20 16:30 UTC is already 2026-05-21 in China: the court's calendar counts.
    next_day = datetime(2026, 5, 20, 16, 30, tzinfo=UTC)
    report = run_expiry(hub_ctx.sessions, now=next_day)
    assert report.listings_expired == 1
    with hub_ctx.sessions() as s:
        assert s.get(Listing, "L-2024-000002").status == "expired"  # type: ignore[union-attr]
        assert s.get(Listing, "L-2024-000001").status == "active"  # type: ignore[union-attr]
    assert run_expiry(hub_ctx.sessions, now=next_day).listings_expired == 0
    assert _types(hub_ctx).count("listing.expired") == 1


#: The wall clock the ``hub expire`` tests run at: every ``--at`` they give is before it.
WALL_CLOCK = datetime(2026, 12, 10, 4, tzinfo=UTC)


@pytest.fixture
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("hub.commands.upkeep.utcnow", lambda: WALL_CLOCK)
    return WALL_CLOCK


@pytest.mark.usefixtures("wall_clock")
def test_exemption_ends_by_itself_once(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(decided_on="2025-06-01", listed_on="2025-06-02"),
                             actor=ACTOR, now=NOW)
        registry.issue_restriction(s, org_restriction(), actor=ACTOR, now=NOW)
        registry.grant_exemption(s, "R-2024-000002", {
            "person": "320102197907040241", "categories": ["C1", "C9"], "from": "2026-11-25",
            "until": "2026-12-05", "reason": "exam"}, actor=ACTOR, now=NOW)
    result = invoke(runner, "expire", "--at", "2026-12-05T12:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert "0 exemption(s) ended" in result.output
    result = invoke(runner, "expire", "--at", "2026-12-06T12:00:00+00:00")
    assert "1 exemption(s) ended" in result.output
    result = invoke(runner, "expire", "--at", "2026-12-07T12:00:00+00:00")
    assert "0 exemption(s) ended" in result.output
    assert _types(hub_ctx)[-1] == "restriction.exemption_ended"
    with hub_ctx.sessions() as s:
        last = s.scalars(select(ChangeEvent).order_by(ChangeEvent.seq.desc())).first()
        assert last is not None
        assert last.state["exemptions"][0]["status"] == "ended"


def test_an_instant_that_is_not_iso_8601_is_a_usage_error(hub_ctx: HubContext,
                                                          runner: FlaskCliRunner) -> None:
    result = invoke(runner, "expire", "--at", "03/12/2026")
    assert result.exit_code == 2
    assert "Invalid value for --at: '03/12/2026' is not an ISO 8601" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _event_count(ctx: HubContext) -> int:
    return len(_types(ctx))


@pytest.mark.usefixtures("wall_clock")
def test_an_instant_later_than_now_is_refused_and_nothing_expires(
        hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=ACTOR, now=NOW)  # expires 2026-05-20
        registry.add_listing(s, org_listing(listing_id="L-LATE", decided_on="2025-06-01",
                                            listed_on="2025-06-02"),
                             actor=ACTOR, now=NOW)  # expires 2027-06-01
    result = invoke(runner, "expire", "--at", "2099-01-01T00:00:00+08:00")
    assert result.exit_code == 2
    assert "Invalid value for --at: 2099-01-01T00:00:00+08:00 is in the future" in result.output
    assert "cannot be undone" in result.output
    assert _types(hub_ctx) == ["listing.added", "listing.added"]
    with hub_ctx.sessions() as s:
        assert {lst.listing_id: lst.status for lst in s.scalars(select(Listing))} == {
            "L-2024-000002": "active", "L-LATE": "active"}
    # Now itself, a moment ago, is fine: the listing past its term expires, the other not.
    result = invoke(runner, "expire", "--at", "2026-12-10T03:59:00+00:00")
    assert result.exit_code == 0, result.output
    assert "1 listing(s) expired" in result.output


@pytest.mark.usefixtures("wall_clock")
def test_an_instant_before_the_last_event_is_refused(hub_ctx: HubContext,
                                                    runner: FlaskCliRunner) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=ACTOR, now=NOW)  # expires 2026-05-20
    # Expired as of 2026-06-01, the event would come after one stamped 2026-11-25.
    result = invoke(runner, "expire", "--at", "2026-06-01T00:00:00+08:00")
    assert result.exit_code == 1
    assert ("--at 2026-06-01T00:00:00+08:00 is before the change log's last event (seq 1, "
            "at 2026-11-25T04:00:00+00:00): expiry events would go back in time") \
        in result.output
    assert _types(hub_ctx) == ["listing.added"]
    result = invoke(runner, "expire")  # without --at: as of now, the wall clock's
    assert result.exit_code == 0, result.output
    assert "1 listing(s) expired" in result.output
