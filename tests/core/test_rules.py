"""Record rules: listings, restrictions, exemptions, reason codes and term arithmetic."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.core import codes
from hub.core.identifiers import resident_id_check_char, uscc_check_char
from hub.core.rules import (
    EXEMPTION_FIELDS,
    LISTING_FIELDS,
    RESTRICTION_FIELDS,
    add_months,
    check_reason,
    compute_expires_on,
    validate_exemption,
    validate_listing,
    validate_restriction,
)
from hub.errors import FieldProblem, InvalidRecord, InvalidValue
from tests import samples
from tests.core.test_identifiers import LB, RB, fw

TODAY = date(2026, 11, 25)


PERSON_ID = "110105198503150019"
REP_ID = "320102197907040241"


def person_listing(**changes: Any) -> dict[str, Any]:
    """DOMAIN.md §1's first example; a value of None removes the key."""
    return _apply(samples.person_listing(), changes)


def org_listing(**changes: Any) -> dict[str, Any]:
    return _apply(samples.org_listing(), changes)


def org_restriction(**changes: Any) -> dict[str, Any]:
    return _apply(samples.org_restriction(), changes)


def person_restriction(**changes: Any) -> dict[str, Any]:
    return _apply(samples.person_restriction(), changes)


def _apply(record: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def resident_id(birth: date, seq: int = 1, area: str = "110105") -> str:
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + resident_id_check_char(body)


def problems(exc: pytest.ExceptionInfo[InvalidRecord]) -> dict[str, str]:
    return {p.field: p.reason for p in exc.value.problems}


def refused(raw: Mapping[str, Any], validate: Any = validate_listing) -> dict[str, str]:
    with pytest.raises(InvalidRecord) as exc:
        validate(raw, today=TODAY)
    return problems(exc)


# --- the DOMAIN.md examples ------------------------------------------------------------


def test_person_listing_is_normalised() -> None:
    out = validate_listing(person_listing(), today=TODAY)
    assert tuple(out) == LISTING_FIELDS
    assert out["gender"] == "male"
    assert out["birth_date"] == date(1985, 3, 15)
    assert out["case_number"] == f"{LB}2024{RB}京0105执1234号"
    assert out["case_number_key"] == "(2024)京0105执1234号"
    assert out["decided_on"] == date(2024, 6, 3)
    assert out["filed_on"] == date(2024, 3, 1)
    assert out["behaviours"] == ["B1"]
    assert (out["term_months"], out["extension_months"], out["expires_on"]) == (None, 0, None)
    assert out["legal_representative"] is None
    assert out["travel_documents"] == []
    assert out["id_confirmed"] is out["id_suspect"] is out["security_covers_debt"] is False
    assert out["behaviour_label"] is None


def test_organisation_listing_is_normalised() -> None:
    out = validate_listing(org_listing(), today=TODAY)
    assert out["legal_representative"] == {"name": "李娜", "id_number": REP_ID}
    assert out["behaviours"] == ["B3", "B4"]
    assert out["gender"] is None
    assert out["birth_date"] is None
    assert out["term_months"] == 24
    assert out["expires_on"] == date(2026, 5, 20)


def test_restrictions_are_normalised() -> None:
    out = validate_restriction(org_restriction(), today=TODAY)
    assert tuple(out) == RESTRICTION_FIELDS
    assert out["bound_persons"] == [
        {"name": "李娜", "id_number": REP_ID, "role": "legal_representative"}
    ]
    assert out["issued_on"] == date(2024, 5, 20)
    assert out["categories"] == list(codes.CATEGORIES)
    person = validate_restriction(person_restriction(), today=TODAY)
    assert person["categories"] == list(codes.CATEGORIES)  # the default: all nine
    assert person["bound_persons"] == []
    assert person["listing_id"] == "L-2024-000001"


def test_normalised_records_are_accepted_back_unchanged() -> None:
    for raw, validate in [
        (person_listing(), validate_listing),
        (org_listing(extension_months=12), validate_listing),
        (org_restriction(), validate_restriction),
        (
            person_restriction(travel_documents=[{"type": "passport", "number": "E12345678"}]),
            validate_restriction,
        ),
    ]:
        once = validate(raw, today=TODAY)
        assert validate(once, today=TODAY) == once


# --- shape of the record -----------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    found = refused(
        person_listing(
            name=" ",
            id_number="110105198503150018",
            decided_on="2024-13-01",
            colour="red",
            behaviours=[],
            performance="some",
        )
    )
    assert found == {
        "colour": "unknown field",
        "name": "is required",
        "id_number": "check digit is 8, expected 9",
        "decided_on": "2024-13-01 is not a real date",
        "behaviours": "must name at least one code",
        "performance": "'some' is not one of none, partial",
    }


