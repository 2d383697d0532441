"""Batch files for a partner: a full snapshot or a delta, a signed manifest, the release gate.

Files are written under temporary names and renamed when whole; the
detached signature and then the manifest come last, so a manifest's presence
means the batch is complete. A batch that would remove or add more than the
partner's configured share of its records at once is held until an operator
releases it: a bad import must not wipe 44 partners' lists.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import Engine, func, or_, select
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
from hub.services.access import log_access
from hub.services.actors import Actor
from hub.services.batch_files import (
    HELD_FOLDER,
    PART,
    PENDING,
    Pending,
    part_of,
    publish,
    settle,
    write_atomic,
    write_synced,
)
from hub.services.feed import high_water
from hub.services.progress import locked_progress
from hub.services.snapshots import DeltaRow, HashingWriter, delta_changes, write_full_snapshot


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
    """Counts a delta's rows on their way to the file: what the file holds (active rows,
    exits) and what they do to the partner's list (new rows, corrections, rows it held
    that it must now delete)."""

    def __init__(self, changes: Iterator[DeltaRow]) -> None:
        self.changes = changes
        self.active = self.exits = 0
        self.added = self.corrected = self.removed = 0

    def __iter__(self) -> Iterator[Row]:
        for row, held in self.changes:
            if row["status"] == "active":
                self.active += 1
                if held:
                    self.corrected += 1
                else:
                    self.added += 1
            else:
                self.exits += 1
                if held:
                    self.removed += 1
            yield row


log = logging.getLogger(__name__)

#: The start of the reason a batch is held for when only its parent is.
FOLLOWS_HELD: Final = "follows held batch "


def _net_effect(engine: Engine, adapter: PartnerAdapter, from_seq: int, to_seq: int,
                removed: int, added: int) -> tuple[int, int]:
    """The gate's counts for a full batch: at least what the changes since the last
    batch remove and add (or correct), as a delta of them would count them."""
    if to_seq <= from_seq:
        return removed, added
    with engine.connect() as conn:
        net = _Counter(delta_changes(conn, adapter, from_seq, to_seq))
        for _row in net:
            pass
    return max(removed, net.removed), max(added, net.added + net.corrected)


def _gate(adapter: PartnerAdapter, held_before: int, removed: int, added: int) -> str | None:
    """Why this batch must wait for an operator, or None. ``added`` counts corrections
    too: a mass correction deserves the same look as a mass addition."""
    gate = adapter.config.release_gate
    if held_before < gate.min_records:
        return None
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
    # Recorded as it is given, the folder must name the same place from any working
    # directory: the next export settles it, a release moves files out of it.
    out_dir = out_dir.absolute()
    with _one_process(engine, adapter.id), factory() as session:
        try:
            result, pending = _export_locked(session, engine, adapter, keys, out_dir=out_dir,
                                             full=full, actor=actor, now=now)
        except BaseException:
            session.rollback()
            raise
        try:
            session.commit()
        except BaseException:
            # A commit whose reply was lost may have happened: the record decides, and
            # when it cannot be read the files stay as they are (no manifest: not a
            # batch yet) for the partner's next export to settle.
            if not _recorded(factory, result.batch_id):
                pending.discard()
                raise
            log.warning("batch %s: the database committed it although its reply was lost",
                        result.batch_id)
        pending.complete()
    return result


@contextmanager
def _one_process(engine: Engine, partner: str) -> Iterator[None]:
    """SQLite has no advisory lock (:func:`_export_lock`): exports and releases of one
    partner in several processes take a lock file beside the database instead, held
    until their files are named, so none settles another's files while it writes."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    lock = Path(database).with_name(f"{Path(database).name}.export-{partner}.lock")
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _recorded(factory: sessionmaker[Session], batch_id: str) -> bool:
    with factory() as session:
        return session.get(PartnerBatch, batch_id) is not None


