"""Batch files for a partner: a full snapshot or a delta, a signed manifest, the release gate.

Files are written under temporary names and renamed when whole; the
detached signature and then the manifest come last, so a manifest's presence
means the batch is complete. A batch that would remove or add more than the
partner's configured share of its records at once is held until an operator
releases it: a bad import must not wipe 44 partners' lists.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from hub.core.manifest import (
    FileEntry,
    batch_file_stem,
    build_manifest,
    manifest_bytes,
    new_batch_id,
)
from hub.core.signing import sign_detached
from hub.db.engine import session_scope
from hub.db.models import PartnerBatch, PartnerProgress
from hub.errors import Conflict, NotFound
from hub.exporters import BatchHeader
from hub.keystore import KeyStore
from hub.partners.base import PartnerAdapter
from hub.partners.projection import Row
from hub.services import audit
from hub.services.actors import Actor
from hub.services.feed import high_water
from hub.services.progress import locked_progress
from hub.services.snapshots import HashingWriter, delta_rows, write_full_snapshot


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch_id: str
    kind: str
    from_seq: int
    to_seq: int
    status: str
    counts: dict[str, int]
    data_path: Path
    manifest_path: Path
    held_reason: str | None


class _Counter:
    def __init__(self, rows: Iterator[Row]) -> None:
        self.rows = rows
        self.active = 0
        self.exits = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self.rows:
            if row["status"] == "active":
                self.active += 1
            else:
                self.exits += 1
            yield row


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _gate(adapter: PartnerAdapter, kind: str, held_before: int, active: int,
          exits: int) -> str | None:
    """Why this batch must wait for an operator, or None."""
    gate = adapter.config.release_gate
    if held_before < gate.min_records:
        return None
    if kind == "full":
        removed, added = max(0, held_before - active), max(0, active - held_before)
    else:
        # Corrections count as additions here: the gate errs on the side of a look.
        removed, added = exits, active
    if removed > gate.max_removed_share * held_before:
        return (f"would remove {removed} of the {held_before} records {adapter.id} holds "
                f"(limit {gate.max_removed_share:.0%})")
    if added > gate.max_added_share * held_before:
        return (f"would add or change {added} records against the {held_before} {adapter.id} "
                f"holds (limit {gate.max_added_share:.0%})")
    return None


def export_batch(
    engine: Engine,
    factory: sessionmaker[Session],
    adapter: PartnerAdapter,
    keys: KeyStore,
    *,
    out_dir: Path,
    full: bool,
    actor: Actor,
    now: datetime | None = None,
) -> BatchResult:
    """Write the partner's next batch into ``out_dir`` and record it.

    One export of a partner at a time, from its first read to its record: a second
    (an operator's beside the nightly job) waits and then follows this one, so the
    batches form one chain, never two from one parent.
    """
    now = now or datetime.now(UTC)
    with session_scope(factory) as session:
        return _export_locked(session, engine, adapter, keys, out_dir=out_dir, full=full,
                              actor=actor, now=now)


def _export_lock(session: Session, partner: str) -> None:
    """Held until ``session``'s transaction ends. An advisory lock, not the progress
    row's: acknowledgements and deliveries update that row while a full snapshot is
    written, and must not wait for it. (SQLite serves one process: no lock.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"hub.export:{partner}"})


