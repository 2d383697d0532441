"""The access record's answer to "who received this person's data, and when", across
every channel: feed pages, checks, and batch files, and after corrections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.core.identifiers import upgrade_resident_id15
from hub.core.subjects import SubjectHasher, legacy_subject_hash
from hub.db.engine import session_scope
from hub.services import registry
from hub.services.access import Disclosure, log_access, who_received
from hub.services.feed import high_water
from tests.api.conftest import ADMIN, SignedClient, client_of
from tests.conftest import invoke
from tests.samples import org_listing, org_restriction, person_listing

Signed = Callable[[str], SignedClient]
PERSON = "110105198503150019"
REPRESENTATIVE = "320102197907040241"
CONTROLLER = "11010519491231002X"
BINDS_BOTH = [{"name": "李娜", "id_number": REPRESENTATIVE, "role": "legal_representative"},
              {"name": "王强", "id_number": CONTROLLER, "role": "actual_controller"}]


def receivers(ctx: HubContext, id_number: str) -> list[tuple[str, str]]:
    with ctx.sessions() as session:
        return [(d.partner, d.endpoint)
                for d in who_received(session, id_number, load_adapters(ctx.settings),
                                         ctx.subjects)]


def check(client: SignedClient, id_number: str) -> list[dict[str, Any]]:
    response = client.post("/api/v1/checks", json={"subjects": [{"id_number": id_number}]})
    assert response.status_code == 200, response.data
    assert response.json is not None
    return list(response.json["results"][0]["matches"])


def test_batch_files_are_on_the_record(records: HubContext, runner: FlaskCliRunner,
                                       tmp_path: Path) -> None:
    assert receivers(records, PERSON) == []
    result = invoke(runner, "export", "ndrc", "--full", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert receivers(records, PERSON) == [("ndrc", "full")]
    with session_scope(records.sessions) as s:
        registry.remove_listing(s, "L-2024-000001", reason="performed", actor=ADMIN,
                                now=datetime.now(UTC))
    assert invoke(runner, "export", "ndrc", "--out", tmp_path).exit_code == 0
    assert receivers(records, PERSON) == [("ndrc", "full"), ("ndrc", "delta")]


def test_a_check_that_named_a_bound_person_is_on_the_record(
        app: Flask, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, org_restriction(listing_id=None, bound_persons=BINDS_BOTH),
                                   actor=ADMIN, now=datetime.now(UTC))
    # CIRC's rows of the order carry no bound persons, yet its check told it who
    # controls the restricted organisation.
    (match,) = check(client_of(app, hub_ctx, "circ"), CONTROLLER)
    assert (match["matched_as"], match["role"]) == ("bound_person", "actual_controller")
    assert receivers(hub_ctx, CONTROLLER) == [("circ", "checks")]


def test_a_check_that_found_nothing_is_not_on_the_record(
        app: Flask, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, org_listing(), actor=ADMIN, now=datetime.now(UTC))
    # The organisation's listing names its representative, but a check by her ID does
    # not match it: the check told MLR nothing of her.
    assert check(client_of(app, hub_ctx, "mlr"), REPRESENTATIVE) == []
    assert receivers(hub_ctx, REPRESENTATIVE) == []


def test_an_id_corrected_away_stays_on_the_record(signed: Signed, hub_ctx: HubContext) -> None:
    wrong = CONTROLLER
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(id_number=wrong), actor=ADMIN,
                             now=datetime.now(UTC))
    assert signed("ndrc").get("/api/v1/changes").status_code == 200
    with session_scope(hub_ctx.sessions) as s:
        registry.correct_listing(s, "L-2024-000001", {"id_number": PERSON},
                                 reason="data_inaccurate", actor=ADMIN, now=datetime.now(UTC))
    # NDRC was sent the wrong person's data: the correction does not undo that.
    assert receivers(hub_ctx, wrong) == [("ndrc", "changes")]


def test_a_bound_person_corrected_away_stays_on_the_record(
        signed: Signed, hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, org_restriction(listing_id=None, bound_persons=BINDS_BOTH),
                                   actor=ADMIN, now=datetime.now(UTC))
    assert signed("travelsky").get("/api/v1/changes").status_code == 200
    with session_scope(hub_ctx.sessions) as s:
        registry.correct_restriction(s, "R-2024-000002", {"bound_persons": BINDS_BOTH[:1]},
                                     reason="data_inaccurate", actor=ADMIN, now=datetime.now(UTC))
    assert receivers(hub_ctx, CONTROLLER) == [("travelsky", "changes")]


def test_a_check_stays_on_the_record_when_a_change_it_preceded_commits_later(
        signed: Signed, records: HubContext) -> None:
    """An event's ``at`` is its writer's clock, not its commit: a release that began
    before a check and committed after it must not erase the check's disclosure (the
    check's access row keeps the seq it was read at)."""
    started = datetime.now(UTC)
    response = signed("travelsky").post(
        "/api/v1/checks", json={"subjects": [{"id_number": REPRESENTATIVE}]})
    (result,) = response.get_json()["results"]
    assert [m["matched_as"] for m in result["matches"]] == ["bound_person"]
    with session_scope(records.sessions) as s:  # "began" before the check, commits now
        registry.release_person(s, "R-2024-000002", REPRESENTATIVE,
                                reason="representative_replaced", actor=ADMIN, now=started)
    adapters = load_adapters(records.settings)
    with records.sessions() as s:
        got = [d.endpoint for d in who_received(s, REPRESENTATIVE, adapters, records.subjects)
               if d.partner == "travelsky"]
    assert got == ["checks"]


