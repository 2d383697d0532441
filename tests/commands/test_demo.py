"""`hub demo seed`: a deterministic data set through the real import path."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from hub.context import HubContext
from hub.core import demo
from hub.core.timeutil import court_date
from hub.db.models import ChangeEvent, Listing, Restriction
from hub.services.audit import verify
from hub.services.demo import seed
from tests.conftest import NOW, invoke


def test_seed_builds_a_varied_history(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    result = invoke(runner, "demo", "seed", "--subjects", "300", "--seed", "5")
    assert result.exit_code == 0, result.output
    with hub_ctx.sessions() as s:
        listings = s.scalar(select(func.count()).select_from(Listing))
        orders = s.scalar(select(func.count()).select_from(Restriction))
        types = set(s.scalars(select(ChangeEvent.type).distinct()))
        orgs = s.scalar(select(func.count()).select_from(Listing)
                        .where(Listing.subject_type == "organisation"))
    assert orgs
    assert listings
    assert listings > 200
    assert orders > listings  # every listing has an order, some subjects only an order
    assert {"listing.added", "listing.removed", "restriction.issued", "restriction.lifted",
            "restriction.exempted"} <= types
    assert verify(hub_ctx.engine).ok
    again = invoke(runner, "demo", "seed", "--if-empty")
    assert "skipped" in again.output


def test_same_seed_same_records(hub_ctx: HubContext) -> None:
    seed(hub_ctx.sessions, subjects=30, seed=9, now=NOW)
    with hub_ctx.sessions() as s:
        stored = [(r.listing_id, r.id_number, r.name) for r in
                  s.scalars(select(Listing).order_by(Listing.listing_id))]
    regenerated = [(r["listing_id"], r["id_number"], r["name"])
                   for kind, r in demo.generate(30, seed=9, today=court_date(NOW))
                   if kind == "listing"]
    assert stored == sorted(regenerated)