@pytest.mark.parametrize(("field", "value"), [
    ("filed_on", "0024-02-10"), ("decided_on", "0001-01-01"), ("listed_on", "1899-12-31"),
])
def test_a_date_before_1900_is_a_mistyped_year(field: str, value: str) -> None:
    found = refused(person_listing(**{field: value}))
    assert found[field] == f"{value} is before 1900: no date of the register is " \
        "(a mistyped year?)"


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidRecord) as exc:
        validate_listing(["a list"], today=TODAY)  # type: ignore[arg-type]
    assert exc.value.problems == (FieldProblem("record", "must be an object, got a list"),)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"name": 123}, "name", "must be text, got the number 123"),
        ({"name": "张" * 201}, "name", "is 201 characters long; at most 200"),
        ({"id_confirmed": "yes"}, "id_confirmed", "must be true or false, got text 'yes'"),
        ({"behaviours": "B1"}, "behaviours", "must be a list of codes, got text"),
        ({"behaviours": ["B7"]}, "behaviours", "'B7' not among the codes B1, B2"),
        ({"behaviours": None}, "behaviours", "is required: a listing needs at least one"),
        ({"obligation": None}, "obligation", "is required"),
        ({"decided_on": "2024/06/03"}, "decided_on", "must be a date written YYYY-MM-DD"),
        ({"decided_on": 20240603}, "decided_on", "must be a date written YYYY-MM-DD, got the"),
        ({"decided_on": datetime(2024, 6, 3, 9)}, "decided_on", "not a date and time"),  # noqa: DTZ001
        ({"decided_on": "2026-11-26"}, "decided_on", "2026-11-26 is in the future"),
        ({"filed_on": "2024-06-04"}, "filed_on", "is after the decision date 2024-06-03"),
        ({"listed_on": "2024-06-02"}, "listed_on", "is before the decision date 2024-06-03"),
        ({"listed_on": "2099-06-01"}, "listed_on", "2099-06-01 is in the future"),
        ({"listed_on": "2026-11-26"}, "listed_on", "2026-11-26 is in the future"),
        ({"listing_id": "L 1"}, "listing_id", "must be 1 to 64 letters, digits"),
        ({"court_code": "京010"}, "court_code", "is not 最高法, a province character"),
        ({"case_number": f"{LB}2024{RB}京0105民初1号"}, "case_number", "no enforcement type code"),
        ({"case_number_key": "x"}, "case_number_key", "is derived from case_number"),
        ({"id_suspect": True}, "id_suspect", "is set by the hub"),
        ({"subject_type": "company"}, "subject_type", "not one of person, organisation"),
        ({"id_type": "uscc"}, "id_type", "id_type uscc does not apply to persons"),
        ({"legal_representative": {"name": "李娜"}}, "legal_representative", "organisations only"),
        ({"travel_documents": "E1"}, "travel_documents", "must be a list, got text"),
    ],
)
def test_single_problems(changes: dict[str, Any], field: str, reason: str) -> None:
    found = refused(person_listing(**changes))
    assert list(found) == [field]
    assert reason in found[field]


@pytest.mark.parametrize("validate", [validate_listing, validate_restriction])
def test_a_case_number_of_another_court_is_refused(validate: Any) -> None:
    record = (person_listing if validate is validate_listing else person_restriction)(
        case_number=f"{LB}2024{RB}京0106执1234号")  # court_code stays 京0105
    assert refused(record, validate) == {
        "case_number": "names the court 京0106, but court_code is 京0105: an enforcement "
                       "case number carries the enforcing court's code"}


