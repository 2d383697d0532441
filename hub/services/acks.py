"""Partner acknowledgements: ``acked_seq`` moves forward only, and never past what exists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from hub.db.models import PartnerBatch, PartnerProgress
from hub.errors import Conflict, NotFound
from hub.services import audit
from hub.services.batch_files import UNACKNOWLEDGED
from hub.services.feed import high_water
from hub.services.progress import locked_progress, mark_delivered


def acknowledge(session: Session, partner: str, *, through_seq: int | None = None,
                batch_id: str | None = None, now: datetime) -> PartnerProgress:
    """Record that ``partner`` holds everything through ``through_seq`` (or a batch's end).

    An ack below the current ``acked_seq`` is accepted and changes nothing (a
    late retry); one beyond the high-water mark is refused.

    :raises NotFound: a batch that does not exist or is another partner's.
    :raises Conflict: ``through_seq`` beyond the change log's high-water mark.
    """
    if (through_seq is None) == (batch_id is None):
        raise ValueError("give through_seq or batch_id, not both")
    if batch_id is not None:
        batch = session.get(PartnerBatch, batch_id)
        # Another partner's batch is reported as missing: its id says nothing to this caller.
        if batch is None or batch.partner != partner:
            raise NotFound(f"no batch {batch_id}")
        through_seq = batch.to_seq
    if through_seq is None:  # unreachable: checked above; narrows the type without assert
        raise ValueError("give through_seq or batch_id")
    top = high_water(session)
    if through_seq > top:
        raise Conflict(f"through_seq {through_seq} is beyond the high-water mark {top}")
    progress = locked_progress(session, partner)
    # A partner that holds everything through a seq holds every batch ending there or
    # before, whichever way it said so (a later batch's id, a seq from /changes). A held
    # batch stays held: it was never sent, and its release is still an operator's.
    session.execute(update(PartnerBatch).where(
        PartnerBatch.partner == partner, PartnerBatch.to_seq <= through_seq,
        PartnerBatch.status.in_(UNACKNOWLEDGED),
    ).values(status="acknowledged"))
    # Held through a seq: handed it, whichever way (a batch file taken by hand, say).
    mark_delivered(session, partner, through_seq)
    if through_seq > progress.acked_seq:
        before = progress.acked_seq
        progress.acked_seq = through_seq
        session.flush()
        audit.record(session, actor=f"partner:{partner}", action="partner.ack", target=partner,
                     detail={"from": before, "to": through_seq, "batch_id": batch_id}, at=now)
    return progress
