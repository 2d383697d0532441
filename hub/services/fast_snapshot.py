"""The fast path of full snapshots: PostgreSQL writes the partner's lines from the tables.

Used only where it is proven byte for byte equal to the reference path (the
log, projected and exported in Python; tests/services/test_fast_export.py):
on PostgreSQL, for JSON Lines, CSV and XML partners whose adapter changes the
projection only through declarative hooks (CSV and XML: without code labels).
Everything else takes the reference path.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable
from itertools import pairwise
from typing import Any, BinaryIO, Final

from sqlalchemy import Connection, Engine

from hub.db.export_sql import (
    ALL_KEYS,
    COMPACT_JSON_FUNCTION,
    CSV_CELL_FUNCTION,
    XML_TEXT_FUNCTION,
    CsvFormat,
    Format,
    JsonlFormat,
    KeyRange,
    Scope,
    XmlFormat,
    keys_fit,
    listing_query,
    literal,
    restriction_query,
)
from hub.exporters import BatchHeader, CsvExporter, Exporter, JsonlExporter, XmlExporter
from hub.exporters.blocks import BLOCK_BYTES
from hub.exporters.csv import quote
from hub.partners.base import PartnerAdapter

# COPY BINARY of a text (or bytea) column and a count: raw bytes, no escaping to undo.
_SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
_HEADER_BYTES: Final = len(_SIGNATURE) + 8  # flags and header-extension length
_TRAILER: Final = b"\xff\xff"
_ROW_PREFIX: Final = 2  # field count (int16)
#: Lines gathered into one row of a COPY.
_CHUNK_LINES: Final = 1000


def _format(adapter: PartnerAdapter, exporter: Exporter) -> Format | None:
    if type(adapter).project is not PartnerAdapter.project:
        return None  # a projection in code has no SQL twin
    if isinstance(exporter, JsonlExporter):
        return JsonlFormat() if keys_fit(exporter.keys) else None
    if isinstance(exporter, CsvExporter) and not adapter.code_labels:
        return CsvFormat()
    if isinstance(exporter, XmlExporter) and not adapter.code_labels:
        return XmlFormat(exporter.dialect)
    return None


def supports(adapter: PartnerAdapter) -> bool:
    """Whether the adapter's full snapshot may be written by PostgreSQL."""
    return _format(adapter, adapter.exporter()) is not None


def _queries(raw: Any, adapter: PartnerAdapter, exporter: Exporter,
             encoding: str | None) -> list[str]:
    """The adapter's SELECTs, a key range of a record kind each, in output order;
    ``encoding``: convert each line to it (None: send the text as it is, the server's
    encoding being the client's and the file's)."""
    fmt = _format(adapter, exporter)
    assert fmt is not None  # noqa: S101 - supports() was asked first
    keys = exporter.keys if isinstance(exporter, JsonlExporter) else ()
    fields = (exporter.fields if isinstance(exporter, JsonlExporter | CsvExporter | XmlExporter)
              else ())
    config = adapter.config.scope
    scope = Scope(fields, keys or fields, config.subjects, adapter.code_labels,
                  adapter.restriction_categories)
    # Measured on 1M records: an XML query over a key range costs about twice as
    # much a row as one over the whole kind (JSON Lines and CSV: the same), so XML
    # runs one query per kind (listings and orders at once) and gives up the balance.
    chunks = 1 if isinstance(fmt, XmlFormat) else _CHUNKS
    queries = []
    if "listing" in config.records:
        queries += [listing_query(fmt, scope, r)
                    for r in _ranges(raw, "listings", "listing_id", chunks)]
    if "restriction" in config.records:
        queries += [restriction_query(fmt, scope, r)
                    for r in _ranges(raw, "restrictions", "order_id", chunks)]
    # A thousand lines a row, each ended, with their count: the client then handles
    # a message per thousand lines, not per line (measured on railway's 1M-record
    # export: 2.7 s of the client's CPU less, the server's the same). Text goes
    # out as it is; bytea in the partner's encoding (COPY BINARY sends it as it is,
    # no escaping either way).
    end = fmt.terminator.decode()
    if encoding is None:
        line, sep = "x.line", literal(end)
    else:
        line, sep = f"convert_to(x.line, {literal(encoding)})", f"'\\x{end.encode().hex()}'::bytea"
    group = f"(x.n - 1) / {_CHUNK_LINES}"
    return [f"SELECT string_agg({line}, {sep} ORDER BY x.n) || {sep}, count(*) "
            f"FROM ({q}) AS x(n, line) GROUP BY {group} ORDER BY {group}" for q in queries]


