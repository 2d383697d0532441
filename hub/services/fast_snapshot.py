"""The fast path of full snapshots: PostgreSQL writes the partner's lines from the tables.

Used only where it is proven byte for byte equal to the reference path (the
log, projected and exported in Python; tests/services/test_fast_export.py):
on PostgreSQL, for JSON Lines partners whose adapter changes the projection
only through declarative hooks. Everything else takes the reference path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO, Final

from sqlalchemy import Connection

from hub.db.export_sql import COMPACT_JSON_FUNCTION, jsonl_queries
from hub.exporters import JsonlExporter
from hub.partners.base import PartnerAdapter

# COPY BINARY of one text column: raw UTF-8 with no escaping to undo.
_SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
_HEADER_BYTES: Final = len(_SIGNATURE) + 8  # flags and header-extension length
_TRAILER: Final = b"\xff\xff"
_ROW_PREFIX: Final = 6  # field count (int16) and value length (int32)
_BLOCK_BYTES: Final = 1 << 20


def supports(adapter: PartnerAdapter) -> bool:
    """Whether the adapter's full snapshot may be written by PostgreSQL."""
    exporter = adapter.exporter()
    return (type(adapter).project is PartnerAdapter.project
            and isinstance(exporter, JsonlExporter))


def _queries(adapter: PartnerAdapter) -> list[str]:
    exporter = adapter.exporter()
    assert isinstance(exporter, JsonlExporter)  # noqa: S101 - supports() was asked first
    scope = adapter.config.scope
    return jsonl_queries(fields=exporter.fields, keys=exporter.keys, records=scope.records,
                         subjects=scope.subjects, labels=adapter.code_labels,
                         categories=adapter.restriction_categories)


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


def write_jsonl(conn: Connection, adapter: PartnerAdapter, out: BinaryIO) -> int:
    """Stream the adapter's snapshot as of ``conn``'s transaction to ``out``; rows written."""
    raw = conn.connection.driver_connection
    assert raw is not None  # noqa: S101 - an open SQLAlchemy connection has one
    count = size = 0
    block: list[memoryview] = []
    with raw.cursor() as cur:
        cur.execute(COMPACT_JSON_FUNCTION)
        for query in _queries(adapter):
            with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
                for row in _rows(copy):
                    block.append(row)
                    size += len(row)
                    count += 1
                    if size >= _BLOCK_BYTES:
                        out.write(b"".join(block))
                        block.clear()
                        size = 0
    if block:
        out.write(b"".join(block))
    return count
