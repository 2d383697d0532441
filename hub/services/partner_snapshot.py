"""The API snapshot (``GET /snapshot``): the partner's full list in its own format.

:func:`write_snapshot` is the one place that produces it, so the faster
export path being built for batches can replace its body alone.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, BinaryIO, Final

from sqlalchemy import Engine

from hub.core.manifest import new_batch_id
from hub.exporters import BatchHeader
from hub.partners.base import PartnerAdapter
from hub.services.feed import high_water
from hub.services.snapshots import full_rows

#: Bytes a snapshot keeps in memory before spilling to a temporary file.
SPOOL_MEMORY: Final = 8 * 1024 * 1024
CONTENT_TYPES: Final = {"jsonl": "application/jsonl", "csv": "text/csv", "xml": "application/xml"}


class _Hashing:
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha256, self.bytes = raw, hashlib.sha256(), 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int
    records: int
    sha256: bytes
    size: int
    content_type: str
    #: Positioned at 0; the caller streams and closes it.
    body: IO[bytes]


def write_snapshot(engine: Engine, adapter: PartnerAdapter, out: BinaryIO, now: datetime
                   ) -> tuple[int, int]:
    """Write the partner's active rows as of the high-water mark; ``(seq, records)``."""
    with engine.connect() as conn:
        seq = high_water(conn)
        header = BatchHeader(partner=adapter.id, kind="full", from_seq=0, to_seq=seq,
                             batch_id=new_batch_id(adapter.id, "full", 0, seq, now),
                             created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        records = adapter.exporter().write(full_rows(conn, adapter, seq), out, header)
    return seq, records


def spool_snapshot(engine: Engine, adapter: PartnerAdapter, now: datetime) -> Snapshot:
    """The snapshot written to a spooled temporary file, so its digest can go in a header
    before the first byte is sent (a header cannot follow a streamed body)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - caller closes
    try:
        out = _Hashing(spool)
        seq, records = write_snapshot(engine, adapter, out, now)  # type: ignore[arg-type]
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    fmt = adapter.config.format
    content_type = CONTENT_TYPES[fmt]
    if fmt == "csv":
        content_type += f"; charset={adapter.config.encoding}"
    return Snapshot(seq, records, out.sha256.digest(), out.bytes, content_type, spool)