def _rows(copy: Any, pgconn: Any) -> Iterable[memoryview]:
    """The rows of a COPY BINARY stream, each without the format's framing (the
    header, the trailer and the row's field count).

    psycopg hands over one message per call, waiting for the socket as needed; the
    messages libpq already holds are taken straight from it (``get_copy_data`` without
    waiting: a third of the client's time a row) until none is left or the trailer
    came, which the next ``read`` then follows to the end of the COPY."""
    read, get = copy.read, pgconn.get_copy_data
    first = True
    while data := read():
        data = memoryview(data)
        if first:
            if bytes(data[:len(_SIGNATURE)]) != _SIGNATURE:
                raise RuntimeError("COPY BINARY stream without its signature")
            data, first = data[_HEADER_BYTES:], False
            if not data:
                continue
        if len(data) == 2 and bytes(data) == _TRAILER:
            continue  # the end; reading on lets psycopg finish the COPY
        yield data[_ROW_PREFIX:]
        while True:
            n, buf = get(1)
            if n == 0:
                break  # nothing buffered: psycopg waits for more
            if n < 0:
                # The end comes after the trailer, which stops this loop first.
                raise RuntimeError(f"COPY BINARY stream ended unexpectedly ({n})")
            if n == 2 and bytes(buf) == _TRAILER:
                break
            yield memoryview(buf)[_ROW_PREFIX:]


def _prepare(raw: Any) -> None:
    """The functions in this session's pg_temp; a big sort stays in memory; no JIT."""
    with raw.cursor() as cur:
        cur.execute(COMPACT_JSON_FUNCTION)
        cur.execute(CSV_CELL_FUNCTION)
        cur.execute(XML_TEXT_FUNCTION)
        cur.execute("SET LOCAL work_mem = '256MB'")
        # Measured on 1M records (server CPU, best of 5): compiling these wide
        # expressions costs more than it saves: 8-15 % more for a CSV or an XML query
        # with JIT on (the server's default), the same or more for JSON Lines.
        cur.execute("SET LOCAL jit = off")


def _copy_to(raw: Any, query: str, out: BinaryIO) -> int:
    """One COPY's lines (rows of ended lines and their count) to ``out``; the number of
    lines."""
    count = 0
    with raw.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
        for row in _rows(copy, raw.pgconn):
            size = int.from_bytes(row[:4])
            out.write(row[4:4 + size])
            count += int.from_bytes(row[8 + size:16 + size])  # after its length, 8
    return count


class _Tasks:
    """The COPYs of one snapshot in output order, shared by two connections: the first
    takes them from the front (writing them straight out), the second from the back
    (spooling them), until they meet; neither waits for the other while work is left."""

    def __init__(self, queries: list[str]) -> None:
        self.queries = queries
        self._lock = threading.Lock()
        self._front, self._back = 0, len(queries) - 1

    def take(self, front: bool) -> int | None:
        with self._lock:
            if self._front > self._back:
                return None
            if front:
                self._front += 1
                return self._front - 1
            self._back -= 1
            return self._back + 1


def _spool(engine: Engine, snapshot: str, tasks: _Tasks,
           spools: list[tuple[int, BinaryIO, int]], errors: list[BaseException]) -> None:
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
                conn.begin():
            # The second connection sees exactly the first one's snapshot.
            conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT {literal(snapshot)}")
            raw = conn.connection.driver_connection
            _prepare(raw)
            while (i := tasks.take(front=False)) is not None:
                spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
                spools.append((i, spool, 0))
                spools[-1] = (i, spool, _copy_to(raw, tasks.queries[i], spool))
    except BaseException as exc:  # re-raised by the caller's thread
        errors.append(exc)


#: Key ranges per record kind: small enough for two connections to end together
#: (with 8, on railway's 1M-record export, one connection ran alone for the last
#: ~0.85 s of ~9 s, the length of its last range).
_CHUNKS: Final = 16
#: The type of the key columns (listing_id, order_id): bounds compare as keys do.
_KEY_TYPE: Final = "varchar"


