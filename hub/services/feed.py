"""The ordered change log: appending events and reading them by cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import orjson
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from hub.db.models import ChangeEvent, Counter

_events = ChangeEvent.__table__


def allocate_seq(db: Session | Connection, count: int = 1) -> int:
    """Reserve ``count`` sequence numbers; returns the last one.

    The UPDATE locks the counter row until the caller's transaction ends, so
    a second writer waits here: seq N+1 cannot be taken before N is committed
    or rolled back, hence no reader ever sees N+1 while N is still invisible,
    and a rollback gives its numbers back (no gaps).
    """
    stmt = (
        update(Counter)
        .where(Counter.name == "seq")
        .values(value=Counter.value + count)
        .returning(Counter.value)
    )
    return int(db.execute(stmt).scalar_one())


def append_event(
    session: Session,
    *,
    type: str,
    record_kind: str,
    record_key: str,
    state: dict[str, Any],
    actor: str,
    at: datetime,
    reason: str | None = None,
    changed: list[str] | None = None,
) -> ChangeEvent:
    """Append one event in the caller's transaction."""
    event = ChangeEvent(
        seq=allocate_seq(session),
        type=type,
        record_kind=record_kind,
        record_key=record_key,
        state=state,
        reason=reason,
        changed_fields=changed,
        at=at,
        actor=actor,
    )
    session.add(event)
    session.flush()
    return event


def high_water(db: Session | Connection) -> int:
    """The highest committed seq (0 when the log is empty)."""
    value = db.execute(select(Counter.value).where(Counter.name == "seq")).scalar_one()
    return int(value)


class FeedEvent(NamedTuple):
    """What a reader of the feed needs of an event: not who made it nor which fields
    changed (``changed_fields`` is a json column, decoded for nothing on every event)."""

    seq: int
    type: str
    at: datetime
    reason: str | None
    record_kind: str
    record_key: str
    state: dict[str, Any]


FEED_COLUMNS: Final = FeedEvent._fields

#: PostgreSQL's page of the feed, read past SQLAlchemy's result processing (two type
#: decorators a row: about as long as the query itself for a page of 1000 events).
#: ``at`` comes back in UTC whatever the server's TimeZone.
_PG_PAGE: Final = ("SELECT seq, type, at AT TIME ZONE 'UTC', reason, record_kind, record_key,"
                   " state FROM change_events WHERE seq > %s ORDER BY seq LIMIT %s")


def read_events(db: Session | Connection, after: int, limit: int) -> list[FeedEvent]:
    """Events with ``seq > after`` in order, at most ``limit`` of them."""
    conn = db.connection() if isinstance(db, Session) else db
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        loads = orjson.loads
        with raw.cursor() as cur:
            cur.execute(_PG_PAGE, (after, limit))
            return [FeedEvent(seq, type_, at.replace(tzinfo=UTC), reason, kind, key,
                              loads(state))
                    for seq, type_, at, reason, kind, key, state in cur]
    stmt = (select(*(_events.c[name] for name in FEED_COLUMNS)).where(_events.c.seq > after)
            .order_by(_events.c.seq).limit(limit))
    return [FeedEvent(*row) for row in conn.execute(stmt)]