def _exempt_for_illness(ctx: HubContext) -> None:
    """A five-day flight exemption for PERSON on their order (seq 5 of ``records``)."""
    from datetime import timedelta

    from hub.core.timeutil import court_date
    today = court_date(datetime.now(UTC))
    with session_scope(ctx.sessions) as s:
        registry.grant_exemption(s, "R-2024-000001", {
            "person": PERSON, "categories": ["C1"], "from": today.isoformat(),
            "until": (today + timedelta(days=5)).isoformat(), "reason": "illness"},
            actor=ADMIN, now=datetime.now(UTC))


def test_a_page_whose_events_changed_none_of_the_partners_rows_is_not_on_the_record(
        app: Flask, records: HubContext) -> None:
    """cnta does not take exemptions: the exemption's event was not sent to it (nor its
    reason), so the page that covered it disclosed nothing of the person."""
    cnta = client_of(app, records, "cnta")
    assert cnta.get("/api/v1/changes", query={"after": 0}).status_code == 200
    _exempt_for_illness(records)
    page = cnta.get("/api/v1/changes", query={"after": 4}).json
    assert page is not None
    assert page["events"] == []
    with records.sessions() as session:
        got = [(d.endpoint, d.seqs) for d in who_received(session, PERSON,
                                                          load_adapters(records.settings),
                                                          records.subjects)
               if d.partner == "cnta"]
    assert [endpoint for endpoint, _seqs in got] == ["changes"]  # the first page only
    assert 5 not in got[0][1]


def test_a_delta_file_that_left_the_person_out_is_not_on_the_record(
        records: HubContext, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """The exemption changes none of cnta's rows, so cnta's next delta is empty: it
    disclosed nothing, although its range holds an event of the person's order."""
    assert invoke(runner, "export", "cnta", "--full", "--out", tmp_path).exit_code == 0
    _exempt_for_illness(records)
    result = invoke(runner, "export", "cnta", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "0 record(s)" in result.output
    assert [e for p, e in receivers(records, PERSON) if p == "cnta"] == ["full"]


def disclosures(ctx: HubContext, id_number: str) -> list[Disclosure]:
    with ctx.sessions() as session:
        return who_received(session, id_number, load_adapters(ctx.settings), ctx.subjects)


@pytest.mark.parametrize("channel", ["snapshot", "full"])
def test_a_list_taken_right_after_the_persons_last_event_is_on_the_record(
        signed: Signed, hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path,
        channel: str) -> None:
    """A snapshot or full batch as of seq S holds the record whose last event is S: the
    commonest case (a list taken right after a change) must not drop off the record."""
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=ADMIN, now=datetime.now(UTC))
    with hub_ctx.engine.connect() as conn:
        seq = high_water(conn)  # the listing's event: the last in the log
    if channel == "snapshot":
        response = signed("ndrc").get("/api/v1/snapshot")
        assert response.status_code == 200, response.data
        assert response.headers["X-Hub-Seq"] == str(seq)
    else:
        result = invoke(runner, "export", "ndrc", "--full", "--out", tmp_path)
        assert result.exit_code == 0, result.output
    (got,) = disclosures(hub_ctx, PERSON)
    assert (got.partner, got.endpoint, got.seqs, got.record_keys) == (
        "ndrc", channel, (seq,), ("L-2024-000001",))


def test_a_legacy_15_digit_id_finds_what_its_18_digit_form_received(
        hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """Records hold the 18-digit form; a data subject (or an official) asking with the
    old 15-digit ID on their papers must get the same answer, not "nobody"."""
    legacy = "110105850315001"
    assert upgrade_resident_id15(legacy) == PERSON
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=ADMIN, now=datetime.now(UTC))
    assert invoke(runner, "export", "ndrc", "--full", "--out", tmp_path).exit_code == 0
    expected = disclosures(hub_ctx, PERSON)
    assert [(d.partner, d.endpoint) for d in expected] == [("ndrc", "full")]
    assert disclosures(hub_ctx, legacy) == expected


#: A person listed under a 15-digit passport number (passport: 5-20 letters and digits).
PASSPORT15 = "123456789012345"


def test_who_received_by_a_15_digit_passport_number(signed: Signed, hub_ctx: HubContext) -> None:
    """A 15-digit number stands for itself too, not only for the 18-digit resident ID it
    may be the legacy form of: a record under a 15-digit passport number is found."""
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(id_type="passport", id_number=PASSPORT15,
                                               gender="male", birth_date="1985-03-15"),
                             actor=ADMIN, now=datetime.now(UTC))
    (match,) = check(signed("ndrc"), PASSPORT15)
    assert match["record_key"] == "L-2024-000001"
    assert receivers(hub_ctx, PASSPORT15) == [("ndrc", "checks")]