def _export_lock(session: Session, partner: str) -> None:
    """Held until ``session``'s transaction ends. An advisory lock, not the progress
    row's: acknowledgements and deliveries update that row while a full snapshot is
    written, and must not wait for it. (SQLite serves one process: no lock.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"hub.export:{partner}"})


def _after_last_batch(session: Session, partner: str, now: datetime,
                      set_aside: datetime | None = None) -> datetime:
    """``now``, or the second after the partner's last batch (or after the batch
    ``settle`` has just ``set_aside`` as never recorded) when that is later.

    A batch's name and id hold its creation time to the second: a second batch of the
    same range within the same second (two empty deltas, say) would take the first
    one's name and overwrite its files. Exports of a partner run one at a time, so
    waiting for the next second (when the clock has not got there yet) is enough."""
    last = session.scalar(select(func.max(PartnerBatch.created_at))
                          .where(PartnerBatch.partner == partner))
    if set_aside is not None and (last is None or set_aside > last):
        last = set_aside
    if last is None or last.replace(microsecond=0) < now.replace(microsecond=0):
        return now
    later = last.replace(microsecond=0) + timedelta(seconds=1)
    ahead = (later - datetime.now(UTC)).total_seconds()
    if 0 < ahead <= 2:
        time.sleep(ahead)
    return later


def _export_locked(session: Session, engine: Engine, adapter: PartnerAdapter, keys: KeyStore,
                   *, out_dir: Path, full: bool, actor: Actor,
                   now: datetime) -> tuple[BatchResult, Pending]:
    partner = adapter.id
    _export_lock(session, partner)
    set_aside = settle(session, adapter, keys, out_dir, actor=actor, now=now)
    now = _after_last_batch(session, partner, now, set_aside)
    before = session.get(PartnerProgress, partner)
    previous = before.last_batch_id if before else None
    held_before = before.records if before else 0
    parent = session.get(PartnerBatch, previous) if previous else None
    shape = adapter.shape_digest()
    # A delta says what changed in the records, not in what the partner gets of them:
    # after its scope, fields, format or names changed, only a full snapshot leaves
    # it holding exactly its list (records now in scope, fields now out of it).
    reshaped = parent is not None and parent.shape_digest not in (None, shape)
    kind = "full" if full or previous is None or reshaped else "delta"
    from_seq = 0 if kind == "full" or before is None else before.exported_seq
    exporter = adapter.exporter()
    out_dir.mkdir(parents=True, exist_ok=True)
    # The file's name holds the batch's seq range, known only once the data is
    # read: write under a unique temporary name and rename when whole.
    tmp = out_dir / f".{partner}_{kind}_{uuid.uuid4().hex}{exporter.extension}{PART}"
    pending: Pending | None = None

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
                removed, added = max(0, held_before - active), max(0, active - held_before)
                if (previous is not None and before is not None
                        and held_before >= adapter.config.release_gate.min_records):
                    # What the file does to the partner's list row by row: a snapshot
                    # that swaps half the list for other records keeps its count, and
                    # must be held as the same changes in a delta would be. (Below
                    # min_records the gate is open whatever the counts: not read.)
                    removed, added = _net_effect(engine, adapter, before.exported_seq,
                                                 to_seq, removed, added)
                held_after = active
            else:
                with engine.connect() as conn:
                    to_seq = high_water(conn)
                    counter = _Counter(delta_changes(conn, adapter, from_seq, to_seq))
                    out = HashingWriter(raw)
                    records = exporter.write(counter, out,  # type: ignore[arg-type]
                                             header_for(to_seq))
                size, digest = out.bytes, out.sha256.hexdigest()
                active, exits = counter.active, counter.exits
                removed, added = counter.removed, counter.added + counter.corrected
                held_after = max(0, held_before + counter.added - counter.removed)
            raw.flush()
            os.fsync(raw.fileno())

        header = header_for(to_seq)
        batch_id = header.batch_id
        stem = batch_file_stem(partner, kind, from_seq, to_seq, now)
        data_path = out_dir / f"{stem}{exporter.extension}"
        counts = {"records": records, "active": active, "exits": exits}
        entry = FileEntry(name=data_path.name, bytes=size, sha256=digest,
                          records=records, schema=exporter.schema)
        manifest = build_manifest(
            batch_id=batch_id, partner=partner, kind=kind, from_seq=from_seq, to_seq=to_seq,
            previous_batch_id=previous, created_at=header.created_at, counts=counts,
            files=[entry],
        )
        body = manifest_bytes(manifest)
        key = keys.ensure_active(now)
        signature = sign_detached(body, key.private_key, key.kid).encode()

        held_reason = _gate(adapter, held_before, removed, added)
        if held_reason is None and reshaped:
            # Its gate counts cannot tell: the log has not changed, the partner's shape
            # has, and the file replaces the list it holds.
            held_reason = (f"{partner}'s scope, format or names changed since batch "
                           f"{previous}: this full snapshot replaces the list it holds")
        if held_reason is None and parent is not None and parent.status == "held":
            # Sent alone it would leave the parent's changes out of the partner's chain
            # (a full snapshot would carry them unreviewed): it waits with its parent.
            held_reason = f"{FOLLOWS_HELD}{previous}"
        status = "held" if held_reason else "ready"
        # A held batch waits beside the outbox, not in it: whatever takes batches from
        # the outbox (the hub's delivery, an operator's sync) cannot send it by mistake.
        folder = out_dir / HELD_FOLDER if held_reason else out_dir
        folder.mkdir(exist_ok=True)
        data_path = folder / data_path.name
        session.add(PartnerBatch(
            batch_id=batch_id, partner=partner, kind=kind, from_seq=from_seq, to_seq=to_seq,
            previous_batch_id=previous, created_at=now, status=status, counts=counts,
            files=[_entry_dict(entry)], manifest_sha256=hashlib.sha256(body).hexdigest(),
            held_reason=held_reason, folder=str(folder), shape_digest=shape,
            signed_by=key.kid,
        ))
        progress = locked_progress(session, partner)  # briefly: its other fields move too
        progress.exported_seq = to_seq
        progress.last_batch_id = batch_id
        progress.records = held_after
        detail: dict[str, Any] = {"batch_id": batch_id, "kind": kind, "from_seq": from_seq,
                                  "to_seq": to_seq, **counts}
        audit.record(session, actor=actor.name, action="batch.exported", target=partner,
                     detail=detail, at=now)
        if held_reason:
            audit.record(session, actor=actor.name, action="batch.held", target=partner,
                         detail={"batch_id": batch_id, "reason": held_reason}, at=now)
        # What the file holds is on the access record as a request's answer would be:
        # "who received this person's data" counts batch files too.
        log_access(session, partner=partner, endpoint=kind, at=now, from_seq=from_seq,
                   to_seq=to_seq, count=records)
        session.flush()  # a clash with a recorded batch shows here, before any file is named

        manifest_path = folder / f"{stem}.manifest.json"
        pending = Pending(manifest_path)
        publish(tmp, data_path)
        pending.published.append(data_path)
        jws_path = folder / f"{stem}.manifest.jws"
        write_atomic(jws_path, signature)
        pending.published.append(jws_path)
        # The manifest's name only once the record is committed (Pending.complete); a
        # stranger under it is found now, while the record can still be rolled back.
        if manifest_path.exists():
            raise Conflict(f"{manifest_path} already exists: a batch of that name was "
                           "written before; it is left as it is")
        write_synced(part_of(manifest_path), body)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed export leaves nothing a partner could take
        if pending is not None:
            pending.discard()
        raise
    return BatchResult(batch_id, kind, from_seq, to_seq, status, counts, data_path,
                       manifest_path, held_reason), pending


def _entry_dict(entry: FileEntry) -> dict[str, Any]:
    return {"name": entry.name, "bytes": entry.bytes, "sha256": entry.sha256,
            "records": entry.records, "schema": entry.schema}


def release_batch(
    factory: sessionmaker[Session], batch_id: str, keys: KeyStore, *, actor: Actor,
    now: datetime | None = None,
) -> PartnerBatch:
    """An operator's decision that a held batch may go out.

    Its manifest is signed again with the hub's active key: it may have waited longer
    than the key it was written with stayed published. The data and the signature move
    into the outbox before the commit, the manifest after it (as an export's): a
    release whose commit fails is run again, one killed after it is completed by the
    partner's next export.
    """
    now = now or datetime.now(UTC)
    with factory() as session:
        engine = session.get_bind()
        partner = session.scalar(select(PartnerBatch.partner)
                                 .where(PartnerBatch.batch_id == batch_id))
    if partner is None:
        raise NotFound(f"no batch {batch_id}")
    # The partner's export lock, as an export takes it: its settle() must not take the
    # files this release is moving for leftovers.
    with _one_process(cast(Engine, engine), partner):
        return _release_locked(factory, batch_id, partner, keys, actor=actor, now=now)


def _release_locked(factory: sessionmaker[Session], batch_id: str, partner: str,
                    keys: KeyStore, *, actor: Actor, now: datetime) -> PartnerBatch:
    with session_scope(factory) as session:
        _export_lock(session, partner)
        batch = session.get(PartnerBatch, batch_id, with_for_update=True)
        if batch is None:
            raise NotFound(f"no batch {batch_id}")
        if batch.status != "held":
            raise Conflict(f"batch {batch_id} is {batch.status}, not held")
        parent = (session.get(PartnerBatch, batch.previous_batch_id)
                  if batch.previous_batch_id else None)
        if parent is not None and parent.status == "held":
            raise Conflict(f"batch {batch_id} follows held batch {parent.batch_id}: "
                           "release that one first")
        pending = [_release(session, batch, keys, actor=actor, now=now, detail={})]
        # Batches held only because this one was held go out with it, in chain order,
        # their files moved as its were; one held for its own reason stops the walk and
        # waits for its own decision.
        while (child := session.scalars(select(PartnerBatch).where(
                PartnerBatch.previous_batch_id == batch.batch_id,
                PartnerBatch.status == "held")).first()) is not None and \
                (child.held_reason or "").startswith(FOLLOWS_HELD):
            pending.append(_release(session, child, keys, actor=actor, now=now,
                                    detail={"with": batch_id}))
            batch = child
        released = session.get(PartnerBatch, batch_id)
    for each in pending:  # in chain order: a partner never sees a child before its parent
        each.complete()
    return released  # type: ignore[return-value]


def _release(session: Session, batch: PartnerBatch, keys: KeyStore, *, actor: Actor,
             now: datetime, detail: dict[str, Any]) -> Pending:
    pending = _move_to_outbox(batch, keys, now)
    batch.status, batch.released_by, batch.released_at = "released", actor.name, now
    audit.record(session, actor=actor.name, action="batch.released", target=batch.partner,
                 detail={"batch_id": batch.batch_id, "held_reason": batch.held_reason,
                         **detail}, at=now)
    return pending


def _move_to_outbox(batch: PartnerBatch, keys: KeyStore, now: datetime) -> Pending:
    """Move a held batch's data into the outbox, sign its manifest again there, and put
    the manifest under its part name beside them; the returned Pending names it once
    the release is committed. A file an earlier attempt already moved is left where it
    is, so a release can be run again."""
    if batch.folder is None or Path(batch.folder).name != HELD_FOLDER:
        raise Conflict(f"batch {batch.batch_id} has no held folder recorded ({batch.folder}): "
                       "export the partner again (a new batch) instead")
    held = Path(batch.folder)
    outbox = held.parent
    stem = batch_file_stem(batch.partner, batch.kind, batch.from_seq, batch.to_seq,
                           batch.created_at)
    for name in (f["name"] for f in batch.files):
        source, target = held / name, outbox / name
        if not source.exists():
            if target.exists():
                continue
            raise NotFound(f"{source} is missing: batch {batch.batch_id} cannot go out "
                           "whole; export the partner again (a new batch) instead")
        publish(source, target)
    manifest, kept = outbox / f"{stem}.manifest.json", held / f"{stem}.manifest.json"
    part = part_of(manifest)
    # The held manifest, or its part when the export stopped before naming it, or the
    # outbox's part an earlier attempt of this release wrote.
    body = next((p.read_bytes() for p in (kept, part_of(kept), part) if p.exists()), None)
    if body is None or hashlib.sha256(body).hexdigest() != batch.manifest_sha256:
        raise NotFound(f"{kept} is missing or not the manifest recorded: batch "
                       f"{batch.batch_id} cannot go out; export the partner again instead")
    key = keys.ensure_active(now)
    jws = outbox / f"{stem}.manifest.jws"
    write_synced(part_of(jws), sign_detached(body, key.private_key, key.kid).encode())
    os.replace(part_of(jws), jws)  # a release run again signs again
    (held / jws.name).unlink(missing_ok=True)
    if not part.exists():
        write_synced(part, body)
    batch.folder, batch.signed_by = str(outbox), key.kid
    return Pending(manifest, leftover=[kept, part_of(kept)])


def signed_and_pending(session: Session, kid: str) -> list[PartnerBatch]:
    """Batches whose manifest ``kid`` signed (or an unrecorded key, before the hub kept
    it) that partners have not acknowledged, by the batch or by a seq past it: while
    there are any, retiring the key leaves them unverifiable against the JWKS."""
    acked = (select(PartnerProgress.acked_seq)
             .where(PartnerProgress.partner == PartnerBatch.partner).scalar_subquery())
    return list(session.scalars(select(PartnerBatch).where(
        or_(PartnerBatch.signed_by == kid, PartnerBatch.signed_by.is_(None)),
        PartnerBatch.status.in_(PENDING), PartnerBatch.to_seq > func.coalesce(acked, 0),
    ).order_by(PartnerBatch.created_at)))


def list_batches(factory: sessionmaker[Session], partner: str | None = None) -> list[PartnerBatch]:
    with factory() as session:
        stmt = select(PartnerBatch).order_by(PartnerBatch.created_at, PartnerBatch.to_seq)
        if partner:
            stmt = stmt.where(PartnerBatch.partner == partner)
        return list(session.scalars(stmt))
