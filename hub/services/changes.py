"""One page of the change log, projected for one partner: the ``/changes`` feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, func, select

from hub.db.models import ChangeEvent
from hub.errors import Conflict
from hub.partners.base import PartnerAdapter
from hub.partners.projection import Row, withdrawn
from hub.services.feed import high_water, read_events

_e = ChangeEvent.__table__
MAX_LIMIT: Final = 1000


@dataclass(frozen=True, slots=True)
class ChangesPage:
    events: list[dict[str, Any]]
    #: Cursor for the next page: the last seq read, whether or not it concerned the partner.
    next_after: int
    high_water: int


def _states_before(conn: Connection, keys: set[tuple[str, str]],
                   after: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Each record's last state at or before ``after`` (what the partner then held)."""
    if not keys or after <= 0:
        return {}
    # Two plain IN lists, not ``(kind, key) IN ((..), ...)``: PostgreSQL plans a
    # 1000-pair row IN as a 1000-way OR (~200 ms of planning per page); two arrays
    # use the (record_kind, record_key, seq) index directly. The product of the two
    # lists can name pairs not asked for; they are dropped below.
    last = (
        select(func.max(_e.c.seq))
        .where(_e.c.seq <= after,
               _e.c.record_kind.in_(sorted({k for k, _key in keys})),
               _e.c.record_key.in_(sorted({key for _k, key in keys})))
        .group_by(_e.c.record_kind, _e.c.record_key)
    )
    stmt = select(_e.c.record_kind, _e.c.record_key, _e.c.state).where(_e.c.seq.in_(last))
    return {(k, key): state for k, key, state in conn.execute(stmt) if (k, key) in keys}


#: Events that create their record: nothing came before them to withdraw.
CREATIONS: Final = frozenset({"listing.added", "restriction.issued"})


def _held_before(raw: Sequence[Any]) -> set[tuple[str, str]]:
    """Records whose state before the page matters: those whose first event in it does
    not create them (most pages are mostly new records, and need no lookup at all)."""
    first: dict[tuple[str, str], str] = {}
    for e in raw:
        first.setdefault((e.record_kind, e.record_key), e.type)
    return {key for key, kind in first.items() if kind not in CREATIONS}


def event_rows(adapter: PartnerAdapter, kind: str, old: dict[str, Any] | None,
               new: dict[str, Any]) -> list[Row]:
    """The event's rows for the partner, plus ``withdrawn`` for rows it no longer gets;
    none when the event leaves the partner's rows as they were.

    A change outside the partner's fields then sends nothing, as in a delta batch:
    not even that it happened. An exemption granted for an illness would otherwise
    reach a partner that may not see exemptions as an event typed
    ``restriction.exempted`` with the reason ``illness``.
    """
    rows = adapter.project(kind, new)
    if old is not None:
        before = adapter.project(kind, old)
        if before == rows:
            return []
        now_keys = {r["record_key"] for r in rows}
        rows.extend(withdrawn(r) for r in before
                    if r["record_key"] not in now_keys and r["status"] == "active")
    return rows


def changes_page(conn: Connection, adapter: PartnerAdapter, after: int, limit: int) -> ChangesPage:
    """Events with ``seq > after`` (at most ``limit`` read), those concerning the partner.

    An event the partner's scope ignores, or that changes none of the partner's
    rows, is left out but still moves the cursor, so paging from 0 to
    ``high_water`` sees every event that concerns the partner exactly once, in
    order. ``high_water`` is read first: a page
    never reaches past it, so ``high_water - next_after`` is a true lag.

    :raises Conflict: ``after`` beyond the high-water mark (a cursor from another
        database, or made up).
    """
    top = high_water(conn)
    if after > top:
        # Answering next_after = after > high_water would leave a client that pages
        # "until next_after == high_water" looping for ever; its cursor is wrong.
        raise Conflict(f"after {after} is beyond the high-water mark {top}")
    raw: Sequence[Any] = read_events(conn, after, min(limit, MAX_LIMIT)) if after < top else ()
    raw = [e for e in raw if e.seq <= top]
    previous = _states_before(conn, _held_before(raw), after)
    events: list[dict[str, Any]] = []
    for e in raw:
        key = (e.record_kind, e.record_key)
        rows = event_rows(adapter, e.record_kind, previous.get(key), e.state)
        previous[key] = e.state
        if rows:
            events.append({"seq": e.seq, "type": e.type, "at": e.at, "reason": e.reason,
                           "rows": rows})
    next_after = raw[-1].seq if raw else after
    return ChangesPage(events=events, next_after=next_after, high_water=top)
