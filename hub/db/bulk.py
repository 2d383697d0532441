"""Bulk row writing for imports: COPY on PostgreSQL, executemany elsewhere.

Rows arrive already encoded by the import's preparation step: COPY text lines
(bytes) for PostgreSQL, tuples of plain values for SQLite.

On PostgreSQL the main table's rows go through one COPY that a background
thread feeds, so the server indexes chunk N while chunk N+1 is prepared.
Secondary rows (bound persons) and change events are spooled to local
temporary files: events are numbered only at the end, when the log's counter
row is locked, so that lock is held for one fast COPY rather than for the
whole import, and a rolled-back import leaves no trace in the log.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import psycopg
from sqlalchemy import Connection

from hub.db.copytext import copy_text
from hub.db.models import ChangeEvent
from hub.errors import Conflict

#: Bytes handed to COPY at once; one write per line would wait on the socket each time.
_BLOCK = 1 << 20
_EVENT_COLUMNS = ("seq", "type", "record_kind", "record_key", "state", "at", "actor")


def _taken(exc: BaseException) -> Conflict | None:
    """A row whose key another writer committed while this one ran, as a Conflict
    naming the key; ``None`` for any other failure."""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return Conflict(exc.diag.message_detail or str(exc))
    if isinstance(exc, sqlite3.IntegrityError) and exc.sqlite_errorname in (
            "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"):
        return Conflict(str(exc))
    return None


@contextlib.contextmanager
def _keys_checked() -> Iterator[None]:
    """:raises Conflict: a key was taken meanwhile (the import's lookups ran before)."""
    try:
        yield
    except Exception as exc:
        if (conflict := _taken(exc)) is not None:
            raise conflict from exc
        raise


class _CopyFeeder:
    """One COPY ... FROM STDIN fed with blocks of lines by a background thread."""

    def __init__(self, raw: Any, sql: str) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._raw = raw
        self._sql = sql
        self._thread = threading.Thread(target=self._run, name="hub-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        ended = False  # the producer's None was taken: nothing more will be put
        try:
            with self._raw.cursor() as cur, cur.copy(self._sql) as copy:
                while (block := self._queue.get()) is not None:
                    copy.write(block)
                ended = True
            # The server reports a bad line when the COPY ends, after the None: waiting
            # for another one here would hang the import for ever.
        except BaseException as exc:  # re-raised in the caller's thread by close()
            self._error = exc
            while not ended and self._queue.get() is not None:  # unblock a waiting put()
                pass

    def send(self, block: bytes) -> None:
        if self._error is not None:
            self.close()
        self._queue.put(block)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            with _keys_checked():
                raise self._error


class BulkWriter:
    """Writes many rows inside the caller's open transaction.

    While the main stream is open the connection belongs to it: run lookups
    on another connection, and call :meth:`finish` before using this one again.
    """

    def __init__(self, conn: Connection) -> None:
        self._postgres = conn.dialect.name == "postgresql"
        self._raw: Any = conn.connection.driver_connection
        self._feeder: _CopyFeeder | None = None
        self._feeder_sql: str | None = None
        self._deferred: dict[str, IO[bytes]] = {}
        self._events: IO[bytes] | None = None
        self.staged = 0

    @property
    def copy(self) -> bool:
        """Whether rows must be prepared as COPY text lines."""
        return self._postgres

    def _insert_many(self, table: str, columns: Sequence[str], rows: Any) -> None:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        cur = self._raw.cursor()
        try:
            with _keys_checked():
                cur.executemany(sql, rows)
        finally:
            cur.close()

    def _copy_sql(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> str | None:
        """The COPY statement for these rows, or None when they are already written."""
        if rows and not self._postgres:
            self._insert_many(table, columns, rows)
        if not rows or not self._postgres:
            return None
        return f"COPY {table} ({', '.join(columns)}) FROM STDIN"

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        """Rows of the import's main table; one such table per writer."""
        sql = self._copy_sql(table, columns, rows)
        if sql is None:
            return
        if self._feeder is None:
            self._feeder, self._feeder_sql = _CopyFeeder(self._raw, sql), sql
        elif self._feeder_sql != sql:
            raise ValueError(f"already streaming {self._feeder_sql!r}")
        self._feeder.send(b"".join(rows))

    def defer(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        """Rows of a secondary table, written by :meth:`finish`."""
        sql = self._copy_sql(table, columns, rows)
        if sql is None:
            return
        spool = self._deferred.get(sql)
        if spool is None:
            spool = self._deferred[sql] = tempfile.TemporaryFile(prefix="hub-rows-")  # noqa: SIM115
        spool.write(b"".join(rows))

    def finish(self) -> None:
        """Wait for the main stream, then write the deferred rows.

        :raises Conflict: a row's key was committed by another writer meanwhile.
        """
        if self._feeder is not None:
            feeder, self._feeder = self._feeder, None
            feeder.close()
        for sql, spool in self._deferred.items():
            spool.seek(0)
            with _keys_checked(), self._raw.cursor() as cur, cur.copy(sql) as copy:
                while block := spool.read(_BLOCK):
                    copy.write(block)
            spool.close()
        self._deferred.clear()

    # -- events ------------------------------------------------------------------

    def stage_events(self, lines: Sequence[bytes]) -> None:
        """Spool event lines (``type, kind, key, state`` without seq) in commit order."""
        if self._events is None:
            self._events = tempfile.TemporaryFile(prefix="hub-events-")  # noqa: SIM115
        self._events.write(b"".join(lines))
        self.staged += len(lines)

    def publish_events(self, *, first_seq: int, at: datetime, actor: str) -> None:
        """Write the spooled events into the log as ``first_seq``, ``first_seq + 1`` ..."""
        spool = self._events
        if spool is None:
            return
        table = ChangeEvent.__tablename__
        spool.seek(0)
        if self._postgres:
            suffix = f"\t{at.isoformat()}\t{copy_text(actor)}\n".encode()
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
            self._insert_many(table, _EVENT_COLUMNS, _event_rows(spool, first_seq, stamp, actor))
        self.discard()

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


def _event_rows(spool: IO[bytes], first_seq: int, stamp: str, actor: str) -> Iterator[list[Any]]:
    for seq, line in enumerate(spool, start=first_seq):
        type_, kind, key, state = line.decode().rstrip("\n").split("\t")
        # Undo the COPY escaping: the spool keeps one format for both backends.
        yield [seq, type_, kind, key, state.replace("\\\\", "\\"), stamp, actor]
