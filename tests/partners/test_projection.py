"""Projection: data minimisation and the expansion of organisations to bound persons."""

from __future__ import annotations

from typing import Any

import pytest

from hub.config.partners import adapter_for, default_partners_dir, load_partners
from hub.core.identifiers import resident_id_check_char
from hub.core.records import listing_state, restriction_state
from hub.core.rules import validate_listing, validate_restriction
from hub.partners.base import PartnerAdapter
from hub.partners.fields import ALWAYS_FIELDS, PROJECTED_FIELDS
from hub.partners.projection import withdrawn
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction, person_listing

TODAY = NOW.date()
ORG_ONLY = ("legal_representative", "subject_type")


@pytest.fixture(scope="module")
def adapters() -> dict[str, PartnerAdapter]:
    return {pid: adapter_for(c) for pid, c in load_partners(default_partners_dir()).items()}


def _listing(raw: dict[str, Any]) -> dict[str, Any]:
    return listing_state({**validate_listing(raw, today=TODAY), "status": "active",
                          "status_reason": None})


def _order(raw: dict[str, Any], exemptions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    v = validate_restriction(raw, today=TODAY)
    return restriction_state({**v, "status": "active", "status_reason": None},
                             v["bound_persons"], exemptions or [])


EXEMPTION = {"id": 1, "person": "320102197907040241", "categories": ["C1"], "from": "2026-11-25",
             "until": "2026-12-01", "reason": "illness", "status": "active"}


def test_person_only_partner_gets_bound_persons_not_the_organisation(
    adapters: dict[str, PartnerAdapter],
) -> None:
    railway = adapters["railway"]
    rows = railway.project("restriction", _order(org_restriction(), [EXEMPTION]))
    assert [(r["record_key"], r["id_number"], r["role"]) for r in rows] == [
        ("R-2024-000002#legal_representative#320102197907040241", "320102197907040241",
         "legal_representative")]
    row = rows[0]
    assert row["name"] == "李娜"  # the person's name, never the company's
    assert "北京某某贸易有限公司" not in repr(row)
    assert "91110105MA01ABCD5F" not in repr(row)
    assert not set(ORG_ONLY) & set(row)
    assert row["exemptions"] == [EXEMPTION]  # rail sees the exemption window
    assert railway.project("listing", _listing(org_listing())) == []  # firms are not persons


def test_fields_outside_scope_never_appear(adapters: dict[str, PartnerAdapter]) -> None:
    states = [("listing", _listing(person_listing())), ("listing", _listing(org_listing())),
              ("restriction", _order(org_restriction(), [EXEMPTION]))]
    for adapter in adapters.values():
        allowed = set(ALWAYS_FIELDS) | set(adapter.config.scope.fields)
        for kind, state in states:
            for row in adapter.project(kind, state):
                assert set(row) <= allowed, adapter.id
                assert set(row) - set(ALWAYS_FIELDS) <= set(PROJECTED_FIELDS)


def test_exemptions_reach_only_flight_and_rail(adapters: dict[str, PartnerAdapter]) -> None:
    order = _order(org_restriction(), [EXEMPTION])
    for adapter in adapters.values():
        sees = any(r.get("exemptions") for r in adapter.project("restriction", order))
        measures = set(adapter.config.measures)
        if sees:
            assert measures & {"flight", "rail", "locate_and_query", "criminal_referral",
                               "credit_reporting"}, adapter.id
    assert any(r["exemptions"] for r in adapters["travelsky"].project("restriction", order))


def test_a_lifting_of_categories_a_partner_does_not_enforce_never_reaches_it(
    adapters: dict[str, PartnerAdapter],
) -> None:
    """An airline shown a high-speed-rail lifting learns a person's illness it cannot
    act on, and might read "has an exemption" as "may fly"."""
    rail_only = {**EXEMPTION, "id": 2, "categories": ["C9"], "reason": "funeral"}
    order = _order(org_restriction(), [EXEMPTION, rail_only])
    [airline] = adapters["travelsky"].project("restriction", order)
    assert airline["exemptions"] == [EXEMPTION]
    assert "funeral" not in repr(airline)
    [rail] = adapters["railway"].project("restriction", order)
    assert rail["exemptions"] == [EXEMPTION, rail_only]
    # A partner that enforces no consumption measure of its own sees every lifting.
    [platform] = adapters["ndrc"].project("restriction", order)
    assert len(platform["exemptions"]) == 2


def test_released_person_and_withdrawn_rows(adapters: dict[str, PartnerAdapter]) -> None:
    order = _order(org_restriction())
    order["bound_persons"][0]["released_on"] = "2026-11-25"
    order["bound_persons"][0]["release_reason"] = "representative_replaced"
    [row] = adapters["railway"].project("restriction", order)
    assert (row["status"], row["status_reason"]) == ("released", "representative_replaced")
    gone = withdrawn(row)
    assert gone["status"] == "withdrawn"
    assert gone["record_key"] == row["record_key"]
    assert gone["id_number"] is None


def test_railway_ignores_orders_without_rail_categories(
    adapters: dict[str, PartnerAdapter],
) -> None:
    assert adapters["railway"].project("restriction",
                                       _order(org_restriction(categories=["C3", "C5"]))) == []
    assert adapters["railway"].project("restriction",
                                       _order(org_restriction(categories=["C9"])))


def test_ndrc_labels_codes(adapters: dict[str, PartnerAdapter]) -> None:
    [row] = adapters["ndrc"].project("listing", _listing(org_listing()))
    assert row["behaviours"][0].startswith("B3 ")


def _second_person_id() -> str:
    first17 = "11010519900101123"
    return first17 + resident_id_check_char(first17)


def test_ended_exemptions_never_reach_partners(adapters: dict[str, PartnerAdapter]) -> None:
    """An ended exemption no longer lets anyone travel: a partner shown it would wave the
    person through a gate the court has closed again."""
    ended = {**EXEMPTION, "id": 2, "from": "2026-11-01", "until": "2026-11-10",
             "reason": "funeral", "status": "ended"}
    order = _order(org_restriction(), [EXEMPTION, ended])
    [person_row] = adapters["railway"].project("restriction", order)
    assert person_row["exemptions"] == [EXEMPTION]
    # A partner that gets the organisation's own row, exemptions included (mps).
    mps = adapters["mps"]
    assert "exemptions" in mps.config.scope.fields
    assert "organisation" in mps.config.scope.subjects
    [order_row] = mps.project("restriction", order)
    assert order_row["record_key"] == "R-2024-000002"
    assert order_row["exemptions"] == [EXEMPTION]


def test_a_person_never_sees_another_persons_exemption(
    adapters: dict[str, PartnerAdapter],
) -> None:
    """An exemption is one person's: shown on another bound person's row, it would let
    the railway sell a ticket to someone the court still restricts."""
    other = _second_person_id()
    order = _order(org_restriction(bound_persons=[
        {"name": "李娜", "id_number": "320102197907040241", "role": "legal_representative"},
        {"name": "王强", "id_number": other, "role": "main_responsible"},
    ]), [EXEMPTION])
    rows = adapters["railway"].project("restriction", order)
    assert [(r["id_number"], r["exemptions"]) for r in rows] == [
        ("320102197907040241", [EXEMPTION]), (other, [])]
