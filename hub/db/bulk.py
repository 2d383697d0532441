"""Bulk row writing for imports: COPY on PostgreSQL, executemany elsewhere.

Rows arrive as plain tuples in a fixed column order; JSON columns are encoded
with orjson here, once, so both backends store the same text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, text

from hub.db.models import ChangeEvent, UtcDateTime

#: Columns of the event staging table, in the order rows are written.
STAGED_EVENT_COLUMNS = ("ordinal", "type", "record_kind", "record_key", "state")


class BulkWriter:
    """Writes many rows inside the caller's open transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        self._staged = False

    def _encode(self, rows: Iterable[Sequence[Any]], json_positions: Sequence[int]) -> Iterable[
        list[Any]
    ]:
        dumps = orjson.dumps
        to_text = self._postgres
        for row in rows:
            out = list(row)
            for i in json_positions:
                if out[i] is not None:
                    out[i] = dumps(out[i]).decode()
            if not to_text:
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
        encoded = self._encode(rows, positions)
        raw = self._conn.connection.driver_connection
        if self._postgres:
            cols = ", ".join(columns)
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
                for row in encoded:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - fixed names
            cur = raw.cursor()  # type: ignore[union-attr]
            try:
                cur.executemany(sql, encoded)
            finally:
                cur.close()

    # -- events: staged with a local ordinal, numbered when the log is locked --

    def stage_events(self, rows: Iterable[Sequence[Any]]) -> None:
        """Keep events aside until the import is known to commit."""
        if not self._staged:
            temp = "CREATE TEMP TABLE import_events (ordinal BIGINT PRIMARY KEY, type VARCHAR(40),"
            temp += " record_kind VARCHAR(16), record_key VARCHAR(64), state TEXT)"
            if self._postgres:
                temp += " ON COMMIT DROP"
            self._conn.execute(text(temp))
            self._staged = True
        self.write("import_events", STAGED_EVENT_COLUMNS, rows, json_columns=("state",))

    def publish_events(self, *, base: int, at: datetime, actor: str) -> None:
        """Copy staged events into the log as seq ``base + ordinal``."""
        if not self._staged:
            return
        table = ChangeEvent.__tablename__
        state = "CAST(state AS JSON)" if self._postgres else "state"
        self._conn.execute(
            text(
                f"INSERT INTO {table} (seq, type, record_kind, record_key, state, at, actor) "  # noqa: S608
                f"SELECT :base + ordinal, type, record_kind, record_key, {state}, :at, :actor "
                "FROM import_events ORDER BY ordinal"
            ).bindparams(bindparam("at", type_=UtcDateTime())),
            {"base": base, "at": at, "actor": actor},
        )
        self.discard()

    def discard(self) -> None:
        if self._staged:
            self._conn.execute(text("DROP TABLE import_events"))
            self._staged = False
