"""CSV flattening: unflatten_row and flatten_record are inverses."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.core.demo import generate
from hub.core.flat import column_for, csv_problem, flatten_record, unflatten_row
from hub.core.rules import validate_listing, validate_restriction
from hub.errors import FieldProblem

TODAY = date(2026, 11, 25)


def test_unflatten_nests_and_converts() -> None:
    row = {
        "listing_id": "L-1",
        "name": "北京某某贸易有限公司",
        "filed_on": "",
        "basis_number": "   ",
        "legal_representative_name": "李娜",
        "legal_representative_id_number": "320102197907040241",
        "behaviours": "B3; B4;",
        "id_confirmed": "TRUE",
        "security_covers_debt": "0",
        "term_months": " 24 ",
        "extension_months": "twelve",
        "travel_documents": "passport:E12345678; hk_macao_permit:C1234567",
    }
    assert unflatten_row(row) == {
        "listing_id": "L-1",
        "name": "北京某某贸易有限公司",
        "legal_representative": {"name": "李娜", "id_number": "320102197907040241"},
        "behaviours": ["B3", "B4"],
        "id_confirmed": True,
        "security_covers_debt": False,
        "term_months": 24,
        "extension_months": "twelve",  # kept, so the rules can name the problem
        "travel_documents": [
            {"type": "passport", "number": "E12345678"},
            {"type": "hk_macao_permit", "number": "C1234567"},
        ],
    }


def test_unflatten_bound_persons_keeps_positions() -> None:
    row = {
        "bound_persons_1_name": "李娜",
        "bound_persons_1_id_number": "320102197907040241",
        "bound_persons_1_role": "legal_representative",
        "bound_persons_2_name": "",
        "bound_persons_3_role": "actual_controller",
        "bound_persons_4_name": "",
        "categories": "C1;C9",
    }
    assert unflatten_row(row) == {
        "bound_persons": [
            {"name": "李娜", "id_number": "320102197907040241", "role": "legal_representative"},
            {},
            {"role": "actual_controller"},
        ],
        "categories": ["C1", "C9"],
    }


def test_unflatten_leaves_odd_cells_for_the_rules() -> None:
    row: dict[str, str | None] = {
        "id_confirmed": "yes",
        "travel_documents": "E12345678",
        "bound_persons_x_name": "李娜",
        "legal_representative_phone": "123",
        "extra": None,
    }
    assert unflatten_row(row) == {
        "id_confirmed": "yes",
        "travel_documents": [{"number": "E12345678"}],
        "bound_persons_x_name": "李娜",
        "legal_representative": {"phone": "123"},
    }


def test_flatten_writes_cells() -> None:
    record = {
        "listing_id": "L-1",
        "legal_representative": {"name": "李娜", "id_number": None},
        "bound_persons": [{"name": "王强", "id_number": "1", "role": "actual_controller"}],
        "behaviours": ["B1", "B2"],
        "travel_documents": [{"type": "passport", "number": "E12345678"}],
        "decided_on": date(2024, 6, 3),
        "id_confirmed": True,
        "security_covers_debt": False,
        "term_months": None,
        "extension_months": 0,
    }
    assert flatten_record(record) == {
        "listing_id": "L-1",
        "legal_representative_name": "李娜",
        "legal_representative_id_number": "",
        "bound_persons_1_name": "王强",
        "bound_persons_1_id_number": "1",
        "bound_persons_1_role": "actual_controller",
        "behaviours": "B1;B2",
        "travel_documents": "passport:E12345678",
        "decided_on": "2024-06-03",
        "id_confirmed": "true",
        "security_covers_debt": "false",
        "term_months": "",
        "extension_months": "0",
    }


@pytest.mark.parametrize(
    ("field", "column"),
    [
        ("bound_persons[0].role", "bound_persons_1_role"),
        ("bound_persons[11].id_number", "bound_persons_12_id_number"),
        ("bound_persons[1]", "bound_persons_2_*"),
        ("bound_persons", "bound_persons_*"),
        ("legal_representative.id_number", "legal_representative_id_number"),
        ("legal_representative", "legal_representative_*"),
        ("travel_documents", "travel_documents"),
        ("behaviours", "behaviours"),
        ("travel_documents[0].number", "travel_documents"),
        ("name", "name"),
    ],
)
def test_column_for(field: str, column: str) -> None:
    assert column_for(field) == column


def test_csv_problem_names_the_columns_in_the_reason_too() -> None:
    problem = FieldProblem("bound_persons[1]", "320102197907040241 is already bound as "
                           "legal_representative (bound_persons[0])")
    assert csv_problem(problem) == FieldProblem(
        "bound_persons_2_*", "320102197907040241 is already bound as legal_representative "
        "(bound_persons_1_*)")


_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters=";:"
    ),
    min_size=1,
    max_size=8,
)
_raw_records = st.fixed_dictionaries(
    {},
    optional={
        "name": _text,
        "id_number": _text,
        "decided_on": _text,
        "behaviours": st.lists(_text, min_size=1, max_size=3),
        "categories": st.lists(st.sampled_from(["C1", "C5", "C9"]), min_size=1),
        "id_confirmed": st.booleans(),
        "security_covers_debt": st.booleans(),
        "term_months": st.integers(0, 99),
        "extension_months": st.integers(0, 99),
        "legal_representative": st.fixed_dictionaries(
            {"name": _text}, optional={"id_number": _text}
        ),
        "bound_persons": st.lists(
            st.fixed_dictionaries({"name": _text, "id_number": _text, "role": _text}), max_size=3
        ),
        "travel_documents": st.lists(
            st.fixed_dictionaries({"type": _text, "number": _text}), max_size=3
        ),
    },
)


@given(_raw_records)
def test_round_trip_of_import_records(record: dict[str, Any]) -> None:
    if record.get("bound_persons") == [] or record.get("travel_documents") == []:
        # An empty list and an absent key are one and the same in a CSV row.
        record = {k: v for k, v in record.items() if v != []}
    assert unflatten_row(flatten_record(record)) == record


def test_csv_file_round_trip_of_demo_records_validates_the_same() -> None:
    for kind, raw in generate(300, seed=7, today=TODAY):
        validate = validate_listing if kind == "listing" else validate_restriction
        expected = validate(raw, today=TODAY)
        buffer = io.StringIO()
        row = flatten_record(expected)
        writer = csv.DictWriter(buffer, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
        buffer.seek(0)
        (read,) = csv.DictReader(buffer)
        assert validate(unflatten_row(read), today=TODAY) == expected
