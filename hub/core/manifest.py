"""Batch manifests: the file names, the batch id and the exact bytes the hub signs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from hub.errors import InvalidValue

KINDS: Final = ("full", "delta")
_PARTNER_RE: Final = re.compile(r"[a-z][a-z0-9_]*")
_SHA256_RE: Final = re.compile(r"[0-9a-f]{64}")
#: Namespace of :func:`new_batch_id`. Never change it: partners acknowledge
#: batches by id, and a re-sent batch must keep the id it was first sent with.
BATCH_NAMESPACE: Final = uuid.UUID("f5ea32cc-c390-4c9d-b722-ce2593eb3e48")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One data file of a batch, as listed in its manifest."""

    name: str
    #: Size in bytes.
    bytes: int
    #: Lower-case hex SHA-256 of the file's bytes.
    sha256: str
    records: int
    #: The XSD file name for XML, else the format name (``jsonl``, ``csv``).
    schema: str


def batch_file_stem(partner: str, kind: str, from_seq: int, to_seq: int, created: datetime) -> str:
    """``<partner>_<full|delta>_<from>-<to>_<UTC yyyymmddThhmmssZ>``, without extension."""
    _check_batch(partner, kind, from_seq, to_seq)
    if created.tzinfo is None:
        raise ValueError("batch_file_stem needs an aware datetime")
    stamp = created.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{partner}_{kind}_{from_seq}-{to_seq}_{stamp}"


def new_batch_id(partner: str, kind: str, from_seq: int, to_seq: int, created: datetime) -> str:
    """The batch id: a UUIDv5 of the file stem, so the same batch always gets the same id.

    A UUID rather than the stem itself: it is opaque (partners key on it and
    do not parse it), of fixed length for their databases, and still one to
    one with the file names because it is derived from them.
    """
    stem = batch_file_stem(partner, kind, from_seq, to_seq, created)
    return str(uuid.uuid5(BATCH_NAMESPACE, stem))


def build_manifest(
    *,
    batch_id: str,
    partner: str,
    kind: str,
    from_seq: int,
    to_seq: int,
    previous_batch_id: str | None,
    created_at: str,
    counts: Mapping[str, int],
    files: Sequence[FileEntry],
) -> dict[str, Any]:
    """The manifest of DESIGN.md §5; ``from_seq`` is exclusive, ``to_seq`` inclusive."""
    _check_batch(partner, kind, from_seq, to_seq)
    for entry in files:
        if not _SHA256_RE.fullmatch(entry.sha256):
            raise InvalidValue(f"{entry.name}: sha256 must be 64 lower-case hex digits")
    return {
        "batch_id": batch_id,
        "partner": partner,
        "kind": kind,
        "from_seq": from_seq,
        "to_seq": to_seq,
        "previous_batch_id": previous_batch_id,
        "created_at": created_at,
        "counts": dict(counts),
        "files": [asdict(entry) for entry in files],
    }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The manifest file's bytes; the detached JWS is over exactly these."""
    return orjson.dumps(
        manifest,
        option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
    )


def _check_batch(partner: str, kind: str, from_seq: int, to_seq: int) -> None:
    if not _PARTNER_RE.fullmatch(partner):
        raise InvalidValue(f"partner id {partner!r} must match ^[a-z][a-z0-9_]*$")
    if kind not in KINDS:
        raise InvalidValue(f"batch kind {kind!r} is not one of {', '.join(KINDS)}")
    if not 0 <= from_seq <= to_seq:
        raise InvalidValue(f"sequence range {from_seq}-{to_seq} is not 0 <= from <= to")
