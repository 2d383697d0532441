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
from typing import Any, BinaryIO, Final

from sqlalchemy import Connection, Engine

from hub.db.export_sql import (
    COMPACT_JSON_FUNCTION,
    CSV_CELL_FUNCTION,
    XML_TEXT_FUNCTION,
    CsvFormat,
    Format,
    JsonlFormat,
    XmlFormat,
    keys_fit,
    literal,
    snapshot_queries,
)
from hub.exporters import BatchHeader, CsvExporter, Exporter, JsonlExporter, XmlExporter
from hub.exporters.blocks import BLOCK_BYTES, write_in_blocks
from hub.exporters.csv import quote
from hub.partners.base import PartnerAdapter

# COPY BINARY of one text column: raw UTF-8 with no escaping to undo.
_SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
_HEADER_BYTES: Final = len(_SIGNATURE) + 8  # flags and header-extension length
_TRAILER: Final = b"\xff\xff"
_ROW_PREFIX: Final = 6  # field count (int16) and value length (int32)


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


def _queries(adapter: PartnerAdapter, exporter: Exporter, encoding: str | None) -> list[str]:
    """The adapter's SELECTs; ``encoding``: convert each line to it (None: send the text
    as it is, the server's encoding being the client's and the file's)."""
    fmt = _format(adapter, exporter)
    assert fmt is not None  # noqa: S101 - supports() was asked first
    keys = exporter.keys if isinstance(exporter, JsonlExporter) else ()
    fields = (exporter.fields if isinstance(exporter, JsonlExporter | CsvExporter | XmlExporter)
              else ())
    scope = adapter.config.scope
    queries = snapshot_queries(fmt, fields=fields, keys=keys or fields, records=scope.records,
                               subjects=scope.subjects, labels=adapter.code_labels,
                               categories=adapter.restriction_categories)
    if encoding is None:
        return queries
    # bytea in the partner's encoding: COPY BINARY sends it as it is, no escaping.
    return [f"SELECT convert_to(x.line, {literal(encoding)}) FROM ({q}) AS x(line)"
            for q in queries]


def _rows(blocks: Iterable[Any]) -> Iterable[memoryview]:
    first = True
    for block in blocks:
        data = memoryview(block)
        if first:
            if bytes(data[:len(_SIGNATURE)]) != _SIGNATURE:
                raise RuntimeError("COPY BINARY stream without its signature")
            data, first = data[_HEADER_BYTES:], False
            if not data:
                continue
        if len(data) == 2 and bytes(data) == _TRAILER:
            continue  # the end; reading on lets psycopg finish the COPY
        yield data[_ROW_PREFIX:]


def _copy_to(raw: Any, query: str, out: BinaryIO, terminator: bytes) -> int:
    """One COPY's lines to ``out`` in ~1 MB writes; the number of lines."""
    with raw.cursor() as cur:
        # The functions live in this session's pg_temp; a big sort stays in memory.
        cur.execute(COMPACT_JSON_FUNCTION)
        cur.execute(CSV_CELL_FUNCTION)
        cur.execute(XML_TEXT_FUNCTION)
        cur.execute("SET LOCAL work_mem = '256MB'")
        with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
            return write_in_blocks(_rows(copy), out, terminator)


def _spool(engine: Engine, snapshot: str, query: str, spool: BinaryIO, terminator: bytes,
           counts: list[int], errors: list[BaseException]) -> None:
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
                conn.begin():
            # The second stream sees exactly the first one's snapshot.
            conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT {literal(snapshot)}")
            counts.append(_copy_to(conn.connection.driver_connection, query, spool,
                                   terminator))
    except BaseException as exc:  # re-raised by the caller's thread
        errors.append(exc)


def write_lines(engine: Engine, conn: Connection, adapter: PartnerAdapter,
                out: BinaryIO, header: BatchHeader) -> int:
    """Stream the adapter's snapshot as of ``conn``'s transaction to ``out``; rows written.

    Listings and orders are two COPY streams run at once on two connections
    sharing one exported snapshot (both cores work); the orders are spooled to
    a temporary file while the listings go out, then appended in order.
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
        queries = _queries(adapter, exporter, "GB18030")
    else:
        # Text goes out in the client encoding: UTF-8 text as it is when both are UTF8.
        utf8 = raw.info.parameter_status("server_encoding") == b"UTF8" and \
            raw.info.parameter_status("client_encoding") == b"UTF8"
        queries = _queries(adapter, exporter, None if utf8 else "UTF8")
    count = _write_queries(engine, conn, raw, queries, out, fmt.terminator)
    if isinstance(exporter, XmlExporter):
        out.write(exporter.tail().encode())
    return count


def _write_queries(engine: Engine, conn: Connection, raw: Any, queries: list[str],
                   out: BinaryIO, terminator: bytes) -> int:
    if len(queries) == 1:
        return _copy_to(raw, queries[0], out, terminator)
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    counts: list[int] = []
    errors: list[BaseException] = []
    with tempfile.TemporaryFile() as spool:
        worker = threading.Thread(target=_spool, name="hub-snapshot",
                                  args=(engine, snapshot, queries[1], spool, terminator,
                                        counts, errors))
        worker.start()
        try:
            count = _copy_to(raw, queries[0], out, terminator)
        finally:
            worker.join()
        if errors:
            raise errors[0]
        spool.seek(0)
        while data := spool.read(BLOCK_BYTES):
            out.write(data)
    return count + counts[0]
