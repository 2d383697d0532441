"""A batch's files on disk, kept in step with its record in the database.

The files and the record cannot change in one transaction, so the order makes a
crash at any point recoverable: the data file and the signature take their names
before the record's commit, the manifest (whose presence means "this batch is
whole", DESIGN.md §5) only after it. What an interrupted export leaves, its next
export of the partner settles (:func:`settle`) before writing anything: a batch
recorded but without its manifest gets it (rebuilt from the record if need be);
files of a batch never recorded go, under their own names, to the outbox's
``unrecorded`` folder, where nothing takes them, and the audit log says so. A
recorded batch not yet acknowledged that lost its data file or signature while
some of its files are left (deleted by hand, an older backup restored) gets them
again from the change log and the keyring (:mod:`hub.services.batch_rebuild`),
audited; one with no file left was taken away whole and is left so; one that
cannot be made whole stops the partner's chain. A batch is therefore never both
sent and unrecorded, nor recorded and lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.core.manifest import (
    FileEntry,
    batch_file_stem,
    build_manifest,
    manifest_bytes,
    new_batch_id,
)
from hub.db.models import PartnerBatch
from hub.errors import Conflict
from hub.keystore import KeyStore
from hub.partners.base import PartnerAdapter
from hub.services import audit
from hub.services.actors import Actor
from hub.services.batch_rebuild import data_again, signature_again

log = logging.getLogger(__name__)

#: Where held batches wait, inside the outbox folder they were written for.
HELD_FOLDER: Final = "held"
#: Where settle() puts the files of batches that were never recorded.
UNRECORDED_FOLDER: Final = "unrecorded"
#: A file name's part that says it is not whole yet (or not yet recorded).
PART: Final = ".part"


def publish(tmp: Path, path: Path) -> None:
    """Give a written file its final name, refusing to replace a file already there; a
    name an earlier attempt already gave it (the same file, linked) counts as given."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        if not _same_file(tmp, path):
            raise Conflict(f"{path} already exists: a batch of that name was written "
                           "before; it is left as it is") from None
    tmp.unlink(missing_ok=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except FileNotFoundError:  # one of them moved on meanwhile
        return False


def part_of(path: Path) -> Path:
    """The name ``path`` is written under until it may be published."""
    return path.with_name(f".{path.name}{PART}")


def write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    tmp = part_of(path)
    write_synced(tmp, data)
    try:
        publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def sync_folder(folder: Path) -> None:
    """Make the names given in ``folder`` durable (a rename lives in the directory)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(slots=True)
class Pending:
    """A batch written but for its manifest's name, which waits for the record's commit."""

    manifest: Path
    #: Published before the commit (data file, signature): removed if it fails.
    published: list[Path] = field(default_factory=list)
    #: Removed once the manifest has its name (a released batch's copy in ``held``).
    leftover: list[Path] = field(default_factory=list)

    def complete(self) -> None:
        part = part_of(self.manifest)
        if part.exists() or not self.manifest.exists():  # else: settle() got there first
            publish(part, self.manifest)
        sync_folder(self.manifest.parent)
        for path in self.leftover:
            path.unlink(missing_ok=True)

    def discard(self) -> None:
        part_of(self.manifest).unlink(missing_ok=True)
        for path in reversed(self.published):
            path.unlink(missing_ok=True)
        self.published.clear()


def _stem_pattern(partner: str) -> re.Pattern[str]:
    # Partner ids may hold "_": "a_full_..." is partner a's, "a_b_full_..." is a_b's.
    return re.compile(rf"\.?({re.escape(partner)}_(full|delta)_(\d+)-(\d+)_(\d{{8}}T\d{{6}}Z))\.")


#: Batches out (or free to go out) and not yet acknowledged: an ack can cover them.
UNACKNOWLEDGED: Final = ("ready", "released", "sent")
#: Batches a partner may still have to fetch and verify: those, and held ones.
PENDING: Final = (*UNACKNOWLEDGED, "held")


def settle(session: Session, adapter: PartnerAdapter, keys: KeyStore, out_dir: Path, *,
           actor: Actor, now: datetime) -> datetime | None:
    """Finish or set aside what an interrupted export or release of the adapter's
    partner left in ``out_dir`` and in the folders of its batches not yet acknowledged
    (an export to another ``--out`` may be the one that was interrupted after its
    record); then make each of those batches whole.

    Run under the partner's export lock: no export of it is writing meanwhile, so
    whatever is not whole is left over.

    :returns: the latest creation time of a batch whose files were set aside as never
        recorded (None: none was): the next batch must be named after it, not take
        its id and names within the same second.
    :raises Conflict: a recorded batch whose files cannot be made whole again: the
        partner's chain stops there rather than go on past a batch it cannot have.
    """
    partner = adapter.id
    stems = _stem_pattern(partner)
    unfinished = re.compile(rf"\.{re.escape(partner)}_(full|delta)_[0-9a-f]{{32}}\.")
    outboxes = {out_dir}
    for folder in session.scalars(select(PartnerBatch.folder).distinct().where(
            PartnerBatch.partner == partner, PartnerBatch.status.in_(PENDING),
            PartnerBatch.folder.is_not(None))):
        path = Path(str(folder))
        outboxes.add(path.parent if path.name == HELD_FOLDER else path)
    aside = [_settle_outbox(session, partner, outbox, stems, unfinished, actor=actor, now=now)
             for outbox in sorted(outboxes)]
    for batch in session.scalars(select(PartnerBatch).where(
            PartnerBatch.partner == partner, PartnerBatch.status.in_(PENDING),
            PartnerBatch.folder.is_not(None)).order_by(PartnerBatch.created_at)):
        _make_whole(session, batch, adapter, keys, actor=actor, now=now)
    return max((t for t in aside if t is not None), default=None)


def _settle_outbox(session: Session, partner: str, out_dir: Path, stems: re.Pattern[str],
                   unfinished: re.Pattern[str], *, actor: Actor,
                   now: datetime) -> datetime | None:
    latest: datetime | None = None
    for folder in (out_dir, out_dir / HELD_FOLDER):
        if not folder.is_dir():
            continue
        found: dict[str, tuple[re.Match[str], list[Path]]] = {}
        for path in folder.iterdir():
            if not path.is_file():
                continue
            if unfinished.match(path.name) and path.name.endswith(PART):
                path.unlink()  # a data file never finished: nothing names it
                log.warning("removed %s, left by an export that did not finish", path)
            elif match := stems.match(path.name):
                found.setdefault(match[1], (match, []))[1].append(path)
        for match, paths in found.values():
            aside = _settle_batch(session, partner, folder, out_dir, match, paths, actor=actor,
                                  now=now)
            if aside is not None and (latest is None or aside > latest):
                latest = aside
    return latest


def _settle_batch(session: Session, partner: str, folder: Path, out_dir: Path,
                  match: re.Match[str], paths: list[Path], *, actor: Actor,
                  now: datetime) -> datetime | None:
    """Make one batch's files whole, or set them aside; its creation time when set aside."""
    stem, kind, from_seq, to_seq, stamp = match.groups()
    manifest = folder / f"{stem}.manifest.json"
    created = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    batch_id = new_batch_id(partner, kind, int(from_seq), int(to_seq), created)
    batch = session.get(PartnerBatch, batch_id)
    if batch is not None and batch.folder != str(folder):
        # Files of a batch recorded elsewhere: a release moving it on, or done with
        # it. A copy is dropped only where the batch's own folder holds the same
        # name (a manifest's part: the manifest); anything else it may still need.
        home = Path(batch.folder or "")
        for path in paths:
            name = manifest.name if path.name == part_of(manifest).name else path.name
            if (home / name).exists():
                path.unlink()
        return None
    if batch is not None or manifest.exists():
        return None  # recorded here: made whole from its record; or whole
    aside = out_dir / UNRECORDED_FOLDER
    aside.mkdir(exist_ok=True)
    moved = [_set_aside(path, aside) for path in paths]
    log.warning("batch %s was never recorded: its files %s moved to %s", batch_id, moved, aside)
    # In a transaction of its own: the files have moved whether or not this export
    # gets as far as its commit.
    with Session(session.get_bind()) as own, own.begin():
        audit.record(own, actor=actor.name, action="batch.unrecorded", target=partner,
                     detail={"batch_id": batch_id, "files": moved, "moved_to": str(aside)},
                     at=now)
    return created


def _make_whole(session: Session, batch: PartnerBatch, adapter: PartnerAdapter,
                keys: KeyStore, *, actor: Actor, now: datetime) -> None:
    """A recorded batch's manifest, signature and data, each in its folder.

    Without its manifest its export (or release) stopped after the commit: the
    manifest is its part, or rebuilt from the record; either way the bytes the record
    holds the digest of. A data file or signature gone since is written again
    (:mod:`hub.services.batch_rebuild`), published only when it is the very file."""
    folder = Path(str(batch.folder))
    stem = batch_file_stem(batch.partner, batch.kind, batch.from_seq, batch.to_seq,
                           batch.created_at)
    manifest = folder / f"{stem}.manifest.json"
    signature = folder / f"{stem}.manifest.jws"
    lost = [e for e in batch.files if not (folder / e["name"]).exists()]
    if manifest.exists() and signature.exists() and not lost:
        return
    if len(lost) == len(batch.files) and not any(
            p.exists() for p in (manifest, part_of(manifest), signature)):
        # Not one file left: taken away whole (a partner that pulls the API leaves its
        # batches unacknowledged; an operator clears them, or moved the outbox), not
        # lost on the way. Only what an export or a release left half done is mended.
        return
    body = next((b for b in _manifest_texts(batch, manifest)
                 if hashlib.sha256(b).hexdigest() == batch.manifest_sha256), None)
    if body is None:
        raise _not_whole(batch, folder, "its manifest is changed")
    folder.mkdir(parents=True, exist_ok=True)
    restored = []
    for entry in lost:
        path = folder / entry["name"]
        if not data_again(session.connection(), adapter, batch, entry, part_of(path)):
            raise _not_whole(batch, folder, f"its data file {entry['name']} is missing and "
                             "the change log no longer gives the same bytes (has the "
                             "partner's configuration changed?)")
        publish(part_of(path), path)
        restored.append(path.name)
    signed_by = None
    if not signature.exists():
        jws, signed_by = signature_again(keys, batch, body, now)
        write_atomic(signature, jws.encode())
        restored.append(signature.name)
    if not manifest.exists():
        part = part_of(manifest)
        if not part.exists() or part.read_bytes() != body:
            part.unlink(missing_ok=True)
            write_synced(part, body)
        Pending(manifest).complete()
        log.warning("batch %s: its manifest published, which its export could not do",
                    batch.batch_id)
    sync_folder(folder)
    if restored:
        log.warning("batch %s: %s written again from the change log and the keyring",
                    batch.batch_id, ", ".join(restored))
        # In a transaction of its own: the files are back whether or not this export
        # gets as far as its commit.
        with Session(session.get_bind()) as own, own.begin():
            if signed_by is not None and signed_by != batch.signed_by:
                own.execute(update(PartnerBatch).where(
                    PartnerBatch.batch_id == batch.batch_id).values(signed_by=signed_by))
            audit.record(own, actor=actor.name, action="batch.restored", target=batch.partner,
                         detail={"batch_id": batch.batch_id, "files": restored,
                                 "folder": str(folder), "signed_by": signed_by}, at=now)


def _manifest_texts(batch: PartnerBatch, manifest: Path) -> Iterator[bytes]:
    """What the batch's manifest may be, most likely first: its file, its part, the
    bytes rebuilt from the record."""
    for path in (manifest, part_of(manifest)):
        if path.exists():
            yield path.read_bytes()
    yield _rebuilt(batch)


def _not_whole(batch: PartnerBatch, folder: Path, why: str) -> Conflict:
    return Conflict(f"batch {batch.batch_id} is recorded but its files in {folder} are not "
                    f"whole ({why}): {batch.partner}'s batches stop here until they are "
                    "restored from a backup")


def _rebuilt(batch: PartnerBatch) -> bytes:
    return manifest_bytes(build_manifest(
        batch_id=batch.batch_id, partner=batch.partner, kind=batch.kind,
        from_seq=batch.from_seq, to_seq=batch.to_seq,
        previous_batch_id=batch.previous_batch_id,
        created_at=batch.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        counts=batch.counts, files=[FileEntry(**f) for f in batch.files]))


def _set_aside(path: Path, aside: Path) -> str:
    """Move ``path`` into ``aside`` under its own name (numbered if that is taken)."""
    target, n = aside / path.name, 1
    while target.exists():
        if _same_file(path, target):  # linked there by an earlier settle: drop this name
            path.unlink()
            return target.name
        target, n = aside / f"{path.name}.{n}", n + 1
    os.rename(path, target)
    return target.name
