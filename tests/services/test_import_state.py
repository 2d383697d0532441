"""The bulk import writes the same event states as the registry's state functions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from hub.context import HubContext
from hub.core.records import listing_state
from hub.db.models import ChangeEvent, Listing, Restriction
from hub.services import registry
from hub.services.actors import Actor
from hub.services.importer import import_records
from tests.commands.test_import import write_jsonl
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction, person_listing


def test_imported_states_equal_state_functions(hub_ctx: HubContext, tmp_path: Path) -> None:
    actor = Actor("cli:t")
    listings = [person_listing(travel_documents=[{"type": "passport", "number": "E12345678"}]),
                org_listing()]
    for kind, records in (("listing", listings), ("restriction", [org_restriction()])):
        report = import_records(hub_ctx.sessions, write_jsonl(tmp_path / f"{kind}.jsonl", records),
                                kind=kind, actor=actor, now=NOW)
        assert report.committed
    with hub_ctx.sessions() as s:
        logged = {(e.record_kind, e.record_key): e.state for e in s.scalars(select(ChangeEvent))}
        for listing in s.scalars(select(Listing)):
            assert logged["listing", listing.listing_id] == listing_state(
                registry.listing_values(listing))
        for order in s.scalars(select(Restriction)):
            assert logged["restriction", order.order_id] == registry.current_restriction_state(
                order)
