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


class _InOrder:
    """The COPYs of one snapshot, run by two connections, written to ``out`` in query order.

    Both connections take the next query in order. A query whose predecessors are
    all written streams straight to ``out``; any other goes to a temporary file,
    appended by whichever connection is then writing as soon as its turn comes. So
    the appending overlaps the queries still running: only the last range or two
    are left to copy when both connections are done. (Taking queries from both ends
    instead left half the snapshot to copy alone at the end: with 1M records,
    ndrc's export took 9.2-9.4 s that way, 6.8-7.6 s this way.)
    """

    def __init__(self, queries: list[str], out: BinaryIO) -> None:
        self.queries = queries
        self.out = out
        #: Lines written; only the connection holding the turn to write adds to it.
        self.count = 0
        self._lock = threading.Lock()
        self._next_query = 0
        self._next_write = 0
        self._writing = False
        self._ready: dict[int, tuple[BinaryIO, int]] = {}
        self._spools: list[BinaryIO] = []
        self._failed = False

    def run(self, raw: Any) -> None:
        """One connection's share, until no query is left (or the other one failed)."""
        try:
            while (i := self._take()) is not None:
                with self._lock:
                    direct = i == self._next_write and not self._writing
                    self._writing = self._writing or direct
                if direct:
                    self.count += _copy_to(raw, self.queries[i], self.out)
                    with self._lock:
                        self._next_write = i + 1
                    self._append_ready()
                    continue
                spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                with self._lock:
                    self._spools.append(spool)
                lines = _copy_to(raw, self.queries[i], spool)
                with self._lock:
                    self._ready[i] = (spool, lines)
                    turn = not self._writing and self._next_write == i
                    self._writing = self._writing or turn
                if turn:
                    self._append_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """No query is taken from now on (a connection failed: the snapshot fails)."""
        with self._lock:
            self._failed = True

    def _take(self) -> int | None:
        with self._lock:
            if self._failed or self._next_query >= len(self.queries):
                return None
            self._next_query += 1
            return self._next_query - 1

    def _append_ready(self) -> None:
        """Append the spooled ranges whose turn has come; the caller holds the turn to
        write, and gives it up here when the next range is not ready."""
        while True:
            with self._lock:
                ready = self._ready.pop(self._next_write, None)
                if ready is None:
                    self._writing = False
                    return
            spool, lines = ready
            spool.seek(0)
            while data := spool.read(BLOCK_BYTES):
                self.out.write(data)
            spool.close()
            self.count += lines
            with self._lock:
                self._next_write += 1

    def complete(self) -> bool:
        return self._next_write == len(self.queries)

    def close(self) -> None:
        for spool in self._spools:
            spool.close()


def _second(engine: Engine, snapshot: str, order: _InOrder,
            errors: list[BaseException]) -> None:
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
                conn.begin():
            # The second connection sees exactly the first one's snapshot.
            conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT {literal(snapshot)}")
            raw = conn.connection.driver_connection
            _prepare(raw)
            order.run(raw)
    except BaseException as exc:  # re-raised by the caller's thread
        order.stop()  # also when this connection failed before its first query
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
    (both cores work), each taking the next range in order (``_InOrder``).
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
    order = _InOrder(queries, out)
    errors: list[BaseException] = []
    worker = threading.Thread(target=_second, name="hub-snapshot",
                              args=(engine, snapshot, order, errors))
    worker.start()
    try:
        try:
            order.run(raw)
        finally:
            worker.join()
        # Only once this connection is done: its error stays the one raised, not
        # hidden by the other's (that connection fails too when the server does).
        if errors:
            raise errors[0]
        if not order.complete():
            raise RuntimeError("snapshot ranges left unwritten")
    finally:
        order.close()
    return order.count