@pytest.mark.parametrize(("court_code", "case_number"), [
    ("京0105", "(2024)京0105执恢12号"),
    ("最高法", f"{LB}2024{RB}最高法执监3号"),
    ("皖", "(2019)皖执1号"),
    # A legacy number names its court by an abbreviation, not the code: nothing to compare.
    ("皖1202", "(2015)阜执字第00690号"),
])
def test_a_case_number_of_the_enforcing_court_is_accepted(court_code: str,
                                                          case_number: str) -> None:
    out = validate_listing(person_listing(court_code=court_code, case_number=case_number),
                           today=TODAY)
    assert (out["court_code"], out["case_number"]) == (court_code, case_number)


def test_dates_may_be_date_objects_and_strings_are_stripped() -> None:
    out = validate_listing(
        person_listing(decided_on=date(2024, 6, 3), listed_on=" 2024-06-04 "), today=TODAY
    )
    assert (out["decided_on"], out["listed_on"]) == (date(2024, 6, 3), date(2024, 6, 4))


def test_behaviours_are_sorted_and_deduplicated() -> None:
    out = validate_listing(person_listing(behaviours=["B4", "B3", "B4"]), today=TODAY)
    assert out["behaviours"] == ["B3", "B4"]
    legacy = validate_listing(
        person_listing(behaviours=["legacy_other"], behaviour_label=" 其它规避执行 "), today=TODAY
    )
    assert legacy["behaviour_label"] == "其它规避执行"
    assert legacy["expires_on"] is None


# --- identities --------------------------------------------------------------------------


def test_resident_id15_is_upgraded() -> None:
    out = validate_listing(
        person_listing(id_type="resident_id15", id_number="110105491231002"), today=TODAY
    )
    assert out["id_type"] == "resident_id"
    assert out["id_number"] == "11010519491231002X"
    assert (out["gender"], out["birth_date"]) == ("female", date(1949, 12, 31))


def test_resident_id_input_is_normalised() -> None:
    out = validate_listing(person_listing(id_number=fw("110105") + " 19491231002x"), today=TODAY)
    assert out["id_number"] == "11010519491231002X"


def test_supplied_gender_and_birth_date_must_agree_with_the_id() -> None:
    ok = validate_listing(person_listing(gender="male", birth_date="1985-03-15"), today=TODAY)
    assert ok["gender"] == "male"
    found = refused(person_listing(gender="female", birth_date="1985-03-16"))
    assert found["gender"] == "is female, but the resident ID's sequence number is that of a man"
    assert found["birth_date"] == "1985-03-16 contradicts the resident ID, which gives 1985-03-15"


def test_passport_holder_keeps_supplied_gender_and_birth() -> None:
    out = validate_listing(
        person_listing(
            id_type="passport", id_number="e 1234 5678", gender="female", birth_date="1990-01-02"
        ),
        today=TODAY,
    )
    assert (out["id_number"], out["gender"], out["birth_date"]) == (
        "E12345678",
        "female",
        date(1990, 1, 2),
    )
    assert (
        "passport number"
        in refused(person_listing(id_type="passport", id_number="E1"))["id_number"]
    )


def test_organisation_identifier_types() -> None:
    assert (
        validate_listing(org_listing(id_type="org_code", id_number="M000100Y4"), today=TODAY)[
            "id_number"
        ]
        == "M000100Y-4"
    )
    other = validate_listing(org_listing(id_type="other", id_number="110105000012345"), today=TODAY)
    assert other["id_number"] == "110105000012345"
    found = refused(org_listing(id_type="resident_id", id_number=PERSON_ID))
    assert found == {
        "id_type": "id_type resident_id does not apply to organisations; use one "
        "of org_code, other, uscc"
    }


def test_bad_uscc_is_refused_unless_the_court_confirms_it() -> None:
    bad = "91110105MA01ABCD5G"
    found = refused(org_listing(id_number=bad))
    assert found["id_number"] == (
        "check character is G, expected F; if the court confirms the code as registered, "
        "send id_confirmed: true"
    )
    out = validate_listing(org_listing(id_number=bad.lower(), id_confirmed=True), today=TODAY)
    assert (out["id_number"], out["id_suspect"], out["id_confirmed"]) == (bad, True, True)
    # Confirmation does not cover a code that is not even well formed.
    assert (
        "not allowed in a USCC"
        in refused(org_listing(id_number="91110105MA01ABCD5Z", id_confirmed=True))["id_number"]
    )


