"""A partner's progress row: how far its batches, deliveries and acknowledgements reached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.db.models import PartnerBatch, PartnerProgress
from hub.services.feed import high_water


def locked_progress(session: Session, partner: str) -> PartnerProgress:
    """The partner's progress row, locked until ``session``'s transaction ends.

    Created if need be by an insert that yields to a concurrent one, so the first
    export and the first acknowledgement of a partner cannot both create it (one
    would fail on the key)."""
    session.execute(_insert(session)(PartnerProgress).values(
        partner=partner, exported_seq=0, delivered_seq=0, acked_seq=0, records=0,
    ).on_conflict_do_nothing(index_elements=["partner"]))
    progress = session.get(PartnerProgress, partner, with_for_update=True,
                           populate_existing=True)
    if progress is None:  # inserted above or there before; narrows the type
        raise RuntimeError(f"no progress row for {partner!r} after inserting it")
    return progress


def _insert(db: Session | Connection) -> Any:
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect.name
    return pg_insert if dialect == "postgresql" else sqlite_insert


def mark_delivered(db: Session | Connection, partner: str, seq: int) -> None:
    """The partner has been handed the log through ``seq`` (a page, a snapshot, a batch
    it acknowledged): ``delivered_seq`` moves forward only. One statement, whether the
    row is there or not, and it writes nothing for a page read again."""
    stmt = _insert(db)(PartnerProgress).values(
        partner=partner, exported_seq=0, delivered_seq=seq, acked_seq=0, records=0)
    db.execute(stmt.on_conflict_do_update(
        index_elements=["partner"], set_={"delivered_seq": stmt.excluded.delivered_seq},
        where=PartnerProgress.delivered_seq < stmt.excluded.delivered_seq))


@dataclass(frozen=True, slots=True)
class Progress:
    """What an operator reads first about a partner (DESIGN.md §2)."""

    partner: str
    exported_seq: int
    delivered_seq: int
    acked_seq: int
    #: High-water seq - acked_seq.
    lag: int
    held_batches: int
    last_batch_id: str | None


def progress_report(session: Session, partners: list[str]) -> list[Progress]:
    """Each partner's progress, zeros for one the hub has not served yet."""
    top = high_water(session)
    rows = {p.partner: p for p in session.scalars(
        select(PartnerProgress).where(PartnerProgress.partner.in_(partners)))}
    held = {partner: int(count) for partner, count in session.execute(
        select(PartnerBatch.partner, func.count()).where(
            PartnerBatch.partner.in_(partners), PartnerBatch.status == "held")
        .group_by(PartnerBatch.partner))}
    out = []
    for partner in partners:
        row = rows.get(partner)
        acked = row.acked_seq if row else 0
        out.append(Progress(partner, row.exported_seq if row else 0,
                            row.delivered_seq if row else 0, acked, top - acked,
                            held.get(partner, 0), row.last_batch_id if row else None))
    return out
