"""Full snapshots and net-effect deltas of the change log, seen through a partner adapter.

Both read only the change log, so a snapshot as of seq S and the deltas
after it can never drift apart: applying the deltas in order to a snapshot
gives the next snapshot (tests/services/test_snapshots.py holds that).

:func:`write_full_snapshot` is the one entry point that streams a partner's
full snapshot to a binary stream (``hub export --full`` and the partner API).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import Connection, Engine, func, select

from hub.db.engine import is_postgres
from hub.db.models import ChangeEvent
from hub.exporters import BatchHeader
from hub.partners.base import PartnerAdapter
from hub.partners.projection import Row, withdrawn
from hub.services import fast_snapshot
from hub.services.feed import high_water

_e = ChangeEvent.__table__
#: Keys per lookup of earlier states.
_LOOKUP = 1000


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def states_as_of(conn: Connection, seq: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every record's last state with ``seq <= seq``, in (kind, key) order, streamed."""
    last = (
        select(func.max(_e.c.seq))
        .where(_e.c.seq <= seq)
        .group_by(_e.c.record_kind, _e.c.record_key)
    )
    stmt = (
        select(ChangeEvent.record_kind, ChangeEvent.record_key, ChangeEvent.state)
        .where(ChangeEvent.seq.in_(last))
        .order_by(ChangeEvent.record_kind, ChangeEvent.record_key)
        .execution_options(yield_per=5000)
    )
    return _states(conn, stmt)


def _states(conn: Connection, stmt: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, key, state) rows of ``stmt``, streamed; the cursor closed however it ends."""
    result = conn.execute(stmt)
    try:
        for kind, key, state in result:  # noqa: UP028 - unpacked so the row types are checked
            yield kind, key, state
    finally:
        result.close()


def full_rows(conn: Connection, adapter: PartnerAdapter, as_of: int) -> Iterator[Row]:
    """What the partner should hold as of ``as_of``: its active rows."""
    for kind, _key, state in states_as_of(conn, as_of):
        for row in adapter.project(kind, state):
            if row["status"] == "active":
                yield row


def _changed(conn: Connection, from_seq: int,
             to_seq: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each record changed in ``(from_seq, to_seq]`` with its last state there, in seq
    order, streamed: a week of changes (a weekly full batch's gate) is ~700k states."""
    last = (
        select(func.max(_e.c.seq))
        .where(_e.c.seq > from_seq, _e.c.seq <= to_seq)
        .group_by(_e.c.record_kind, _e.c.record_key)
    )
    stmt = (
        select(ChangeEvent.record_kind, ChangeEvent.record_key, ChangeEvent.state)
        .where(ChangeEvent.seq.in_(last))
        .order_by(ChangeEvent.seq)
        .execution_options(yield_per=_LOOKUP)
    )
    return _states(conn, stmt)


def _earlier(conn: Connection, kind: str, keys: list[str], seq: int) -> dict[str, dict[str, Any]]:
    last = (
        select(func.max(_e.c.seq))
        .where(_e.c.seq <= seq, _e.c.record_kind == kind, _e.c.record_key.in_(keys))
        .group_by(_e.c.record_key)
    )
    stmt = select(ChangeEvent.record_key, ChangeEvent.state).where(ChangeEvent.seq.in_(last))
    return {key: state for key, state in conn.execute(stmt)}  # noqa: C416 - rows to pairs


class DeltaRow(NamedTuple):
    """A row of a delta with what the partner held of it as of the delta's start."""

    row: Row
    #: Whether the partner held the row active (a correction or an exit of it, not a
    #: new row nor an exit of a row it never got).
    held: bool


