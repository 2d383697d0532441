"""The API snapshot (``GET /snapshot``): the partner's full list in its own format.

It is :func:`hub.services.snapshots.write_full_snapshot`, the same path as a
full batch file, spooled so its digest can go in a header.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Final

from sqlalchemy import Engine

from hub.core.manifest import new_batch_id
from hub.exporters import BatchHeader
from hub.partners.base import PartnerAdapter
from hub.services.snapshots import write_full_snapshot

#: Bytes a snapshot keeps in memory before spilling to a temporary file.
SPOOL_MEMORY: Final = 8 * 1024 * 1024
CONTENT_TYPES: Final = {"jsonl": "application/jsonl", "csv": "text/csv", "xml": "application/xml"}


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int
    records: int
    sha256: bytes
    size: int
    content_type: str
    #: Positioned at 0; the caller streams and closes it.
    body: IO[bytes]


def spool_snapshot(engine: Engine, adapter: PartnerAdapter, now: datetime) -> Snapshot:
    """The snapshot written to a spooled temporary file, so its digest can go in a header
    before the first byte is sent (a header cannot follow a streamed body)."""

    def header(seq: int) -> BatchHeader:
        return BatchHeader(partner=adapter.id, kind="full", from_seq=0, to_seq=seq,
                           batch_id=new_batch_id(adapter.id, "full", 0, seq, now),
                           created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - caller closes
    try:
        result = write_full_snapshot(engine, adapter, spool, header)  # type: ignore[arg-type]
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    fmt = adapter.config.format
    content_type = CONTENT_TYPES[fmt]
    if fmt == "csv":
        content_type += f"; charset={adapter.config.encoding}"
    return Snapshot(result.seq, result.records, bytes.fromhex(result.sha256), result.bytes,
                    content_type, spool)