def test_organisation_needs_a_legal_representative() -> None:
    assert refused(org_listing(legal_representative=None)) == {
        "legal_representative": "is required for an organisation"
    }
    name_only = validate_listing(org_listing(legal_representative={"name": " 李娜 "}), today=TODAY)
    assert name_only["legal_representative"] == {"name": "李娜", "id_number": None}
    found = refused(org_listing(legal_representative={"id_number": "320102197907040242", "x": 1}))
    assert found == {
        "legal_representative.x": "unknown field",
        "legal_representative.name": "is required",
        "legal_representative.id_number": "check digit is 2, expected 1",
    }
    assert refused(org_listing(legal_representative="李娜")) == {
        "legal_representative": "must be an object, got text"
    }


def test_organisations_have_no_gender_or_travel_documents() -> None:
    found = refused(org_listing(gender="male", travel_documents=[{"type": "passport"}]))
    assert found == {
        "gender": "applies to persons only",
        "travel_documents": "applies to persons only",
    }


def test_travel_documents() -> None:
    docs = [
        {"type": "passport", "number": " e12345678 "},
        {"type": "hk_macao_permit", "number": "C1234567"},
    ]
    out = validate_listing(person_listing(travel_documents=docs), today=TODAY)
    assert out["travel_documents"] == [
        {"type": "passport", "number": "E12345678"},
        {"type": "hk_macao_permit", "number": "C1234567"},
    ]
    found = refused(
        person_listing(
            travel_documents=[
                {"type": "visa", "number": "E12345678"},
                {"type": "passport", "number": "E1"},
                {"type": "passport", "number": "E12345678", "issued": "2020"},
                {"type": "passport", "number": "E12345678"},
                "E123",
            ]
        )
    )
    assert found == {
        "travel_documents[0].type": "'visa' is not one of passport, hk_macao_permit, "
        "taiwan_permit, other",
        "travel_documents[1].number": "'E1' is not a document number",
        "travel_documents[2].issued": "unknown field",
        "travel_documents[3]": "passport E12345678 is listed twice",
        "travel_documents[4]": "must be an object, got text",
    }


# --- the law's refusals ------------------------------------------------------------------


def test_a_minor_is_never_listed() -> None:
    minor = resident_id(date(2008, 6, 4))
    found = refused(person_listing(id_number=minor))
    assert found == {
        "id_number": "the debtor was born on 2008-06-04 and was under 18 on the decision date "
        "2024-06-03: a minor may not be listed (Art. 4, 2017 rules)"
    }


@pytest.mark.parametrize(
    ("birth", "decided", "minor"),
    [
        (date(2006, 6, 3), "2024-06-03", True),  # the 18th birthday itself
        (date(2006, 6, 2), "2024-06-03", False),
        (date(2004, 2, 29), "2022-02-28", True),  # 29 Feb falls on 28 Feb in a common year
        (date(2004, 2, 29), "2022-03-01", False),
        (date(2004, 2, 29), "2024-02-28", False),
    ],
)
def test_age_on_the_decision_date(birth: date, decided: str, minor: bool) -> None:
    raw = person_listing(
        id_number=resident_id(birth), decided_on=decided, filed_on=None, listed_on=None
    )
    if minor:
        assert "a minor may not be listed" in refused(raw)["id_number"]
    else:
        assert validate_listing(raw, today=TODAY)["birth_date"] == birth


def test_minor_by_supplied_birth_date_names_that_field() -> None:
    found = refused(
        person_listing(id_type="passport", id_number="E12345678", birth_date="2010-01-01")
    )
    assert list(found) == ["birth_date"]
    assert "under 18" in found["birth_date"]


