"""``GET /api/v1/changes``: cursor paging, projection per partner, the access record."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.core import demo
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent, PartnerAccess, PartnerProgress
from hub.services import registry
from tests.api.conftest import ADMIN, SignedClient, problem
from tests.conftest import invoke
from tests.samples import org_listing, org_restriction, person_listing

Signed = Callable[[str], SignedClient]
CHANGES = "/api/v1/changes"
TODAY = date(2026, 11, 25)


def add_records(ctx: HubContext, records: Iterator[tuple[str, dict[str, Any]]],
                count: int) -> None:
    """``count`` demo records, one transaction each, as clerks add them."""
    for _ in range(count):
        kind, raw = next(records)
        with session_scope(ctx.sessions) as session:
            if kind == "listing":
                registry.add_listing(session, raw, actor=ADMIN, now=datetime.now(UTC))
            else:
                registry.issue_restriction(session, raw, actor=ADMIN, now=datetime.now(UTC))


def page_all(client: SignedClient, after: int, sizes: Callable[[], int],
             until: Callable[[dict[str, Any], bool], bool],
             finished: Callable[[], bool] = lambda: True,
             high_waters: list[int] | None = None) -> tuple[list[int], dict[str, Any]]:
    """Page from ``after`` until ``until(page, writer finished before the request)``."""
    seqs: list[int] = []
    while True:
        was_finished = finished()
        response = client.get(CHANGES, query={"after": after, "limit": sizes()})
        assert response.status_code == 200, response.data
        page = response.json
        assert page is not None
        assert page["next_after"] <= page["high_water"]
        if high_waters is not None:
            high_waters.append(page["high_water"])
        seqs.extend(e["seq"] for e in page["events"])
        assert all(after < e["seq"] <= page["next_after"] for e in page["events"])
        after = page["next_after"]
        if until(page, was_finished):
            return seqs, page


def all_seqs(ctx: HubContext) -> list[int]:
    with ctx.sessions() as session:
        return list(session.scalars(select(ChangeEvent.seq).order_by(ChangeEvent.seq)))


@pytest.mark.parametrize("size", [1, 7, 1000, "random"])
def test_paging_to_high_water_yields_every_event_once_in_order(
        signed: Signed, hub_ctx: HubContext, size: int | str) -> None:
    add_records(hub_ctx, demo.generate(20, seed=5, today=TODAY), 30)
    rng = random.Random(size)
    sizes = (lambda: rng.randint(1, 12)) if size == "random" else (lambda: int(size))
    seqs, page = page_all(signed("ndrc"), 0, sizes,
                          lambda p, _f: p["next_after"] == p["high_water"])
    assert seqs == all_seqs(hub_ctx)
    assert page["high_water"] == seqs[-1] == 30


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_paging_while_another_writer_commits(signed: Signed, hub_ctx: HubContext) -> None:
    records = demo.generate(200, seed=11, today=TODAY)
    add_records(hub_ctx, records, 10)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            add_records(hub_ctx, records, 150)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    rng = random.Random(3)
    client = signed("ndrc")
    high_waters: list[int] = []
    # Keep paging while the writer runs, then until the cursor reaches the final high water.
    seqs, _page = page_all(client, 0, lambda: rng.randint(1, 9),
                           lambda p, finished: finished and p["next_after"] == p["high_water"],
                           done.is_set, high_waters)
    thread.join()
    assert not errors, errors
    expected = all_seqs(hub_ctx)
    assert len(expected) == 160
    assert seqs == expected
    # The reader really ran beside the writer: it saw the high water move.
    assert len(set(high_waters)) > 3


def test_events_are_projected_for_the_caller(signed: Signed, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=ADMIN, now=datetime.now(UTC))
        registry.issue_restriction(s, org_restriction(), actor=ADMIN, now=datetime.now(UTC))
    ndrc = signed("ndrc").get(CHANGES).json
    travelsky = signed("travelsky").get(CHANGES).json
    assert ndrc is not None
    assert travelsky is not None
    assert [e["type"] for e in ndrc["events"]] == ["listing.added", "restriction.issued"]
    assert ndrc["events"][0]["rows"][0]["obligation"] == "支付货款人民币1200000元"
    # A flight partner gets no listings and, for an organisation's order, one row per
    # person it binds, without the fields it may not see.
    assert [e["type"] for e in travelsky["events"]] == ["restriction.issued"]
    (row,) = travelsky["events"][0]["rows"]
    assert row["id_number"] == "320102197907040241"
    assert row["role"] == "legal_representative"
    assert "obligation" not in row
    assert "legal_representative" not in row
    # Both cursors moved over both events, concerned or not.
    assert ndrc["next_after"] == travelsky["next_after"] == ndrc["high_water"] == 2
    # Each page names the projection it is in: the caller's own.
    adapters = load_adapters(hub_ctx.settings)
    assert ndrc["shape"] == adapters["ndrc"].shape_digest()
    assert travelsky["shape"] == adapters["travelsky"].shape_digest() != ndrc["shape"]


def test_a_page_is_recorded_in_the_access_record(signed: Signed, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=ADMIN, now=datetime.now(UTC))
    client = signed("ndrc")
    assert client.get(CHANGES, query={"after": 0}).status_code == 200
    assert client.get(CHANGES, query={"after": 1}).status_code == 200  # nothing new: no row
    with hub_ctx.sessions() as session:
        rows = session.scalars(select(PartnerAccess)).all()
        assert [(r.partner, r.endpoint, r.from_seq, r.to_seq, r.count) for r in rows] == [
            ("ndrc", "changes", 0, 1, 1)]


def test_what_a_partner_was_handed_is_its_delivered_seq(
        signed: Signed, hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    """DESIGN.md §2: an operator reads how far each partner got; delivered_seq stayed 0
    after a partner had paged and acknowledged everything."""
    with session_scope(hub_ctx.sessions) as s:
        for n in range(3):
            registry.add_listing(s, person_listing(listing_id=f"L-2024-00000{n + 1}"),
                                 actor=ADMIN, now=datetime.now(UTC))
    ndrc, pbc = signed("ndrc"), signed("pbc")
    assert ndrc.get(CHANGES, query={"after": 0, "limit": 2}).json["next_after"] == 2
    assert ndrc.get(CHANGES, query={"after": 0, "limit": 1}).status_code == 200  # a re-read
    assert pbc.get("/api/v1/snapshot").status_code == 200
    with hub_ctx.sessions() as session:
        got = {p.partner: p.delivered_seq for p in session.scalars(select(PartnerProgress))}
    assert got == {"ndrc": 2, "pbc": 3}
    assert ndrc.post("/api/v1/acks", json={"through_seq": 3}).status_code == 200
    result = invoke(runner, "partners", "status", "ndrc")
    assert result.exit_code == 0, result.output
    header, line = result.output.splitlines()
    assert header.split() == ["ID", "EXPORTED", "DELIVERED", "ACKED", "LAG", "HELD", "LAST",
                              "BATCH"]
    assert line.split() == ["ndrc", "0", "3", "3", "0", "0", "-"]
    lagging = invoke(runner, "partners", "status").output
    assert next(row for row in lagging.splitlines() if row.startswith("pbc ")).split() == [
        "pbc", "0", "3", "0", "3", "0", "-"]
    assert invoke(runner, "partners", "status", "nope").exit_code == 1


@pytest.mark.parametrize(("query", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"after": -1}, "after"),
    ({"after": "x"}, "after"), ({"after": "५"}, "after"), ({"after": " 5"}, "after"),
    ({"after": "5_0"}, "after"), ({"limit": "+5"}, "limit"),
])
def test_bad_query_names_the_field(signed: Signed, query: dict[str, Any], field: str) -> None:
    body = problem(signed("ndrc").get(CHANGES, query=query))
    assert body["status"] == 422
    assert field in body["errors"]
    assert field in body["detail"]


@pytest.mark.parametrize("after", [0, 2])  # the old state in the same page, or before it
def test_a_row_that_leaves_the_scope_is_withdrawn(signed: Signed, hub_ctx: HubContext,
                                                  after: int) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=ADMIN, now=datetime.now(UTC))
        registry.issue_restriction(s, org_restriction(), actor=ADMIN, now=datetime.now(UTC))
    with session_scope(hub_ctx.sessions) as s:
        registry.correct_restriction(s, "R-2024-000002", {"bound_persons": [
            {"name": "王芳", "id_number": "11010519491231002X", "role": "legal_representative"}]},
            reason="data_inaccurate", actor=ADMIN, now=datetime.now(UTC))
    page = signed("travelsky").get(CHANGES, query={"after": after}).json
    assert page is not None
    corrected = page["events"][-1]
    assert corrected["type"] == "restriction.corrected"
    rows = {r["record_key"]: r for r in corrected["rows"]}
    new = rows["R-2024-000002#legal_representative#11010519491231002X"]
    old = rows["R-2024-000002#legal_representative#320102197907040241"]
    assert new["status"] == "active"
    assert (old["status"], old["status_reason"], old["name"]) == ("withdrawn", "out_of_scope",
                                                                  None)


def test_an_event_that_changes_none_of_a_partners_rows_is_not_sent(
        app: Any, records: HubContext) -> None:
    """cnta takes persons' orders but not their exemptions: an exemption granted for an
    illness changes none of its rows, so the event (typed restriction.exempted, with the
    reason illness) is not sent to it; travelsky, which sees exemptions, gets it."""
    from datetime import timedelta

    import orjson

    from hub.core.timeutil import court_date
    from tests.api.conftest import client_of
    today = court_date(datetime.now(UTC))
    with session_scope(records.sessions) as s:
        registry.grant_exemption(s, "R-2024-000001", {
            "person": "110105198503150019", "categories": ["C1"],
            "from": today.isoformat(), "until": (today + timedelta(days=5)).isoformat(),
            "reason": "illness"}, actor=ADMIN, now=datetime.now(UTC))

    def events(partner: str) -> list[dict[str, Any]]:
        response = client_of(app, records, partner).get(CHANGES, query={"after": 4})
        assert response.status_code == 200, response.data
        page = orjson.loads(response.data)
        assert page["next_after"] == page["high_water"] == 5  # the cursor moves on
        return list(page["events"])

    assert events("cnta") == []
    (exempted,) = events("travelsky")
    assert (exempted["type"], exempted["reason"]) == ("restriction.exempted", "illness")


def test_a_person_released_then_corrected_off_the_order_is_not_withdrawn_again(
        signed: Signed, hub_ctx: HubContext) -> None:
    """The railway deleted the released person's row when told of the release; the
    correction that then drops the person from the order has nothing to withdraw."""
    keep = {"name": "李娜", "id_number": "320102197907040241", "role": "legal_representative"}
    drop = {"name": "王强", "id_number": "110105198503150019", "role": "actual_controller"}
    with session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, org_restriction(listing_id=None,
                                                      bound_persons=[keep, drop]),
                                   actor=ADMIN, now=datetime.now(UTC))
    with session_scope(hub_ctx.sessions) as s:
        registry.release_person(s, "R-2024-000002", drop["id_number"],
                                reason="representative_replaced", actor=ADMIN,
                                now=datetime.now(UTC))
    with session_scope(hub_ctx.sessions) as s:
        registry.correct_restriction(s, "R-2024-000002", {"bound_persons": [keep]},
                                     reason="data_inaccurate", actor=ADMIN,
                                     now=datetime.now(UTC))
    dropped = f"R-2024-000002#actual_controller#{drop['id_number']}"
    for after in (0, 2):  # the release in the same page, or before it
        page = signed("railway").get(CHANGES, query={"after": after}).json
        assert page is not None
        by_type = {e["type"]: e for e in page["events"]}
        if after == 0:
            assert [(r["record_key"], r["status"])
                    for r in by_type["restriction.person_released"]["rows"]
                    if r["record_key"] == dropped] == [(dropped, "released")]
        corrected = by_type.get("restriction.corrected")
        rows = corrected["rows"] if corrected else []
        assert [r for r in rows if r["record_key"] == dropped] == []
