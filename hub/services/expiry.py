"""Expiry: listings past their term and exemptions past their window end by themselves.

Idempotent: a second run finds nothing due, so the scheduler may run it as
often as it likes and a missed night is caught up by the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.timeutil import court_date
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent, Exemption, Listing
from hub.errors import Conflict, InvalidValue
from hub.services import registry
from hub.services.actors import Actor

EXPIRY_ACTOR = Actor("system:expiry")

#: Records handled per transaction: a long backlog never holds the log's lock for long.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    listings_expired: int
    exemptions_ended: int


def _due_listings(session: Session, today_: object) -> list[Listing]:
    # A listing expires the day after expires_on (DOMAIN.md §1). The counter applies the
    # same rule before this job runs (hub.services.checks.hits): change both together.
    stmt = (
        select(Listing)
        .where(Listing.status == "active", Listing.expires_on < today_)
        .order_by(Listing.expires_on, Listing.listing_id)
        .limit(CHUNK)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def _due_exemptions(session: Session, today_: object) -> list[Exemption]:
    stmt = (
        select(Exemption)
        .where(Exemption.status == "active", Exemption.until_date < today_)
        .order_by(Exemption.until_date, Exemption.id)
        .limit(CHUNK)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def check_as_of(factory: sessionmaker[Session], at: datetime, *, now: datetime) -> None:
    """Refuse an ``at`` (``hub expire --at``) that expiry may not act as of.

    An expiry cannot be undone (an expired listing is no longer corrected), so acting as
    of a future instant would end listings whose term still runs; and an instant before
    the change log's last event would stamp events earlier than those before them, so a
    partner replaying the log would see time go backwards.

    :raises InvalidValue: ``at`` is later than ``now``.
    :raises Conflict: ``at`` is earlier than the time of the log's last event.
    """
    if at > now:
        raise InvalidValue(f"{at.isoformat()} is in the future (now is "
                           f"{now.isoformat(timespec='seconds')}): expiring ahead of time "
                           "cannot be undone")
    with factory() as session:
        # The last event by seq, through the primary key: no scan of the whole log.
        last = session.execute(
            select(ChangeEvent.seq, ChangeEvent.at).order_by(ChangeEvent.seq.desc()).limit(1)
        ).first()
    if last is not None and at < last.at:
        raise Conflict(f"--at {at.isoformat()} is before the change log's last event "
                       f"(seq {last.seq}, at {last.at.isoformat()}): expiry events would "
                       "go back in time; give a later instant")


def run_expiry(factory: sessionmaker[Session], *, now: datetime) -> ExpiryReport:
    """Expire every due listing and end every due exemption, with one event each."""
    today_ = court_date(now)
    listings = exemptions = 0
    while True:
        with session_scope(factory) as session:
            due = _due_listings(session, today_)
            for listing in due:
                registry.expire_listing(session, listing, actor=EXPIRY_ACTOR, now=now)
            listings += len(due)
        if len(due) < CHUNK:
            break
    while True:
        with session_scope(factory) as session:
            ended = _due_exemptions(session, today_)
            for exemption in ended:
                registry.end_exemption(session, exemption, actor=EXPIRY_ACTOR, now=now)
            exemptions += len(ended)
        if len(ended) < CHUNK:
            break
    return ExpiryReport(listings, exemptions)
