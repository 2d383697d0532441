"""The ordered change log: appending events and reading them by cursor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

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


#: What a reader of the feed needs of an event: not who made it nor which fields
#: changed (``changed_fields`` is a json column, decoded for nothing on every event).
FEED_COLUMNS: Final = ("seq", "type", "at", "reason", "record_kind", "record_key", "state")


def read_events(db: Session | Connection, after: int, limit: int) -> Sequence[Any]:
    """Events with ``seq > after`` in order, at most ``limit`` of them (FEED_COLUMNS)."""
    stmt = (select(*(_events.c[name] for name in FEED_COLUMNS)).where(_events.c.seq > after)
            .order_by(_events.c.seq).limit(limit))
    return db.execute(stmt).all()
