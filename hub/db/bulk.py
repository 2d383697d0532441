"""Bulk row writing for imports: COPY on PostgreSQL, executemany elsewhere.

Rows arrive as plain tuples in a fixed column order; JSON columns are encoded
with orjson here, once, so both backends store the same text.

Change events are spooled to a local temporary file while the import runs and
numbered only at the end, when the log's counter row is locked: the lock is
then held for one fast COPY rather than for the whole import, and a rolled
back import leaves no trace in the log.
"""

from __future__ import annotations

import tempfile
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
    """Escape for COPY's text format; orjson output has no raw tab or newline."""
    return value.replace("\\", "\\\\")


class BulkWriter:
    """Writes many rows inside the caller's open transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        self._spool: IO[bytes] | None = None
        self.staged = 0

    def _encode(
        self, rows: Iterable[Sequence[Any]], json_positions: Sequence[int]
    ) -> Iterator[list[Any]]:
        dumps = orjson.dumps
        for row in rows:
            out = list(row)
            for i in json_positions:
                if out[i] is not None:
                    out[i] = dumps(out[i]).decode()
            if not self._postgres:
                # sqlite3's default date adapters are deprecated; store ISO text,
                # which is what SQLAlchemy's SQLite Date type reads back.
                out = [v.isoformat() if isinstance(v, date | datetime) else v for v in out]
            yield out

    def write(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        json_columns: Iterable[str] = (),
    ) -> None:
        json_set = set(json_columns)
        positions = [i for i, c in enumerate(columns) if c in json_set]
        self._write_encoded(table, columns, self._encode(rows, positions))

    def _write_encoded(self, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
        raw: Any = self._conn.connection.driver_connection
        if self._postgres:
            with raw.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        cur = raw.cursor()
        try:
            cur.executemany(sql, rows)
        finally:
            cur.close()

    # -- events ------------------------------------------------------------------

    def stage_events(self, events: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Spool ``(type, record_kind, record_key, state)`` in commit order."""
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="hub-events-")  # noqa: SIM115
        write = self._spool.write
        dumps = orjson.dumps
        for type_, kind, key, state in events:
            # Tab-separated: the fields before the state never hold tabs or newlines
            # (codes and validated record ids), and the state is escaped for COPY.
            line = f"{type_}\t{kind}\t{key}\t{_copy_text(dumps(state).decode())}\n"
            write(line.encode())
            self.staged += 1

    def _spooled(self, spool: IO[bytes]) -> Iterator[list[str]]:
        spool.seek(0)
        for line in spool:
            yield line.decode().rstrip("\n").split("\t")

    def publish_events(self, *, first_seq: int, at: datetime, actor: str) -> None:
        """Write the spooled events into the log as ``first_seq``, ``first_seq + 1`` ..."""
        if self._spool is None:
            return
        table = ChangeEvent.__tablename__
        if self._postgres:
            suffix = f"\t{at.isoformat()}\t{_copy_text(actor)}\n".encode()
            raw: Any = self._conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(_EVENT_COLUMNS)}) FROM STDIN"
            ) as copy:
                self._spool.seek(0)
                block = bytearray()
                for seq, line in enumerate(self._spool, start=first_seq):
                    block += b"%d\t%s%s" % (seq, line[:-1], suffix)
                    if len(block) > _BLOCK:
                        copy.write(block)
                        block.clear()
                copy.write(block)
        else:
            # The text SQLAlchemy's SQLite DATETIME type writes and reads back.
            stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            spooled = enumerate(self._spooled(self._spool), start=first_seq)
            rows = (
                [seq, t, k, key, state.replace("\\\\", "\\"), stamp, actor]
                for seq, (t, k, key, state) in spooled
            )
            self._write_encoded(table, _EVENT_COLUMNS, rows)
        self.discard()

    def discard(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
            self.staged = 0