def _export_locked(session: Session, engine: Engine, adapter: PartnerAdapter, keys: KeyStore,
                   *, out_dir: Path, full: bool, actor: Actor, now: datetime) -> BatchResult:
    partner = adapter.id
    _export_lock(session, partner)
    before = session.get(PartnerProgress, partner)
    previous = before.last_batch_id if before else None
    held_before = before.records if before else 0
    kind = "full" if full or previous is None else "delta"
    from_seq = 0 if kind == "full" or before is None else before.exported_seq
    exporter = adapter.exporter()
    out_dir.mkdir(parents=True, exist_ok=True)
    # The file's name holds the batch's seq range, known only once the data is
    # read: write under a unique temporary name and rename when whole.
    tmp = out_dir / f".{partner}_{kind}_{uuid.uuid4().hex}{exporter.extension}.part"

    def header_for(to_seq: int) -> BatchHeader:
        return BatchHeader(partner=partner, kind=kind, from_seq=from_seq, to_seq=to_seq,
                           batch_id=new_batch_id(partner, kind, from_seq, to_seq, now),
                           created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))

    try:
        with tmp.open("wb") as raw:
            if kind == "full":
                snap = write_full_snapshot(engine, adapter, raw, header_for)
                to_seq, records, size, digest = snap.seq, snap.records, snap.bytes, snap.sha256
                active, exits = records, 0
            else:
                with engine.connect() as conn:
                    to_seq = high_water(conn)
                    counter = _Counter(delta_rows(conn, adapter, from_seq, to_seq))
                    out = HashingWriter(raw)
                    records = exporter.write(counter, out,  # type: ignore[arg-type]
                                             header_for(to_seq))
                size, digest = out.bytes, out.sha256.hexdigest()
                active, exits = counter.active, counter.exits
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed export leaves nothing a partner could take
        raise
    header = header_for(to_seq)
    batch_id = header.batch_id
    stem = batch_file_stem(partner, kind, from_seq, to_seq, now)
    data_path = out_dir / f"{stem}{exporter.extension}"
    tmp.replace(data_path)
    counts = {"records": records, "active": active, "exits": exits}
    entry = FileEntry(name=data_path.name, bytes=size, sha256=digest,
                      records=records, schema=exporter.schema)
    manifest = build_manifest(
        batch_id=batch_id, partner=partner, kind=kind, from_seq=from_seq, to_seq=to_seq,
        previous_batch_id=previous, created_at=header.created_at, counts=counts, files=[entry],
    )
    body = manifest_bytes(manifest)
    key = keys.ensure_active(now)
    manifest_path = out_dir / f"{stem}.manifest.json"
    _write_atomic(out_dir / f"{stem}.manifest.jws",
                  sign_detached(body, key.private_key, key.kid).encode())
    _write_atomic(manifest_path, body)  # last: its presence means the batch is whole
    held_reason = _gate(adapter, kind, held_before, active, exits)
    status = "held" if held_reason else "ready"
    session.add(PartnerBatch(
        batch_id=batch_id, partner=partner, kind=kind, from_seq=from_seq, to_seq=to_seq,
        previous_batch_id=previous, created_at=now, status=status, counts=counts,
        files=[_entry_dict(entry)], manifest_sha256=hashlib.sha256(body).hexdigest(),
        held_reason=held_reason,
    ))
    progress = locked_progress(session, partner)  # briefly: its other fields move too
    progress.exported_seq = to_seq
    progress.last_batch_id = batch_id
    progress.records = (active if kind == "full"
                        else max(0, progress.records + active - exits))
    detail: dict[str, Any] = {"batch_id": batch_id, "kind": kind, "from_seq": from_seq,
                              "to_seq": to_seq, **counts}
    audit.record(session, actor=actor.name, action="batch.exported", target=partner,
                 detail=detail, at=now)
    if held_reason:
        audit.record(session, actor=actor.name, action="batch.held", target=partner,
                     detail={"batch_id": batch_id, "reason": held_reason}, at=now)
    return BatchResult(batch_id, kind, from_seq, to_seq, status, counts, data_path,
                       manifest_path, held_reason)


def _entry_dict(entry: FileEntry) -> dict[str, Any]:
    return {"name": entry.name, "bytes": entry.bytes, "sha256": entry.sha256,
            "records": entry.records, "schema": entry.schema}


def release_batch(
    factory: sessionmaker[Session], batch_id: str, *, actor: Actor, now: datetime | None = None
) -> PartnerBatch:
    """An operator's decision that a held batch may go out."""
    now = now or datetime.now(UTC)
    with session_scope(factory) as session:
        batch = session.get(PartnerBatch, batch_id, with_for_update=True)
        if batch is None:
            raise NotFound(f"no batch {batch_id}")
        if batch.status != "held":
            raise Conflict(f"batch {batch_id} is {batch.status}, not held")
        batch.status, batch.released_by, batch.released_at = "released", actor.name, now
        audit.record(session, actor=actor.name, action="batch.released", target=batch.partner,
                     detail={"batch_id": batch_id, "held_reason": batch.held_reason}, at=now)
        return batch


def list_batches(factory: sessionmaker[Session], partner: str | None = None) -> list[PartnerBatch]:
    with factory() as session:
        stmt = select(PartnerBatch).order_by(PartnerBatch.created_at, PartnerBatch.to_seq)
        if partner:
            stmt = stmt.where(PartnerBatch.partner == partner)
        return list(session.scalars(stmt))
