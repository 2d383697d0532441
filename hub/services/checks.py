"""Real-time checks (``POST /checks``): is this ID under an active listing or restriction?

The answer is the caller's projection of each matching record, so a check
never shows a partner more than its feed would; one rule, kept in
:meth:`PartnerAdapter.project`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from hub.core.records import listing_state
from hub.core.subjects import subject_hash
from hub.db.engine import one_of
from hub.db.models import BoundPerson, Listing, Restriction
from hub.partners.base import PartnerAdapter
from hub.partners.projection import Row
from hub.services.registry import current_restriction_state, listing_values

MAX_SUBJECTS: Final = 1000

#: Consumption measures and the restriction categories (DOMAIN.md §1) each enforces;
#: a restriction concerns such a measure only through these categories.
MEASURE_CATEGORIES: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    "flight": frozenset({"C1"}),
    "rail": frozenset({"C1", "C9"}),
    "hotel_venue": frozenset({"C2"}),
    "property_vehicle": frozenset({"C3", "C5"}),
    "travel": frozenset({"C6"}),
    "private_school": frozenset({"C7"}),
    "insurance_product": frozenset({"C8"}),
})


@dataclass(slots=True)
class SubjectResult:
    id_number: str
    matches: list[dict[str, Any]] = field(default_factory=list)


def _measures(adapter: PartnerAdapter, kind: str, categories: Iterable[str]) -> list[str]:
    """The caller's measures a record concerns: all of them for a listing (it implies
    every joint sanction); for a restriction, those its categories reach."""
    measures = adapter.config.measures
    if kind == "listing":
        return list(measures)
    cats = set(categories)
    return [m for m in measures if m not in MEASURE_CATEGORIES or MEASURE_CATEGORIES[m] & cats]


def _exempted(state: Mapping[str, Any], person: str) -> set[str]:
    return {c for e in state.get("exemptions", ()) if e["status"] == "active"
            and e["person"] == person for c in e["categories"]}


def _match(adapter: PartnerAdapter, kind: str, state: Mapping[str, Any], row: Row,
           id_number: str, role: str | None) -> dict[str, Any]:
    categories = set(state.get("categories") or ()) - _exempted(state, id_number)
    match = {"matched_as": "bound_person" if role else "subject", **row,
             "measures": _measures(adapter, kind, categories)}
    if role:
        match["role"] = role
    return match


def active_orders(ids: Sequence[str], dialect: str = "") -> Select[Restriction]:
    """Active orders whose subject or a bound person has one of ``ids``.

    A UNION of two index lookups, not ``id_number IN ids OR order_id IN (subquery)``:
    PostgreSQL can use no index for that OR and scans every order (~100 ms at 500k).
    """
    orders = union(
        select(Restriction.order_id).where(one_of(Restriction.id_number, ids, dialect)),
        select(BoundPerson.order_id).where(one_of(BoundPerson.id_number, ids, dialect)),
    )
    return select(Restriction).where(Restriction.status == "active",
                                     Restriction.order_id.in_(orders))


def _records(session: Session, ids: Sequence[str]) -> Iterable[tuple[str, dict[str, Any]]]:
    """Active listings and orders whose subject or a bound person has one of ``ids``."""
    dialect = session.get_bind().dialect.name
    for listing in session.scalars(
        select(Listing).where(one_of(Listing.id_number, ids, dialect), Listing.status == "active")
    ):
        yield "listing", listing_state(listing_values(listing))
    for order in session.scalars(active_orders(ids, dialect)):
        yield "restriction", current_restriction_state(order)


def check_subjects(session: Session, adapter: PartnerAdapter,
                   id_numbers: Sequence[str]) -> list[SubjectResult]:
    """One result per asked ID (in the order asked, duplicates once), each with the
    caller's active rows that concern it; an exit or an out-of-scope record gives none."""
    ids = list(dict.fromkeys(i.strip().upper() for i in id_numbers))
    if len(ids) > MAX_SUBJECTS:
        raise ValueError(f"at most {MAX_SUBJECTS} subjects per check")
    results = {i: SubjectResult(i) for i in ids}
    for kind, state in _records(session, ids):
        persons = {p["id_number"]: p for p in state.get("bound_persons", ())
                   if p.get("released_on") is None}
        for row in adapter.project(kind, state):
            if row["status"] != "active":
                continue
            if state["id_number"] in results and "#" not in row["record_key"]:
                results[state["id_number"]].matches.append(
                    _match(adapter, kind, state, row, state["id_number"], None))
            for pid, person in persons.items():
                # A person-only partner gets one row per bound person (key ORDER#role#ID);
                # any other gets the organisation's row, which binds them all.
                own_row = row["record_key"].endswith(f"#{pid}")
                if pid in results and (own_row or "#" not in row["record_key"]):
                    results[pid].matches.append(
                        _match(adapter, kind, state, row, pid, person["role"]))
    return list(results.values())


def hashes(id_numbers: Iterable[str]) -> str:
    """The access record's ``subjects`` column for these IDs."""
    return " ".join(subject_hash(i) for i in id_numbers)
