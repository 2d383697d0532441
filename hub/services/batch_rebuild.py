"""A recorded batch's lost files, written again from the change log and the keyring.

A batch file is a projection of a range of the change log, which the hub keeps:
its data comes back byte for byte while the partner's shape is what it was, and
the record's SHA-256 proves it did (anything else is refused, not published).
Ed25519 signatures are deterministic, so the signature comes back the same too
while the key that made it is in the keyring (else the active key signs it, as a
release does).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from hub.db.models import PartnerBatch
from hub.errors import ConfigError
from hub.exporters import BatchHeader
from hub.keystore import KeyStore
from hub.partners.base import PartnerAdapter
from hub.services.snapshots import HashingWriter, delta_rows, full_rows

log = logging.getLogger(__name__)


def data_again(conn: Connection, adapter: PartnerAdapter, batch: PartnerBatch,
               entry: dict[str, Any], part: Path) -> bool:
    """Write the batch's data file ``entry`` to ``part`` (synced) from the log; whether it
    is the file the record names (size and SHA-256). ``part`` is removed when not."""
    header = BatchHeader(partner=batch.partner, kind=batch.kind, from_seq=batch.from_seq,
                         to_seq=batch.to_seq, batch_id=batch.batch_id,
                         created_at=batch.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    rows = (full_rows(conn, adapter, batch.to_seq) if batch.kind == "full"
            else delta_rows(conn, adapter, batch.from_seq, batch.to_seq))
    try:
        with part.open("wb") as raw:
            out = HashingWriter(raw)
            adapter.exporter().write(rows, out, header)  # type: ignore[arg-type]
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        part.unlink(missing_ok=True)  # half a file, which nothing may take for the batch's
        raise
    same = bool(out.bytes == entry["bytes"] and out.sha256.hexdigest() == entry["sha256"])
    if not same:
        part.unlink()
        log.error("batch %s: its data file %s rebuilt from the log is not the one recorded "
                  "(%d bytes, sha256 %s)", batch.batch_id, entry["name"], out.bytes,
                  out.sha256.hexdigest())
    return same


def signature_again(keys: KeyStore, batch: PartnerBatch, manifest: bytes,
                    now: datetime) -> tuple[str, str]:
    """The batch's detached JWS over ``manifest`` and the kid that made it: the key that
    signed it, while the keyring has it (the same bytes), else the active key (as a
    release signs again): the partner verifies either against the JWKS."""
    if batch.signed_by is not None:
        try:
            key = keys.signing_key(batch.signed_by)
        except ConfigError:
            pass
        else:
            return key.sign_detached(manifest), key.kid
    key = keys.ensure_active(now)
    return key.sign_detached(manifest), key.kid
