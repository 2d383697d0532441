"""``POST /api/v1/checks``: the real-time interception path at the counter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.core.identifiers import resident_id_check_char
from hub.core.subjects import legacy_subject_hash
from hub.core.timeutil import court_date
from hub.db.engine import session_scope
from hub.db.models import PartnerAccess
from hub.services import registry
from hub.services.access import who_received
from tests.api.conftest import ADMIN, SignedClient, client_of, problem
from tests.conftest import invoke
from tests.samples import org_listing, org_restriction, person_restriction

Signed = Callable[[str], SignedClient]
CHECKS = "/api/v1/checks"
PERSON = "110105198503150019"
ORG = "91110105MA01ABCD5F"
REPRESENTATIVE = "320102197907040241"
UNLISTED = "11010519491231002X"


def check(client: SignedClient, *ids: str) -> dict[str, list[dict[str, Any]]]:
    response = client.post(CHECKS, json={"subjects": [{"id_number": i} for i in ids]})
    assert response.status_code == 200, response.data
    assert response.json is not None
    return {r["id_number"]: r["matches"] for r in response.json["results"]}


def test_an_active_listing_is_found_by_id(signed: Signed, records: HubContext) -> None:
    found = check(signed("ndrc"), PERSON, UNLISTED)
    assert found[UNLISTED] == []
    kinds = {(m["record_type"], m["record_key"], m["matched_as"]) for m in found[PERSON]}
    assert kinds == {("listing", "L-2024-000001", "subject"),
                     ("restriction", "R-2024-000001", "subject")}
    listing = next(m for m in found[PERSON] if m["record_type"] == "listing")
    assert listing["status"] == "active"
    # A listing implies every joint sanction of the caller.
    assert listing["measures"] == ["credit_reporting", "bond_issuance", "public_procurement",
                                   "gov_subsidy", "publicity"]


def test_a_bound_person_is_found_with_their_role(signed: Signed, records: HubContext) -> None:
    (match,) = check(signed("travelsky"), REPRESENTATIVE)[REPRESENTATIVE]
    assert match["matched_as"] == "bound_person"
    assert match["role"] == "legal_representative"
    assert match["record_key"].startswith("R-2024-000002")
    assert match["measures"] == ["flight"]
    # The organisation itself is no business of a person-only partner.
    assert check(signed("travelsky"), ORG)[ORG] == []


def test_a_person_bound_in_two_roles_is_found_in_each(
        signed: Signed, records: HubContext) -> None:
    """The legal representative who is also the actual controller: each binding is its
    own match with its own role (the last role listed was given to both)."""
    with session_scope(records.sessions) as s:
        registry.issue_restriction(s, org_restriction(order_id="R-2024-000009", bound_persons=[
            {"name": "李娜", "id_number": REPRESENTATIVE, "role": "legal_representative"},
            {"name": "李娜", "id_number": REPRESENTATIVE, "role": "actual_controller"},
        ]), actor=ADMIN, now=datetime.now(UTC))
    for partner in ("travelsky", "ndrc"):
        found = check(signed(partner), REPRESENTATIVE)[REPRESENTATIVE]
        roles = sorted((m["record_key"], m["role"]) for m in found
                       if m["record_key"].startswith("R-2024-000009"))
        if partner == "travelsky":  # one row per binding, each with its own role
            assert roles == [
                ("R-2024-000009#actual_controller#" + REPRESENTATIVE, "actual_controller"),
                ("R-2024-000009#legal_representative#" + REPRESENTATIVE,
                 "legal_representative")]
        else:  # the organisation's row, matched once per binding
            assert roles == [("R-2024-000009", "actual_controller"),
                             ("R-2024-000009", "legal_representative")]


@pytest.mark.parametrize("path", [CHECKS, "/api/v1/acks"])
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_under_another_content_type_is_told_so(
        signed: Signed, records: HubContext, path: str, content_type: str | None) -> None:
    """A right body sent with curl's default type was answered "subjects: Missing data
    for required field" (or "not a JSON object"): a partner's engineer looked for the
    mistake in the body."""
    client = signed("ndrc")
    body = b'{"subjects": [{"id_number": "%s"}]}' % PERSON.encode()
    headers = {"Authorization": f"Bearer {client.token('POST', path, body)}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.client.post(path, data=body, headers=headers)
    assert response.status_code == 415
    assert "Content-Type: application/json" in problem(response)["detail"]


def test_nothing_is_found_after_a_removal(signed: Signed, records: HubContext) -> None:
    client = signed("ndrc")
    assert check(client, PERSON)[PERSON]
    now = datetime.now(UTC)
    with session_scope(records.sessions) as s:
        registry.remove_listing(s, "L-2024-000001", reason="performed", actor=ADMIN, now=now)
        registry.lift_restriction(s, "R-2024-000001", reason="performed", actor=ADMIN, now=now)
    assert check(client, PERSON)[PERSON] == []
    assert check(signed("travelsky"), PERSON)[PERSON] == []


def test_an_exempted_person_shows_the_exemption(signed: Signed, records: HubContext) -> None:
    today = court_date(datetime.now(UTC))
    with session_scope(records.sessions) as s:
        registry.grant_exemption(s, "R-2024-000002", {
            "person": REPRESENTATIVE, "categories": ["C1"], "from": today.isoformat(),
            "until": (today + timedelta(days=5)).isoformat(), "reason": "illness",
        }, actor=ADMIN, now=datetime.now(UTC))
    (flight,) = check(signed("travelsky"), REPRESENTATIVE)[REPRESENTATIVE]
    (exemption,) = flight["exemptions"]
    assert exemption["categories"] == ["C1"]
    assert exemption["until"] == (today + timedelta(days=5)).isoformat()
    # Exempted from flights: the airline must let them board.
    assert flight["measures"] == []
    # High-speed rail (C9) is still restricted for the railway.
    (rail,) = check(signed("railway"), REPRESENTATIVE)[REPRESENTATIVE]
    assert rail["exemptions"] == [exemption]
    assert rail["measures"] == ["rail"]


def test_each_id_is_answered_in_the_order_and_form_asked(signed: Signed,
                                                         records: HubContext) -> None:
    """A counter pairs answers with its list by position or by its own string: a
    full-width, spaced or lower-case ID finds the record and keeps its own form, and
    an ID asked twice is answered twice (the access record counts it once)."""
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in PERSON)
    sent = [full_width, UNLISTED.lower(), PERSON, f" {UNLISTED} "]
    response = signed("ndrc").post(CHECKS, json={"subjects": [{"id_number": i}
                                                             for i in sent]})
    assert response.status_code == 200, response.data
    results = response.json["results"]
    assert [r["id_number"] for r in results] == sent
    assert results[0]["matches"]
    assert results[0]["matches"] == results[2]["matches"]
    assert results[1]["matches"] == results[3]["matches"] == []
    with records.sessions() as session:
        (access,) = session.scalars(select(PartnerAccess)).all()
        assert (access.count, access.hits) == (2, 1)


def test_more_than_1000_ids_are_refused(signed: Signed) -> None:
    body = problem(signed("ndrc").post(
        CHECKS, json={"subjects": [{"id_number": str(i)} for i in range(1001)]}))
    assert body["status"] == 422
    assert "subjects" in body["errors"]


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "subjects"), ({"subjects": []}, "subjects"),
    ({"subjects": [{"id": "x"}]}, "subjects.0.id_number"),
    ({"subjects": "110105198503150019"}, "subjects"),
])
def test_malformed_body_names_the_field(signed: Signed, payload: dict[str, Any],
                                        field: str) -> None:
    body = problem(signed("ndrc").post(CHECKS, json=payload))
    assert body["status"] == 422
    assert field in body["errors"]
    assert field in body["detail"]


def test_checks_are_in_the_access_record(signed: Signed, records: HubContext) -> None:
    check(signed("travelsky"), REPRESENTATIVE, UNLISTED)
    with records.sessions() as session:
        (access,) = session.scalars(select(PartnerAccess)).all()
        assert (access.partner, access.endpoint, access.count, access.hits) == (
            "travelsky", "checks", 2, 1)
        assert REPRESENTATIVE not in (access.subjects or "")  # hashed, not in clear
        # ... with the hub's key: not the plain digest anyone can recompute for every ID.
        assert access.subjects == records.subjects.joined([REPRESENTATIVE, UNLISTED])
        assert legacy_subject_hash(UNLISTED) not in (access.subjects or "")
        adapters = load_adapters(records.settings)
        (told,) = who_received(session, REPRESENTATIVE, adapters, records.subjects)
        assert (told.partner, told.endpoint) == ("travelsky", "checks")
        assert who_received(session, UNLISTED, adapters, records.subjects) == []


def test_who_received_from_the_command_line(signed: Signed, records: HubContext,
                                            runner: FlaskCliRunner) -> None:
    assert signed("ndrc").get("/api/v1/changes").status_code == 200
    check(signed("travelsky"), REPRESENTATIVE)
    result = invoke(runner, "access", "who-received", REPRESENTATIVE)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()[1:]
    # ndrc received the organisation's order naming them (seq 4); travelsky checked them.
    assert [line.split()[2:4] for line in lines] == [["ndrc", "changes"],
                                                      ["travelsky", "checks"]]
    assert "R-2024-000002" in lines[0]
    nobody = invoke(runner, "access", "who-received", UNLISTED)
    assert "no partner has received" in nobody.output


def test_a_legal_representative_named_in_a_listing_was_received(
        signed: Signed, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=ADMIN, now=datetime.now(UTC))
    assert signed("ndrc").get("/api/v1/changes").status_code == 200
    assert signed("travelsky").get("/api/v1/changes").status_code == 200  # no listings
    with hub_ctx.sessions() as session:
        found = who_received(session, REPRESENTATIVE, load_adapters(hub_ctx.settings),
                             hub_ctx.subjects)
    assert [(d.partner, d.endpoint, d.record_keys) for d in found] == [
        ("ndrc", "changes", ("L-2024-000002",))]


@pytest.mark.parametrize("typed", [
    "110105 198503150019",  # a space inside, as typed at a counter
    "１１０１０５１９８５０３１５００１９",  # full-width digits, as an IME gives them
    "11010519850315001９",
])
def test_an_id_is_read_as_the_registry_stores_it(signed: Signed, records: HubContext,
                                                 typed: str) -> None:
    assert check(signed("ndrc"), typed)[typed] != []


def test_an_exemption_lifts_nothing_before_its_window_opens(
        signed: Signed, records: HubContext) -> None:
    today = court_date(datetime.now(UTC))
    with session_scope(records.sessions) as s:
        registry.grant_exemption(s, "R-2024-000002", {
            "person": REPRESENTATIVE, "categories": ["C1"],
            "from": (today + timedelta(days=10)).isoformat(),
            "until": (today + timedelta(days=15)).isoformat(), "reason": "illness",
        }, actor=ADMIN, now=datetime.now(UTC))
    (flight,) = check(signed("travelsky"), REPRESENTATIVE)[REPRESENTATIVE]
    # Approved, shown, but not yet in force: today the airline still refuses the ticket.
    assert flight["exemptions"][0]["from"] == (today + timedelta(days=10)).isoformat()
    assert flight["measures"] == ["flight"]


def test_an_order_concerns_only_the_consumption_it_restricts(
        app: Flask, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, org_restriction(listing_id=None, categories=["C1", "C8"]),
                                   actor=ADMIN, now=datetime.now(UTC))
    # CIRC: high-premium insurance (C8) and financial-institution founding; the latter
    # follows a listing, never a consumption order.
    (match,) = check(client_of(app, hub_ctx, "circ"), ORG)[ORG]
    assert match["measures"] == ["insurance_product"]


def test_an_airline_is_not_told_of_an_order_that_restricts_no_flight(
        signed: Signed, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, person_restriction(listing_id=None, categories=["C7"]),
                                   actor=ADMIN, now=datetime.now(UTC))
    travelsky = signed("travelsky")
    assert check(travelsky, PERSON)[PERSON] == []
    events = travelsky.get("/api/v1/changes").json
    assert events is not None
    assert [r for e in events["events"] for r in e["rows"]] == []


def _resident_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


#: Two persons bound by one more order of the organisation (R-2024-000003), and by no
#: other record of the ``records`` fixture.
FIRST = _resident_id("11010519800101101")
SECOND = _resident_id("11010519900202202")


def _issue_order_binding_two(ctx: HubContext) -> None:
    with session_scope(ctx.sessions) as s:
        registry.issue_restriction(s, org_restriction(
            order_id="R-2024-000003", listing_id=None, bound_persons=[
                {"name": "赵敏", "id_number": FIRST, "role": "legal_representative"},
                {"name": "钱进", "id_number": SECOND, "role": "main_responsible"},
            ]), actor=ADMIN, now=datetime.now(UTC))


def _exempt(ctx: HubContext, order_id: str, person: str, first: int, last: int,
            granted: datetime | None = None) -> None:
    """Exempt ``person`` from flights (C1) from ``first`` to ``last`` days after today."""
    now = datetime.now(UTC)
    today = court_date(now)
    with session_scope(ctx.sessions) as s:
        registry.grant_exemption(s, order_id, {
            "person": person, "categories": ["C1"],
            "from": (today + timedelta(days=first)).isoformat(),
            "until": (today + timedelta(days=last)).isoformat(), "reason": "illness",
        }, actor=ADMIN, now=granted or now)


def _flight_measures(client: SignedClient, id_number: str) -> list[str]:
    (match,) = check(client, id_number)[id_number]
    measures: list[str] = match["measures"]
    return measures


def test_an_exemption_still_lifts_on_its_last_day(signed: Signed, records: HubContext) -> None:
    """The court grants the window up to and including ``until``: on that day the
    airline must still let the person board."""
    _exempt(records, "R-2024-000002", REPRESENTATIVE, -3, 0)
    assert _flight_measures(signed("travelsky"), REPRESENTATIVE) == []


def test_an_exemption_past_its_window_lifts_nothing_before_the_expiry_job(
        signed: Signed, records: HubContext) -> None:
    """A closed window still marked active (the nightly job has not run) must not let
    the person fly: the counter reads the dates, not only the status."""
    _exempt(records, "R-2024-000002", REPRESENTATIVE, -10, -1,
            granted=datetime.now(UTC) - timedelta(days=10))
    (flight,) = check(signed("travelsky"), REPRESENTATIVE)[REPRESENTATIVE]
    assert flight["exemptions"][0]["status"] == "active"  # the job has not marked it
    assert flight["measures"] == ["flight"]


def test_an_ended_exemption_lifts_nothing(signed: Signed, records: HubContext) -> None:
    """Once the court ends an exemption, the airline refuses the ticket again, even on
    a day the window would have covered."""
    now = datetime.now(UTC)
    today = court_date(now)
    with session_scope(records.sessions) as s:
        exemption = registry.grant_exemption(s, "R-2024-000002", {
            "person": REPRESENTATIVE, "categories": ["C1"], "from": today.isoformat(),
            "until": (today + timedelta(days=5)).isoformat(), "reason": "illness",
        }, actor=ADMIN, now=now)
        registry.end_exemption(s, exemption, actor=ADMIN, now=now)
    assert _flight_measures(signed("travelsky"), REPRESENTATIVE) == ["flight"]


def test_an_exemption_lifts_nothing_for_another_person_on_the_order(
        signed: Signed, records: HubContext) -> None:
    """An exemption is granted to one person: a co-bound person stays barred from
    flights."""
    _issue_order_binding_two(records)
    _exempt(records, "R-2024-000003", FIRST, 0, 5)
    travelsky = signed("travelsky")
    assert _flight_measures(travelsky, FIRST) == []
    assert _flight_measures(travelsky, SECOND) == ["flight"]


def test_a_released_person_is_not_found_through_the_organisations_order(
        signed: Signed, records: HubContext) -> None:
    """A former representative released from the order is restricted no more: a
    partner holding the organisation's row must not stop them."""
    ndrc = signed("ndrc")
    (before,) = check(ndrc, REPRESENTATIVE)[REPRESENTATIVE]
    assert (before["record_key"], before["matched_as"]) == ("R-2024-000002", "bound_person")
    with session_scope(records.sessions) as s:
        registry.release_person(s, "R-2024-000002", REPRESENTATIVE,
                                reason="representative_replaced", actor=ADMIN,
                                now=datetime.now(UTC))
    assert check(ndrc, REPRESENTATIVE)[REPRESENTATIVE] == []


def test_checking_one_bound_person_discloses_nothing_of_another(
        signed: Signed, records: HubContext) -> None:
    """A person-only partner checking one person gets that person's row only: the
    co-bound person's ID and name are not the caller's to see."""
    _issue_order_binding_two(records)
    response = signed("travelsky").post(CHECKS, json={"subjects": [{"id_number": FIRST}]})
    assert response.status_code == 200, response.data
    assert response.json is not None
    (result,) = response.json["results"]
    (match,) = result["matches"]
    assert match["record_key"] == f"R-2024-000003#legal_representative#{FIRST}"
    assert SECOND not in response.text
    assert "钱进" not in response.text
