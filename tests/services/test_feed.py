"""The change log's order: seq is gap-free and never visible out of commit order."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent
from hub.services import registry
from hub.services.actors import Actor
from hub.services.feed import high_water, read_events
from tests.conftest import NOW
from tests.samples import person_listing

ACTOR = Actor("cli:test")


def _listing(n: int) -> dict[str, object]:
    return person_listing(listing_id=f"L-T-{n:06d}", case_number=f"（2024）京0105执{n}号")


@pytest.mark.postgres
def test_second_writer_waits_and_reader_never_skips(pg_context: HubContext) -> None:
    """T1 takes seq 1 and stalls; T2 (started later) tries to commit first."""
    from tests.conftest import reset_postgres

    reset_postgres(pg_context.engine)
    t1: Session = pg_context.sessions()
    t1.begin()
    registry.add_listing(t1, _listing(1), actor=ACTOR, now=NOW)  # holds seq 1, uncommitted

    t2_done = threading.Event()

    def writer2() -> None:
        with session_scope(pg_context.sessions) as t2:
            registry.add_listing(t2, _listing(2), actor=ACTOR, now=NOW)
        t2_done.set()

    thread = threading.Thread(target=writer2)
    thread.start()
    cursor = 0
    with pg_context.engine.connect() as reader:
        assert read_events(reader, cursor, 100) == []  # seq 1 not yet committed
    # T2 wrote its record but cannot take a seq, hence cannot commit, before T1 ends.
    assert not t2_done.wait(1.0)
    t1.commit()
    t1.close()
    assert t2_done.wait(10)
    thread.join()
    with pg_context.engine.connect() as reader:
        seen = [e.seq for e in read_events(reader, cursor, 100)]
        assert seen == [1, 2]
        assert high_water(reader) == 2


@pytest.mark.postgres
def test_concurrent_writers_reader_sees_every_seq_once_in_order(pg_context: HubContext) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(pg_context.engine)
    writers, per_writer = 4, 15
    rng = random.Random(7)
    delays = [[rng.uniform(0, 0.01) for _ in range(per_writer)] for _ in range(writers)]
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for i in range(per_writer):
                with session_scope(pg_context.sessions) as s:
                    registry.add_listing(s, _listing(w * 1000 + i + 1), actor=ACTOR, now=NOW)
                    time.sleep(delays[w][i])  # hold the transaction open a little
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    seen: list[int] = []
    cursor = 0
    deadline = time.monotonic() + 60
    total = writers * per_writer
    with pg_context.engine.connect() as reader:
        while len(seen) < total and time.monotonic() < deadline:
            page = read_events(reader, cursor, 3)
            reader.rollback()  # a fresh snapshot for every page, as an API request has
            for event in page:
                seen.append(event.seq)
                cursor = event.seq
    for t in threads:
        t.join()
    assert not errors
    assert seen == list(range(1, total + 1))


def test_a_page_reads_each_event_as_the_log_holds_it(hub_ctx: HubContext) -> None:
    """On PostgreSQL the page is read past SQLAlchemy: same events, ``at`` in UTC even
    when the session's TimeZone is not."""
    with session_scope(hub_ctx.sessions) as s:
        for n in range(1, 4):
            registry.add_listing(s, _listing(n), actor=ACTOR, now=NOW)
        registry.remove_listing(s, "L-T-000002", reason="performed", actor=ACTOR, now=NOW)
    with hub_ctx.sessions() as s:
        logged = list(s.scalars(select(ChangeEvent).order_by(ChangeEvent.seq)))
    with hub_ctx.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        page = read_events(conn, 1, 10)
    assert [(e.seq, e.type, e.at, e.reason, e.record_kind, e.record_key, e.state)
            for e in page] == [
        (e.seq, e.type, e.at, e.reason, e.record_kind, e.record_key, e.state)
        for e in logged[1:]]
    assert {e.at.utcoffset() for e in page} == {timedelta(0)}
    assert [e.type for e in page][-1] == "listing.removed"