@pytest.mark.parametrize("checked_at", [
    datetime(2024, 3, 1, 4, 0, tzinfo=UTC),  # past the term (2024-01-10), job not run
    datetime(2023, 3, 1, 4, 0, tzinfo=UTC),  # within the term
], ids=["past-term", "within-term"])
def test_an_old_check_row_of_a_listing_past_its_term_stays_on_the_record(
        hub_ctx: HubContext, checked_at: datetime) -> None:
    """A check row without seqs was written before /checks left out listings past their
    term, and such a check answered with the listing: the record judges it by the rule
    it was answered under, not today's."""
    listed = datetime(2022, 1, 11, 4, 0, tzinfo=UTC)  # imported the day it was published
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(behaviours=["B2"], term_months=24,
                                               decided_on="2022-01-10", listed_on="2022-01-11",
                                               filed_on="2021-12-01"),
                             actor=ADMIN, now=listed)
    pid = "110105198503150019"
    # What the previous release's /checks answered and logged (no seqs then).
    with session_scope(hub_ctx.sessions) as s:
        log_access(s, partner="ndrc", endpoint="checks", at=checked_at,
                   subjects=hub_ctx.subjects.joined([pid]), count=1, hits=1)
    assert receivers(hub_ctx, pid) == [("ndrc", "checks")]


def test_a_check_row_hashed_before_hashes_were_keyed_still_answers(hub_ctx: HubContext) -> None:
    """Rows of the release before keep their plain hashes (a hash cannot be re-keyed):
    "who received this person's data" still finds them, beside the keyed ones."""
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=ADMIN,
                             now=datetime(2024, 6, 4, 4, 0, tzinfo=UTC))
    with session_scope(hub_ctx.sessions) as s:
        log_access(s, partner="ndrc", endpoint="checks",
                   at=datetime(2024, 7, 1, 4, 0, tzinfo=UTC), from_seq=1, to_seq=1,
                   subjects=legacy_subject_hash(PERSON), count=1, hits=1)
        log_access(s, partner="mps", endpoint="checks",
                   at=datetime(2024, 7, 2, 4, 0, tzinfo=UTC), from_seq=1, to_seq=1,
                   subjects=hub_ctx.subjects.joined([PERSON]), count=1, hits=1)
        # Hashed under another key (a key changed, which the README forbids): not found.
        log_access(s, partner="ndrc", endpoint="checks",
                   at=datetime(2024, 7, 3, 4, 0, tzinfo=UTC), from_seq=1, to_seq=1,
                   subjects=SubjectHasher(b"another key").joined([PERSON]), count=1, hits=1)
    assert [(d.partner, d.at.day) for d in disclosures(hub_ctx, PERSON)] == [
        ("ndrc", 1), ("mps", 2)]