def _ranges(raw: Any, table: str, column: str, chunks: int = _CHUNKS) -> list[KeyRange]:
    """About ``chunks`` key ranges of ``table`` with as many rows each, from the
    planner's statistics (one range without them; only the balance depends on them).

    The bounds are ordered by PostgreSQL as the queries compare keys (the column's
    type and collation, not Python's order): the ranges then neither overlap nor
    leave a gap, whatever the statistics say."""
    row = raw.execute(
        "SELECT histogram_bounds::text::text[] FROM pg_stats WHERE schemaname = "
        "current_schema() AND tablename = %s AND attname = %s", (table, column)).fetchone()
    bounds: list[str] = row[0] if row and row[0] else []
    if len(bounds) <= chunks:
        return [ALL_KEYS]
    picks = [bounds[round(i * (len(bounds) - 1) / chunks)] for i in range(1, chunks)]
    if not picks:
        return [ALL_KEYS]
    ordered = raw.execute(
        f"SELECT array_agg(v ORDER BY v) FROM (SELECT DISTINCT b::{_KEY_TYPE} AS v "
        "FROM unnest(%s::text[]) AS b) AS s", (picks,)).fetchone()[0]
    edges: list[str | None] = [None, *ordered, None]
    return list(pairwise(edges))


def write_lines(engine: Engine, conn: Connection, adapter: PartnerAdapter,
                out: BinaryIO, header: BatchHeader) -> int:
    """Stream the adapter's snapshot as of ``conn``'s transaction to ``out``; rows written.

    Each record kind is cut into key ranges (from the planner's statistics), one
    COPY each; two connections sharing one exported snapshot run them at once
    (both cores work): the first from the front, straight out, the second from
    the back into temporary files, appended in order at the end.
    """
    raw = conn.connection.driver_connection
    assert raw is not None  # noqa: S101 - an open SQLAlchemy connection has one
    exporter = adapter.exporter()
    encoding = "utf-8"
    if isinstance(exporter, CsvExporter):
        encoding = exporter.encoding
        if exporter.bom:
            out.write(b"\xef\xbb\xbf")
        out.write((",".join(map(quote, exporter.header)) + "\r\n").encode(encoding))
    if isinstance(exporter, XmlExporter):
        out.write(exporter.head(header).encode())
    fmt = _format(adapter, exporter)
    assert fmt is not None  # noqa: S101 - supports() was asked first
    if encoding == "gb18030":
        convert: str | None = "GB18030"
    else:
        # Text goes out in the client encoding: UTF-8 text as it is when both are UTF8.
        utf8 = raw.info.parameter_status("server_encoding") == b"UTF8" and \
            raw.info.parameter_status("client_encoding") == b"UTF8"
        convert = None if utf8 else "UTF8"
    queries = _queries(raw, adapter, exporter, convert)
    count = _write_queries(engine, conn, raw, queries, out)
    if isinstance(exporter, XmlExporter):
        out.write(exporter.tail().encode())
    return count


def _write_queries(engine: Engine, conn: Connection, raw: Any, queries: list[str],
                   out: BinaryIO) -> int:
    _prepare(raw)
    if len(queries) == 1:
        return _copy_to(raw, queries[0], out)
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    tasks = _Tasks(queries)
    spools: list[tuple[int, BinaryIO, int]] = []
    errors: list[BaseException] = []
    count = 0
    worker = threading.Thread(target=_spool, name="hub-snapshot",
                              args=(engine, snapshot, tasks, spools, errors))
    worker.start()
    try:
        try:
            while (i := tasks.take(front=True)) is not None:
                count += _copy_to(raw, queries[i], out)
        finally:
            worker.join()
        # Only once the front is whole: a front error stays the one raised, not
        # hidden by the back's (the back's connection fails too when the server does).
        if errors:
            raise errors[0]
        # The back's ranges follow the front's, in order.
        for _i, spool, lines in sorted(spools, key=lambda s: s[0]):
            spool.seek(0)
            while data := spool.read(BLOCK_BYTES):
                out.write(data)
            count += lines
    finally:
        for _i, spool, _lines in spools:
            spool.close()
    return count
