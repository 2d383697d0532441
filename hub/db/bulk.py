"""Bulk row writing for imports: COPY on PostgreSQL, executemany elsewhere.

Rows arrive as plain tuples in a fixed column order; JSON columns are encoded
with orjson here, once, so both backends store the same text.

On PostgreSQL the main table's rows go through one COPY that a background
thread feeds, so the server indexes chunk N while Python validates chunk N+1
(the two cores of a small machine both work). Secondary rows (bound persons)
and change events are spooled to local temporary files: events are numbered
only at the end, when the log's counter row is locked, so that lock is held
for one fast COPY rather than for the whole import, and a rolled-back import
leaves no trace in the log.
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import IO, Any

import orjson
from sqlalchemy import Connection

from hub.db.models import ChangeEvent

#: Bytes handed to COPY at once; one write per line would wait on the socket each time.
_BLOCK = 1 << 20
_EVENT_COLUMNS = ("seq", "type", "record_kind", "record_key", "state", "at", "actor")


def _copy_text(value: str) -> str:
    """Escape a string for COPY's text format."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _copy_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _CopyFeeder:
    """One COPY ... FROM STDIN fed from a queue by a background thread."""

    def __init__(self, raw: Any, sql: str) -> None:
        self._queue: queue.Queue[list[Sequence[Any]] | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._raw = raw
        self._sql = sql
        self._thread = threading.Thread(target=self._run, name="hub-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._raw.cursor() as cur, cur.copy(self._sql) as copy:
                while (rows := self._queue.get()) is not None:
                    for row in rows:
                        copy.write_row(row)
        except BaseException as exc:  # re-raised in the caller's thread by close()
            self._error = exc
            while self._queue.get() is not None:  # unblock a producer waiting on put()
                pass

    def send(self, rows: list[Sequence[Any]]) -> None:
        if self._error is not None:
            self.close()
        self._queue.put(rows)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


class BulkWriter:
    """Writes many rows inside the caller's open transaction.

    While a stream is open the connection belongs to it: run lookups on
    another connection, and call :meth:`finish` before using this one again.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        self._raw: Any = conn.connection.driver_connection
        self._feeder: _CopyFeeder | None = None
        self._feeder_table: str | None = None
        self._deferred: dict[tuple[str, tuple[str, ...]], IO[bytes]] = {}
        self._events: IO[bytes] | None = None
        self.staged = 0

    def _encode(self, rows: Iterable[Sequence[Any]], json_positions: Sequence[int]) -> list[
        Sequence[Any]
    ]:
        if not json_positions and self._postgres:
            return list(rows)
        dumps = orjson.dumps
        out_rows: list[Sequence[Any]] = []
        for row in rows:
            out = list(row)
            for i in json_positions:
                if out[i] is not None:
                    out[i] = dumps(out[i]).decode()
            if not self._postgres:
                # sqlite3's default date adapters are deprecated; store ISO text,
                # which is what SQLAlchemy's SQLite Date type reads back.
                out = [v.isoformat() if isinstance(v, date) else v for v in out]
            out_rows.append(out)
        return out_rows

    def _insert_many(self, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        cur = self._raw.cursor()
        try:
            cur.executemany(sql, rows)
        finally:
            cur.close()

    def stream(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        json_columns: Iterable[str] = (),
    ) -> None:
        """Write rows of the import's main table (one table per writer)."""
        json_set = set(json_columns)
        encoded = self._encode(rows, [i for i, c in enumerate(columns) if c in json_set])
        if not self._postgres:
            self._insert_many(table, columns, encoded)
            return
        if self._feeder is None:
            self._feeder = _CopyFeeder(self._raw, f"COPY {table} ({', '.join(columns)}) FROM STDIN")
            self._feeder_table = table
        elif self._feeder_table != table:
            raise ValueError(f"already streaming into {self._feeder_table}, not {table}")
        self._feeder.send(encoded)

    def defer(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Rows of a secondary table (scalars only), written by :meth:`finish`."""
        if not self._postgres:
            self._insert_many(table, columns, self._encode(rows, ()))
            return
        key = (table, tuple(columns))
        spool = self._deferred.get(key)
        if spool is None:
            spool = self._deferred[key] = tempfile.TemporaryFile(prefix="hub-rows-")  # noqa: SIM115
        spool.write(
            "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows).encode()
        )

    def finish(self) -> None:
        """Wait for the stream, then write the deferred rows."""
        if self._feeder is not None:
            feeder, self._feeder = self._feeder, None
            feeder.close()
        for (table, columns), spool in self._deferred.items():
            self._copy_file(f"COPY {table} ({', '.join(columns)}) FROM STDIN", spool)
            spool.close()
        self._deferred.clear()

    def _copy_file(self, sql: str, spool: IO[bytes]) -> None:
        spool.seek(0)
        with self._raw.cursor() as cur, cur.copy(sql) as copy:
            while block := spool.read(_BLOCK):
                copy.write(block)

    # -- events ------------------------------------------------------------------

    def stage_events(self, events: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Spool ``(type, record_kind, record_key, state)`` in commit order."""
        if self._events is None:
            self._events = tempfile.TemporaryFile(prefix="hub-events-")  # noqa: SIM115
        dumps = orjson.dumps
        lines = []
        for type_, kind, key, state in events:
            # The fields before the state are codes and validated record ids
            # (no tab, no newline); orjson's output has none either.
            state_text = dumps(state).decode()
            if "\\" in state_text:
                state_text = state_text.replace("\\", "\\\\")
            lines.append(f"{type_}\t{kind}\t{key}\t{state_text}\n")
        self._events.write("".join(lines).encode())
        self.staged += len(lines)

    def publish_events(self, *, first_seq: int, at: datetime, actor: str) -> None:
        """Write the spooled events into the log as ``first_seq``, ``first_seq + 1`` ..."""
        spool = self._events
        if spool is None:
            return
        table = ChangeEvent.__tablename__
        spool.seek(0)
        if self._postgres:
            suffix = f"\t{at.isoformat()}\t{_copy_text(actor)}\n".encode()
            with self._raw.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(_EVENT_COLUMNS)}) FROM STDIN"
            ) as copy:
                block = bytearray()
                for seq, line in enumerate(spool, start=first_seq):
                    block += b"%d\t%s%s" % (seq, line[:-1], suffix)
                    if len(block) > _BLOCK:
                        copy.write(block)
                        block.clear()
                copy.write(block)
        else:
            # The text SQLAlchemy's SQLite DATETIME type writes and reads back.
            stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            self._insert_many(table, _EVENT_COLUMNS, self._event_rows(spool, first_seq, stamp,
                                                                      actor))
        self.discard()

    @staticmethod
    def _event_rows(spool: IO[bytes], first_seq: int, stamp: str, actor: str) -> Iterator[
        list[Any]
    ]:
        for seq, line in enumerate(spool, start=first_seq):
            type_, kind, key, state = line.decode().rstrip("\n").split("\t")
            yield [seq, type_, kind, key, state.replace("\\\\", "\\"), stamp, actor]

    def discard(self) -> None:
        if self._feeder is not None:
            feeder, self._feeder = self._feeder, None
            # Discarding happens while another error unwinds the import; the
            # feeder's own failure would only hide that one, and the transaction
            # is rolled back either way.
            with contextlib.suppress(Exception):
                feeder.close()
        for spool in self._deferred.values():
            spool.close()
        self._deferred.clear()
        if self._events is not None:
            self._events.close()
            self._events = None
            self.staged = 0
