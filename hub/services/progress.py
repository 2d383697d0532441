"""A partner's progress row: how far its batches, deliveries and acknowledgements reached."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.db.models import PartnerProgress


def locked_progress(session: Session, partner: str) -> PartnerProgress:
    """The partner's progress row, locked until ``session``'s transaction ends.

    Created if need be by an insert that yields to a concurrent one, so the first
    export and the first acknowledgement of a partner cannot both create it (one
    would fail on the key)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(PartnerProgress).values(
        partner=partner, exported_seq=0, delivered_seq=0, acked_seq=0, records=0,
    ).on_conflict_do_nothing(index_elements=["partner"]))
    progress = session.get(PartnerProgress, partner, with_for_update=True,
                           populate_existing=True)
    if progress is None:  # inserted above or there before; narrows the type
        raise RuntimeError(f"no progress row for {partner!r} after inserting it")
    return progress
