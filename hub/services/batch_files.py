"""A batch's files on disk, kept in step with its record in the database.

The files and the record cannot change in one transaction, so the order makes a
crash at any point recoverable: the data file and the signature take their names
before the record's commit, the manifest (whose presence means "this batch is
whole", DESIGN.md §5) only after it. What an interrupted export leaves, its next
export of the partner settles (:func:`settle`) before writing anything: a batch
recorded but without its manifest gets it; files of a batch never recorded go to
the outbox's ``unrecorded`` folder, where nothing takes them, and the audit log
says so. A batch is therefore never both sent and unrecorded, nor recorded and
lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from hub.core.manifest import new_batch_id
from hub.db.models import PartnerBatch, PartnerProgress
from hub.errors import Conflict
from hub.services import audit
from hub.services.actors import Actor

log = logging.getLogger(__name__)

#: Where held batches wait, inside the outbox folder they were written for.
HELD_FOLDER: Final = "held"
#: Where settle() puts the files of batches that were never recorded.
UNRECORDED_FOLDER: Final = "unrecorded"
#: A file name's part that says it is not whole yet (or not yet recorded).
PART: Final = ".part"


def publish(tmp: Path, path: Path) -> None:
    """Give a written file its final name, refusing to replace a file already there."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise Conflict(f"{path} already exists: a batch of that name was written before; "
                       "it is left as it is") from None
    tmp.unlink()


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
        publish(part_of(self.manifest), self.manifest)
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


def settle(session: Session, partner: str, out_dir: Path, *, actor: Actor,
           now: datetime) -> None:
    """Finish or set aside what an interrupted export of ``partner`` left in ``out_dir``
    (and its held folder), and in the folder of its last batch (an export to another
    ``--out`` may be the one that was interrupted after its record). Run under the
    partner's export lock: no export of it is writing meanwhile, so whatever is not
    whole is left over."""
    stems = _stem_pattern(partner)
    unfinished = re.compile(rf"\.{re.escape(partner)}_(full|delta)_[0-9a-f]{{32}}\.")
    outboxes = [out_dir]
    progress = session.get(PartnerProgress, partner)
    last = session.get(PartnerBatch, progress.last_batch_id) if progress and \
        progress.last_batch_id else None
    if last is not None and last.folder is not None:
        folder = Path(last.folder)
        outbox = folder.parent if folder.name == HELD_FOLDER else folder
        if outbox != out_dir:
            outboxes.append(outbox)
    for outbox in outboxes:
        _settle_outbox(session, partner, outbox, stems, unfinished, actor=actor, now=now)


def _settle_outbox(session: Session, partner: str, out_dir: Path, stems: re.Pattern[str],
                   unfinished: re.Pattern[str], *, actor: Actor, now: datetime) -> None:
    for folder in (out_dir, out_dir / HELD_FOLDER):
        if not folder.is_dir():
            continue
        found: dict[re.Match[str], list[Path]] = {}
        by_stem: dict[str, re.Match[str]] = {}
        for path in folder.iterdir():
            if not path.is_file():
                continue
            if unfinished.match(path.name) and path.name.endswith(PART):
                path.unlink()  # a data file never finished: nothing names it
                log.warning("removed %s, left by an export that did not finish", path)
            elif match := stems.match(path.name):
                key = by_stem.setdefault(match[1], match)
                found.setdefault(key, []).append(path)
        for match, paths in found.items():
            _settle_batch(session, partner, folder, out_dir, match, paths, actor=actor, now=now)


def _settle_batch(session: Session, partner: str, folder: Path, out_dir: Path,
                  match: re.Match[str], paths: list[Path], *, actor: Actor,
                  now: datetime) -> None:
    stem, kind, from_seq, to_seq, stamp = match.groups()
    manifest = folder / f"{stem}.manifest.json"
    if manifest.exists():
        return  # whole
    created = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    batch_id = new_batch_id(partner, kind, int(from_seq), int(to_seq), created)
    batch = session.get(PartnerBatch, batch_id)
    part = part_of(manifest)
    if (batch is not None and batch.folder == str(folder) and part.exists()
            and hashlib.sha256(part.read_bytes()).hexdigest() == batch.manifest_sha256):
        Pending(manifest).complete()  # recorded: only the manifest's name was left to give
        log.warning("batch %s: its manifest published, which its export could not do", batch_id)
        return
    if batch is not None:
        log.error("batch %s is recorded but its files in %s are not whole; left as they are",
                  batch_id, folder)
        return
    aside = out_dir / UNRECORDED_FOLDER
    aside.mkdir(exist_ok=True)
    for path in paths:
        os.replace(path, aside / path.name.removeprefix(".").removesuffix(PART))
    names = sorted(p.name for p in paths)
    log.warning("batch %s was never recorded: its files %s moved to %s", batch_id, names, aside)
    audit.record(session, actor=actor.name, action="batch.unrecorded", target=partner,
                 detail={"batch_id": batch_id, "files": names, "moved_to": str(aside)}, at=now)