def test_b1_is_refused_when_security_covers_the_debt() -> None:
    found = refused(person_listing(security_covers_debt=True))
    assert found == {
        "behaviours": "B1 (able but refuses) may not be used when security or seized property "
        "covers the debt (security_covers_debt is true; Art. 3, 2017 rules)"
    }
    # Art. 3 bars B1 only.
    out = validate_listing(org_listing(security_covers_debt=True), today=TODAY)
    assert out["security_covers_debt"] is True


# --- term -------------------------------------------------------------------------------


def test_b1_has_no_term() -> None:
    found = refused(person_listing(term_months=24, extension_months=12, expires_on="2026-06-03"))
    assert set(found) == {"term_months", "extension_months", "expires_on"}
    assert "has no term" in found["term_months"]
    assert validate_listing(person_listing(extension_months=0), today=TODAY)["expires_on"] is None


@pytest.mark.parametrize(
    ("changes", "expires"),
    [
        ({"term_months": None, "extension_months": None}, date(2026, 5, 20)),
        ({"extension_months": 12}, date(2027, 5, 20)),
        ({"extension_months": 36}, date(2029, 5, 20)),
        ({"behaviours": ["B1", "B2"]}, date(2026, 5, 20)),
        ({"decided_on": "2024-02-29", "filed_on": None, "listed_on": None}, date(2026, 2, 28)),
        ({"expires_on": "2026-05-20"}, date(2026, 5, 20)),
    ],
)
def test_expiry(changes: dict[str, Any], expires: date) -> None:
    out = validate_listing(org_listing(**changes), today=TODAY)
    assert out["expires_on"] == expires
    assert out["term_months"] == 24


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"term_months": 36}, "term_months", "is 36; the term is 24 months"),
        ({"term_months": "24"}, "term_months", "must be a whole number of months, got text"),
        ({"term_months": True}, "term_months", "must be a whole number of months"),
        ({"extension_months": 6}, "extension_months", "is 6; an extension is 0 or 12 to 36"),
        ({"extension_months": 48}, "extension_months", "is 48"),
        (
            {"expires_on": "2026-05-21"},
            "expires_on",
            "2026-05-21 does not match the decision date plus term and extension, 2026-05-20",
        ),
    ],
)
def test_bad_terms(changes: dict[str, Any], field: str, reason: str) -> None:
    found = refused(org_listing(**changes))
    assert list(found) == [field]
    assert reason in found[field]


@pytest.mark.parametrize("listed", ["2026-05-20", "2026-06-01"])
def test_a_listing_is_published_within_its_term(listed: str) -> None:
    # Decided 2024-05-20, its 24 months end on 2026-05-20: published on or after that
    # day, the next expiry run would end it at once.
    found = refused(org_listing(listed_on=listed))
    assert found == {"listed_on": f"{listed} is not before the end of the listing's term, "
                                  "expires_on 2026-05-20 (decided_on plus term and "
                                  "extension): a listing is published within its term"}
    extended = validate_listing(org_listing(listed_on=listed, extension_months=12), today=TODAY)
    assert (extended["listed_on"], extended["expires_on"]) == (date.fromisoformat(listed),
                                                               date(2027, 5, 20))


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(1900, 1, 31), 1, date(1900, 2, 28)),
        (date(2000, 1, 31), 1, date(2000, 2, 29)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),
        (date(2024, 5, 20), 0, date(2024, 5, 20)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)), st.integers(-240, 240))
def test_add_months_properties(start: date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])


def test_compute_expires_on() -> None:
    decided = date(2024, 2, 29)
    assert compute_expires_on(decided, ["B1"], None, 0) is None
    assert compute_expires_on(decided, ["legacy_other", "B1"], None, 0) is None
    assert compute_expires_on(decided, ["B1", "B5"], None, 0) == date(2026, 2, 28)
    assert compute_expires_on(decided, ["B2"], 24, 12) == date(2027, 2, 28)


# --- restrictions -------------------------------------------------------------------------


