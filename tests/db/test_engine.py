"""A transaction that loses to a concurrent one is one line saying so, not "database down".

Real PostgreSQL transactions race here: a deadlock through ``hub listings remove``,
and the serialization failure and lock timeout the server raises.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import OperationalError

from hub.app import create_app
from hub.context import HubContext
from hub.db.engine import explain_failure, session_scope
from hub.db.models import ChangeEvent, Listing
from hub.services import registry
from hub.services.actors import Actor
from hub.services.feed import high_water
from tests.conftest import NOW, PG_URL, invoke, reset_postgres
from tests.samples import person_listing

pytestmark = pytest.mark.postgres

LOST_RACE = ("another change to the same records was running at the same time ({}): this "
             "command's transaction was rolled back and nothing of it was written; run the "
             "command again")


@pytest.fixture
def pg(pg_context: HubContext) -> HubContext:
    reset_postgres(pg_context.engine)
    with session_scope(pg_context.sessions) as s:
        registry.add_listing(s, person_listing(), actor=Actor("cli:test"), now=NOW)
    return pg_context


def _wait_until_blocked(conn: Connection, other_than: int) -> None:
    """Return once another backend of this database waits for a lock."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> :me"), {"me": other_than}).scalar_one()
        if waiting:
            return
        conn.rollback()  # pg_stat_activity is a snapshot per transaction: take a new one
        time.sleep(0.02)
    raise AssertionError("the command never waited for the lock held by the test")


def test_a_deadlocked_command_says_run_it_again_and_writes_nothing(pg: HubContext) -> None:
    runner: FlaskCliRunner = create_app(context=pg).test_cli_runner()
    with pg.engine.connect() as conn:
        before = high_water(conn)
    errors: list[BaseException] = []
    holding = threading.Event()

    def rival() -> None:
        # Takes the event counter first, then wants the listing the command has locked:
        # the opposite order of `hub listings remove`, as two opposed imports do.
        try:
            with pg.engine.connect() as conn, conn.begin():
                # A long timeout here, the default 1 s in the command's session: the
                # command is the one PostgreSQL picks to break the deadlock.
                conn.execute(text("SET LOCAL deadlock_timeout = '20s'"))
                conn.execute(text("UPDATE counters SET value = value WHERE name = 'seq'"))
                holding.set()
                me = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
                with pg.engine.connect() as watcher:
                    _wait_until_blocked(watcher, me)
                conn.execute(text("SELECT 1 FROM listings WHERE listing_id = 'L-2024-000001' "
                                  "FOR UPDATE"))
                conn.rollback()
        except BaseException as exc:  # reported by the test's thread below
            errors.append(exc)
            holding.set()

    thread = threading.Thread(target=rival)
    thread.start()
    assert holding.wait(10)
    result = invoke(runner, "listings", "remove", "L-2024-000001", "--reason", "performed")
    thread.join(60)
    assert not errors, (errors, result.output)
    assert result.exit_code == 1, result.output
    assert LOST_RACE.format("deadlock detected") in result.output
    assert "cannot use the database" not in result.output
    with pg.sessions() as s:
        assert s.get(Listing, "L-2024-000001").status == "active"  # type: ignore[union-attr]
        assert list(s.scalars(select(ChangeEvent.type))) == ["listing.added"]
    with pg.engine.connect() as conn:
        assert high_water(conn) == before


def _serialization_failure(pg: HubContext) -> OperationalError:
    with pg.engine.connect() as a, pg.engine.connect() as b:
        for conn in (a, b):
            conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ"))
            conn.execute(text("SELECT value FROM counters WHERE name = 'seq'")).scalar_one()
        a.execute(text("UPDATE counters SET value = value + 1 WHERE name = 'seq'"))
        a.commit()
        with pytest.raises(OperationalError) as caught:
            b.execute(text("UPDATE counters SET value = value + 1 WHERE name = 'seq'"))
        b.rollback()
    return caught.value


def _lock_timeout(pg: HubContext) -> OperationalError:
    with pg.engine.connect() as a, pg.engine.connect() as b:
        a.execute(text("UPDATE counters SET value = value WHERE name = 'seq'"))
        b.execute(text("SET LOCAL lock_timeout = '100ms'"))
        with pytest.raises(OperationalError) as caught:
            b.execute(text("UPDATE counters SET value = value WHERE name = 'seq'"))
        b.rollback()
        a.rollback()
    return caught.value


@pytest.mark.parametrize(("race", "reason"), [
    (_serialization_failure, "could not serialize access due to concurrent update"),
    (_lock_timeout, "canceling statement due to lock timeout"),
])
def test_a_lost_race_is_named_as_one(pg: HubContext, race: Callable[[HubContext],
                                                                    OperationalError],
                                     reason: str) -> None:
    assert explain_failure(race(pg), PG_URL) == LOST_RACE.format(reason)
