"""Append-only, hash-chained audit log of staff, CLI and partner actions.

Each entry's hash covers its own content and the previous entry's hash, so an
edited, deleted or reordered row breaks the chain at the first place it was
touched; `hub audit verify` walks the chain and names that row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from hub.db.models import AuditEntry, Counter

GENESIS = "0" * 64

_audit = AuditEntry.__table__


def entry_hash(
    *, id: int, at: datetime, actor: str, action: str, target: str | None,
    detail: dict[str, Any], prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON of the entry, chained to ``prev_hash``."""
    canonical = orjson.dumps(
        {
            "id": id,
            # Normalised to UTC microseconds: the database may hand back another zone.
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "target": target,
            "detail": detail,
            "prev": prev_hash,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


def record(
    db: Session | Connection,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry in the caller's transaction; returns its id.

    The ``audit`` counter row is locked like the change-log counter, so two
    writers cannot both chain onto the same predecessor.
    """
    at = at or datetime.now(UTC)
    detail = detail or {}
    new_id = int(
        db.execute(
            update(Counter)
            .where(Counter.name == "audit")
            .values(value=Counter.value + 1)
            .returning(Counter.value)
        ).scalar_one()
    )
    prev = db.execute(select(AuditEntry.hash).where(AuditEntry.id == new_id - 1)).scalar()
    prev_hash = prev if prev is not None else GENESIS
    digest = entry_hash(
        id=new_id, at=at, actor=actor, action=action, target=target, detail=detail,
        prev_hash=prev_hash,
    )
    db.execute(
        insert(AuditEntry).values(
            id=new_id, at=at, actor=actor, action=action, target=target, detail=detail,
            prev_hash=prev_hash, hash=digest,
        )
    )
    return new_id


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of a chain walk: ``bad_id`` is the first row that does not hold."""

    checked: int
    bad_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad_id is None


def verify(engine: Engine) -> VerifyResult:
    """Walk the whole chain; stop at the first edited, missing or reordered row."""
    with engine.connect() as conn:
        expected_count = int(
            conn.execute(select(Counter.value).where(Counter.name == "audit")).scalar_one()
        )
        stmt = select(_audit).order_by(_audit.c.id).execution_options(yield_per=5000)
        result = conn.execute(stmt)
        try:
            return _walk(result, expected_count)
        finally:
            result.close()


def _walk(rows: Iterable[Any], expected_count: int) -> VerifyResult:
    prev_hash = GENESIS
    expected_id = 1
    checked = 0
    for row in rows:
        if row.id != expected_id:
            return VerifyResult(
                checked, expected_id, f"entry {expected_id} is missing (next is {row.id})"
            )
        if row.prev_hash != prev_hash:
            return VerifyResult(
                checked, row.id, "does not chain to the entry before it (reordered or replaced)"
            )
        digest = entry_hash(
            id=row.id, at=row.at, actor=row.actor, action=row.action, target=row.target,
            detail=row.detail, prev_hash=row.prev_hash,
        )
        if digest != row.hash:
            return VerifyResult(checked, row.id, "content does not match its hash (edited)")
        prev_hash = row.hash
        expected_id += 1
        checked += 1
    if checked != expected_count:
        return VerifyResult(
            checked, checked + 1,
            f"the log ends at entry {checked} but {expected_count} were written (tail deleted)",
        )
    return VerifyResult(checked)