def delta_changes(
    conn: Connection, adapter: PartnerAdapter, from_seq: int, to_seq: int
) -> Iterator[DeltaRow]:
    """Net effect of ``(from_seq, to_seq]`` for the partner, one row per changed row.

    A row is sent when its projection differs from what the partner got as
    of ``from_seq`` (an add then a removal inside the range is sent as the
    removal); a row the partner held that the record no longer projects to is
    sent as ``withdrawn``; a change outside the partner's fields sends nothing,
    nor does a row that was an exit already and is still one (a released
    person whose order is lifted later: the partner deleted that row once),
    unless it is now revoked: "never valid" is news after "no longer valid"
    (DOMAIN.md §1), as a removal revoked later.
    """
    changed = _changed(conn, from_seq, to_seq)
    for chunk in _batched(changed, _LOOKUP):
        before: dict[tuple[str, str], dict[str, Any]] = {}
        for kind in ("listing", "restriction"):
            keys = [key for k, key, _s in chunk if k == kind]
            if keys:
                before.update(((kind, key), s) for key, s in
                              _earlier(conn, kind, keys, from_seq).items())
        for kind, key, state in chunk:
            yield from record_delta(adapter, kind, before.get((kind, key)), state)


def record_delta(adapter: PartnerAdapter, kind: str, old_state: dict[str, Any] | None,
                 state: dict[str, Any]) -> Iterator[DeltaRow]:
    """One record's rows in a delta from ``old_state`` (None: the partner never had
    it) to ``state``, by :func:`delta_changes`'s rule."""
    old = {r["record_key"]: r for r in adapter.project(kind, old_state)} if old_state else {}
    for row in adapter.project(kind, state):
        prior = old.pop(row["record_key"], None)
        if prior == row:
            continue
        held = prior is not None and prior["status"] == "active"
        if (prior is not None and not held and row["status"] != "active"
                and (row["status"] != "revoked" or prior["status"] == "revoked")):
            continue  # an exit still, and no news: the partner deleted it once
        yield DeltaRow(row, held)
    for gone in old.values():
        if gone["status"] == "active":
            yield DeltaRow(withdrawn(gone), True)


def delta_rows(
    conn: Connection, adapter: PartnerAdapter, from_seq: int, to_seq: int
) -> Iterator[Row]:
    """The rows of :func:`delta_changes`: what the partner's delta file holds."""
    return (change.row for change in delta_changes(conn, adapter, from_seq, to_seq))


def apply_delta(snapshot: dict[str, Row], rows: Iterable[Row]) -> None:
    """What a partner does with a delta: keep active rows, delete every other."""
    for row in rows:
        if row["status"] == "active":
            snapshot[row["record_key"]] = row
        else:
            snapshot.pop(row["record_key"], None)


class HashingWriter:
    """Counts and hashes the bytes on their way to a stream (exporters write ~1 MB blocks)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What :func:`write_full_snapshot` wrote: its seq, row count, size and digest."""

    #: The change-log position the snapshot is as of (the high-water mark when read).
    seq: int
    #: Rows written; every row of a full snapshot is active.
    records: int
    bytes: int
    #: Hex SHA-256 of the bytes written.
    sha256: str


def write_full_snapshot(
    engine: Engine,
    adapter: PartnerAdapter,
    out: BinaryIO,
    header_factory: Callable[[int], BatchHeader],
) -> SnapshotResult:
    """Stream the partner's full current list to ``out`` in its format.

    The high-water seq and the rows are read in one transaction (REPEATABLE
    READ on PostgreSQL), so the seq handed to ``header_factory`` and to the
    caller is exactly the state written. ``header_factory(seq)`` builds the
    batch header once the seq is known.
    """
    exporter = adapter.exporter()
    writer = HashingWriter(out)
    conn = engine.connect()
    if is_postgres(engine):
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    with conn, conn.begin():
        seq = high_water(conn)
        header = header_factory(seq)
        if is_postgres(engine) and fast_snapshot.supports(adapter):
            # The tables as of this transaction are the log as of ``seq``: every
            # writer changes a record and appends its event in one transaction.
            records = fast_snapshot.write_lines(engine, conn, adapter, writer,  # type: ignore[arg-type]
                                                 header)
        else:
            records = exporter.write(full_rows(conn, adapter, seq), writer,  # type: ignore[arg-type]
                                     header)
    return SnapshotResult(seq, records, writer.bytes, writer.sha256.hexdigest())