def test_restriction_categories() -> None:
    out = validate_restriction(person_restriction(categories=["C9", "C1", "C9"]), today=TODAY)
    assert out["categories"] == ["C1", "C9"]
    assert refused(person_restriction(categories=[]), validate_restriction) == {
        "categories": "must name at least one code"
    }
    assert (
        "'C10' not among the codes C1"
        in refused(person_restriction(categories=["C1", "C10"]), validate_restriction)["categories"]
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"bound_persons": None},
            {
                "bound_persons": "an organisation's order binds at least one "
                "person (its legal representative, Art. 3)"
            },
        ),
        (
            {"bound_persons": []},
            {
                "bound_persons": "an organisation's order binds at least one "
                "person (its legal representative, Art. 3)"
            },
        ),
        ({"bound_persons": {"name": "李娜"}}, {"bound_persons": "must be a list, got an object"}),
        ({"issued_on": "2027-01-01"}, {"issued_on": "2027-01-01 is in the future"}),
        ({"issued_on": None}, {"issued_on": "is required"}),
        (
            {"order_id": "R/1"},
            {
                "order_id": "'R/1' must be 1 to 64 letters, digits, '_', '.' or "
                "'-', starting with a letter or digit"
            },
        ),
    ],
)
def test_bad_restrictions(changes: dict[str, Any], expected: dict[str, str]) -> None:
    assert refused(org_restriction(**changes), validate_restriction) == expected


def test_bound_persons() -> None:
    second = resident_id(date(1980, 5, 6), seq=3)
    out = validate_restriction(
        org_restriction(
            bound_persons=[
                {"name": "李娜", "id_number": REP_ID, "role": "legal_representative"},
                {
                    "name": "王强",
                    "id_number": second[:6] + second[8:17],
                    "role": "actual_controller",
                },
                {"name": "李娜", "id_number": REP_ID, "role": "actual_controller"},
            ]
        ),
        today=TODAY,
    )
    assert [(p["id_number"], p["role"]) for p in out["bound_persons"]] == [
        (REP_ID, "legal_representative"),
        (second, "actual_controller"),  # upgraded from 15 digits
        (REP_ID, "actual_controller"),
    ]
    found = refused(
        org_restriction(
            bound_persons=[
                {"name": "李娜", "id_number": REP_ID, "role": "legal_representative"},
                {"name": "李娜", "id_number": REP_ID, "role": "legal_representative"},
                {"name": "", "id_number": "320102197907040242", "role": "boss", "age": 40},
            ]
        ),
        validate_restriction,
    )
    assert found == {
        "bound_persons[1]": f"{REP_ID} is already bound as legal_representative (bound_persons[0])",
        "bound_persons[2].age": "unknown field",
        "bound_persons[2].name": "is required",
        "bound_persons[2].id_number": "check digit is 2, expected 1",
        "bound_persons[2].role": "'boss' is not one of legal_representative, main_responsible, "
        "direct_responsible, actual_controller",
    }


def test_a_person_has_no_bound_persons() -> None:
    bound = [{"name": "李娜", "id_number": REP_ID, "role": "legal_representative"}]
    assert refused(person_restriction(bound_persons=bound), validate_restriction) == {
        "bound_persons": "applies to organisations only"
    }


def test_restriction_legal_representative_is_optional_but_checked() -> None:
    out = validate_restriction(
        org_restriction(legal_representative={"name": "李娜", "id_number": REP_ID}), today=TODAY
    )
    assert out["legal_representative"] == {"name": "李娜", "id_number": REP_ID}
    assert refused(org_restriction(listing_id=17), validate_restriction) == {
        "listing_id": "must be text, got the number 17"
    }


# --- exemptions ---------------------------------------------------------------------------


def stored_org_restriction(**changes: Any) -> dict[str, Any]:
    stored = validate_restriction(org_restriction(), today=TODAY)
    stored["bound_persons"] = [dict(p, released_on=None) for p in stored["bound_persons"]]
    stored["status"] = "active"
    stored.update(changes)
    return stored


def exemption(**changes: Any) -> dict[str, Any]:
    raw = {
        "person": REP_ID,
        "categories": ["C1"],
        "from": "2026-11-25",
        "until": "2026-12-25",
        "reason": "illness",
    }
    return _apply(raw, changes)


