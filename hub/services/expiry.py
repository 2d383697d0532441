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
from hub.db.models import Exemption, Listing
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
