"""Demo data: synthetic records through the real import path, then some history.

The records come from the pure generator in hub.core.demo; they are imported
exactly as a court system's file would be, then a few removals, lifts,
releases and exemptions give the change log every kind of event.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.core import demo
from hub.core.codes import LIFT_REASONS, REMOVAL_REASONS
from hub.core.timeutil import court_date
from hub.db.engine import session_scope
from hub.db.models import Listing, Restriction
from hub.services import registry
from hub.services.actors import Actor
from hub.services.importer import ImportReport, import_records

DEMO_ACTOR = Actor("demo:seed")


@dataclass(frozen=True, slots=True)
class SeedReport:
    listings: ImportReport
    restrictions: ImportReport
    history_events: int


def is_empty(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return not session.scalar(select(func.count()).select_from(Listing))


def seed(
    factory: sessionmaker[Session], *, subjects: int, seed: int, now: datetime
) -> SeedReport:
    today = court_date(now)
    with tempfile.TemporaryDirectory(prefix="hub-demo-") as tmp:
        listings_path = Path(tmp) / "listings.jsonl"
        restrictions_path = Path(tmp) / "restrictions.jsonl"
        with listings_path.open("wb") as lf, restrictions_path.open("wb") as rf:
            for kind, record in demo.generate(subjects, seed=seed, today=today):
                out = lf if kind == "listing" else rf
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        listings = import_records(factory, listings_path, kind="listing", actor=DEMO_ACTOR,
                                  now=now)
        restrictions = import_records(factory, restrictions_path, kind="restriction",
                                      actor=DEMO_ACTOR, now=now)
    return SeedReport(listings, restrictions, _history(factory, seed=seed, now=now))


def _history(factory: sessionmaker[Session], *, seed: int, now: datetime) -> int:
    """Exits, releases and exemptions on a few percent of the records."""
    rng = random.Random(seed)
    today = court_date(now)
    events = 0
    with session_scope(factory) as session:
        listing_ids = list(session.scalars(
            select(Listing.listing_id).where(Listing.status == "active")
            .order_by(Listing.listing_id)
        ))
        for listing_id in rng.sample(listing_ids, k=len(listing_ids) // 20):
            registry.remove_listing(session, listing_id, reason=rng.choice(REMOVAL_REASONS),
                                    actor=DEMO_ACTOR, now=now)
            events += 1
        orders = list(session.scalars(
            select(Restriction).where(Restriction.status == "active")
            .order_by(Restriction.order_id)
        ))
        sample = rng.sample(orders, k=len(orders) // 20)
        for r in sample[: len(sample) // 3]:
            registry.lift_restriction(session, r.order_id, reason=rng.choice(LIFT_REASONS),
                                      actor=DEMO_ACTOR, now=now)
            events += 1
        for r in sample[len(sample) // 3:]:
            person = r.bound_persons[0].id_number if r.bound_persons else r.id_number
            categories = [c for c in ("C1", "C9") if c in r.categories]
            if not categories:
                continue
            start = today + timedelta(days=rng.randint(0, 5))
            registry.grant_exemption(session, r.order_id, {
                "person": person, "categories": categories, "from": start.isoformat(),
                "until": (start + timedelta(days=rng.randint(1, 20))).isoformat(),
                "reason": rng.choice(("illness", "funeral", "official_duty", "exam")),
            }, actor=DEMO_ACTOR, now=now)
            events += 1
    return events
