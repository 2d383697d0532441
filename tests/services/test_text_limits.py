"""Text limits: the longest value the rules accept is stored whole on both backends.

PostgreSQL refuses a varchar too long for its column (SQLite keeps it); a rule that
allowed more than the column would let a record pass validation and then fail its
INSERT, a 500 for the clerk instead of an error naming the field.
"""

from __future__ import annotations

import pytest

from hub.context import HubContext
from hub.db.engine import session_scope
from hub.errors import InvalidRecord
from hub.services import registry
from hub.services.actors import Actor
from tests.conftest import NOW
from tests.samples import org_restriction, person_listing

CLERK = Actor("staff:wang", court_code="京0105")
LONGEST = {"name": "张" * 200, "court_name": "法" * 100, "basis_issuer": "院" * 200,
           "basis_number": "号" * 100}


def test_the_longest_texts_the_rules_accept_are_stored_whole(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        registry.add_listing(s, person_listing(**LONGEST), actor=CLERK, now=NOW)
        registry.issue_restriction(s, org_restriction(court_name="法" * 100, listing_id=None),
                                   actor=CLERK, now=NOW)
    with hub_ctx.sessions() as s:
        listing = registry.get_listing(s, "L-2024-000001")
        assert {k: getattr(listing, k) for k in LONGEST} == LONGEST


@pytest.mark.parametrize(("field", "limit"), [("court_name", 100), ("basis_number", 100),
                                               ("basis_issuer", 200), ("name", 200)])
def test_one_character_more_is_refused_naming_the_field(hub_ctx: HubContext, field: str,
                                                        limit: int) -> None:
    with session_scope(hub_ctx.sessions) as s, pytest.raises(InvalidRecord) as refused:
        registry.add_listing(s, person_listing(**{field: "长" * (limit + 1)}), actor=CLERK,
                             now=NOW)
    assert [(p.field, str(p)) for p in refused.value.problems] == [
        (field, f"{field}: is {limit + 1} characters long; at most {limit}")]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"id_type": "other", "id_number": "A" * 33, "gender": "male",
      "birth_date": "1985-03-15"}, "id_number"),
    ({"case_number": "（2024）京0105执" + "1" * 52 + "号"}, "case_number"),
], ids=["other-id-33", "case-number-65"])
def test_an_id_or_case_number_longer_than_its_column_is_refused(
        hub_ctx: HubContext, overrides: dict[str, str], field: str) -> None:
    """An ID of type other holds 32 characters, a case number 64: their formats alone
    allowed more, which PostgreSQL then refused on the INSERT."""
    with session_scope(hub_ctx.sessions) as s, pytest.raises(InvalidRecord) as refused:
        registry.add_listing(s, person_listing(**overrides), actor=CLERK, now=NOW)
    assert [p.field for p in refused.value.problems] == [field]
    assert ("at most 32" if field == "id_number" else "at most 64") in str(refused.value)