def refused_exemption(raw: Mapping[str, Any], restriction: Mapping[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidRecord) as exc:
        validate_exemption(raw, restriction=restriction, today=TODAY)
    return problems(exc)


def test_valid_exemption() -> None:
    out = validate_exemption(
        exemption(categories=["C9", "C1"]), restriction=stored_org_restriction(), today=TODAY
    )
    assert tuple(out) == EXEMPTION_FIELDS
    assert out == {
        "person": REP_ID,
        "categories": ["C1", "C9"],
        "from": date(2026, 11, 25),
        "until": date(2026, 12, 25),
        "reason": "illness",
    }
    debtor = validate_restriction(person_restriction(), today=TODAY)
    out = validate_exemption(
        exemption(person=PERSON_ID.lower(), reason="exam"), restriction=debtor, today=TODAY
    )
    assert out["person"] == PERSON_ID


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {"until": "2026-12-26"},
            "until",
            "2026-12-26 is more than one month after from "
            "2026-11-25; a temporary lifting ends by 2026-12-25",
        ),
        ({"from": "2027-01-31", "until": "2027-03-01"}, "until", "ends by 2027-02-28"),
        ({"until": "2026-11-24", "from": "2026-11-20"}, "until", "2026-11-24 is already past"),
        ({"from": "2026-12-01", "until": "2026-11-30"}, "until", "is before from 2026-12-01"),
        ({"categories": ["C3"]}, "categories", "'C3' not among the codes C1, C9"),
        ({"categories": None}, "categories", "is required: C1 (air), C9 (high-speed rail)"),
        ({"reason": "holiday"}, "reason", "'holiday' is not one of illness, funeral"),
        ({"person": PERSON_ID}, "person", "is not a person bound by this order"),
        ({"person": "91110105MA01ABCD5F"}, "person", "an organisation cannot travel"),
        ({"until": None}, "until", "is required"),
        ({"note": "x"}, "note", "unknown field"),
    ],
)
def test_bad_exemptions(changes: dict[str, Any], field: str, reason: str) -> None:
    found = refused_exemption(exemption(**changes), stored_org_restriction())
    assert list(found) == [field]
    assert reason in found[field]


def test_exemption_needs_the_category_on_the_order() -> None:
    restriction = stored_org_restriction(categories=["C1", "C2"])
    assert refused_exemption(exemption(categories=["C1", "C9"]), restriction) == {
        "categories": "the order does not restrict C9"
    }


def test_released_person_and_lifted_order() -> None:
    released = stored_org_restriction()
    released["bound_persons"][0]["released_on"] = "2026-01-05"
    assert refused_exemption(exemption(), released) == {
        "person": f"{REP_ID} was released from this order on 2026-01-05"
    }
    assert refused_exemption(exemption(), stored_org_restriction(status="lifted")) == {
        "record": "the order is lifted, not active"
    }


def test_person_bound_twice_is_exemptable_while_one_binding_stands() -> None:
    restriction = stored_org_restriction()
    restriction["bound_persons"] = [
        {
            "name": "李娜",
            "id_number": REP_ID,
            "role": "legal_representative",
            "released_on": "2026-01-05",
        },
        {"name": "李娜", "id_number": REP_ID, "role": "actual_controller", "released_on": None},
    ]
    assert validate_exemption(exemption(), restriction=restriction, today=TODAY)["person"] == REP_ID


# --- reason codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("removal", codes.REMOVAL_REASONS),
        ("revocation", codes.REVOCATION_REASONS),
        ("correction", codes.CORRECTION_REASONS),
        ("lift", codes.LIFT_REASONS),
        ("release", codes.RELEASE_REASONS),
    ],
)
def test_check_reason(kind: str, allowed: tuple[str, ...]) -> None:
    for code in allowed:
        assert check_reason(kind, code) == code
    with pytest.raises(InvalidValue) as exc:
        check_reason(kind, "because")
    assert str(exc.value) == f"'because' is not a {kind} reason; use one of {', '.join(allowed)}"


def test_removal_reasons_are_the_law_s_grounds() -> None:
    assert codes.REMOVAL_REASONS == (
        "performed",
        "settlement_performed",
        "creditor_request",
        "no_property_after_termination",
        "suspended_retrial_or_bankruptcy",
        "not_enforced_ruling",
        "enforcement_terminated",
        "early_by_court",
    )
    with pytest.raises(InvalidValue, match="not a lift reason"):
        check_reason("lift", "wrongly_listed")


