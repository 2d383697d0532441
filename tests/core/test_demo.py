"""Synthetic demo data: deterministic, streaming, and always valid."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.core.demo import COURTS, generate
from hub.core.identifiers import parse_court_code
from hub.core.rules import validate_listing, validate_restriction

TODAY = date(2026, 11, 25)


def test_same_seed_same_records() -> None:
    first = list(generate(200, seed=42, today=TODAY))
    assert first == list(generate(200, seed=42, today=TODAY))
    assert first != list(generate(200, seed=43, today=TODAY))


def test_it_streams() -> None:
    # A billion subjects would never fit in memory; the generator only makes what is asked.
    head = list(itertools.islice(generate(10**9, seed=1, today=TODAY), 5))
    assert len(head) == 5


def test_every_record_validates_and_the_mix_is_as_described() -> None:
    kinds: Counter[str] = Counter()
    subjects: Counter[str] = Counter()
    listing_ids: set[str] = set()
    order_ids: set[str] = set()
    linked = persons_with_documents = persons = 0
    previous_listing = None
    for kind, raw in generate(3000, seed=5, today=TODAY):
        kinds[kind] += 1
        if kind == "listing":
            out = validate_listing(raw, today=TODAY)
            assert re.fullmatch(r"L-\d{4}-\d{6}", out["listing_id"])
            assert out["listing_id"][2:6] == str(out["decided_on"].year)
            listing_ids.add(out["listing_id"])
            previous_listing = out
            continue
        out = validate_restriction(raw, today=TODAY)
        assert re.fullmatch(r"R-\d{4}-\d{6}", out["order_id"])
        order_ids.add(out["order_id"])
        subjects[out["subject_type"]] += 1
        if out["listing_id"] is not None:
            linked += 1
            # The order follows its listing and names the same debtor and case.
            assert previous_listing is not None
            assert out["listing_id"] == previous_listing["listing_id"]
            assert out["id_number"] == previous_listing["id_number"]
            assert out["case_number"] == previous_listing["case_number"]
        if out["subject_type"] == "organisation":
            assert 1 <= len(out["bound_persons"]) <= 3
            assert out["bound_persons"][0]["role"] == "legal_representative"
        else:
            persons += 1
            persons_with_documents += bool(out["travel_documents"])
        previous_listing = None
    assert kinds["restriction"] == 3000
    assert len(order_ids) == 3000
    assert len(listing_ids) == kinds["listing"] == linked
    assert 0.85 < linked / 3000 < 0.95
    assert 0.75 < subjects["person"] / 3000 < 0.85
    assert 0.15 < persons_with_documents / persons < 0.25


def test_behaviours_mix() -> None:
    seen: Counter[str] = Counter()
    for kind, raw in generate(2000, seed=9, today=TODAY):
        if kind == "listing":
            seen.update(raw["behaviours"])
    assert set(seen) == {"B1", "B2", "B3", "B4", "B5", "B6"}


def test_court_table_is_well_formed() -> None:
    assert len(COURTS) >= 40
    assert len({c[0] for c in COURTS}) == len(COURTS)
    for code, name, area, _city in COURTS:
        assert parse_court_code(code) == code
        assert name.endswith("人民法院")
        assert re.fullmatch(r"\d{6}", area)
        if len(code) == 5:  # a basic court: the last 4 digits of its division code
            assert area.endswith(code[1:])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
)
def test_generated_records_always_validate(seed: int, today: date) -> None:
    for kind, raw in generate(60, seed=seed, today=today):
        validate = validate_listing if kind == "listing" else validate_restriction
        validate(raw, today=today)


def test_today_must_be_recent_enough() -> None:
    with pytest.raises(ValueError, match="2000 or later"):
        next(generate(1, seed=1, today=date(1999, 12, 31)))