def test_unknown_reason_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown reason kind 'pardon'"):
        check_reason("pardon", "performed")


# --- property: any well-formed organisation code passes, any other USCC fails -----------


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
def test_generated_uscc_organisations_validate(body: str) -> None:
    first17 = f"91110105{body}0"
    good = first17 + uscc_check_char(first17)
    out = validate_listing(org_listing(id_number=good), today=TODAY)
    assert out["id_number"] == good
    assert out["id_suspect"] is False


def test_b1_listing_with_false_extension_is_still_checked() -> None:
    assert refused(person_listing(extension_months=False)) == {
        "extension_months": "must be a whole number of months, got true/false False"
    }


def test_code_lists_match_the_domain() -> None:
    assert len(codes.EVENT_TYPES) == 11
    assert codes.BEHAVIOURS == ("B1", "B2", "B3", "B4", "B5", "B6", "legacy_other")
    assert codes.CATEGORIES == ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")
    assert set(codes.EXEMPTABLE_CATEGORIES) <= set(codes.CATEGORIES)
    assert set(codes.PERSON_ID_TYPES) | set(codes.ORGANISATION_ID_TYPES) == set(codes.ID_TYPES)
    for labels in (codes.BEHAVIOUR_LABELS, codes.CATEGORY_LABELS, codes.EVENT_TYPE_LABELS,
                   codes.REMOVAL_REASON_LABELS, codes.BOUND_ROLE_LABELS):  # fmt: skip
        for label in labels.values():
            assert label.en
            assert label.zh
    with pytest.raises(TypeError):
        codes.BEHAVIOUR_LABELS["B7"] = codes.BEHAVIOUR_LABELS["B1"]  # type: ignore[index]


def _with(record: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    """``record`` with the text at ``path`` (``a.b``, ``a.0.b``) replaced by ``value``."""
    *parents, last = path.split(".")
    node: Any = record
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = value
    return record


_TEXT_FIELDS = [
    (samples.person_listing, validate_listing, path) for path in (
        "name", "id_number", "court_code", "court_name", "case_number", "basis_issuer",
        "basis_number", "obligation")
] + [
    (samples.org_listing, validate_listing, "legal_representative.name"),
    (samples.org_restriction, validate_restriction, "name"),
    (samples.org_restriction, validate_restriction, "bound_persons.0.name"),
]


@pytest.mark.parametrize(("bad", "shown"), [
    ("\x00", "control character U+0000"), ("\x1b", "control character U+001B"),
    ("\ud800", "lone surrogate (U+D800"), ("\ufffe", "noncharacter U+FFFE"),
    ("\uffff", "noncharacter U+FFFF"),
])
@pytest.mark.parametrize(("sample", "validate", "path"), _TEXT_FIELDS,
                         ids=[f"{v.__name__}:{p}" for _s, v, p in _TEXT_FIELDS])
def test_text_a_database_or_a_file_cannot_hold_is_refused_by_name(
        sample: Any, validate: Any, path: str, bad: str, shown: str) -> None:
    """NUL cannot be kept by PostgreSQL, a lone surrogate by any UTF-8 or GB18030 file,
    and XML carries no C0 control: each would fail a write or a partner's batch later."""
    original = _path_value(sample(), path)
    found = refused(_with(sample(), path, original[:1] + bad + original[1:]), validate)
    field = re.sub(r"\.(\d+)", r"[\1]", path)  # bound_persons[0].name
    assert list(found) == [field]
    assert shown in found[field]
    assert "at character 2" in found[field]


def _path_value(record: dict[str, Any], path: str) -> str:
    node: Any = record
    for key in path.split("."):
        node = node[int(key)] if key.isdigit() else node[key]
    return str(node)


def test_tabs_and_line_breaks_stay_in_free_text() -> None:
    listing = validate_listing(person_listing(obligation="偿还借款\n本金\t50000元\r\n及利息"),
                               today=TODAY)
    assert listing["obligation"] == "偿还借款\n本金\t50000元\r\n及利息"
