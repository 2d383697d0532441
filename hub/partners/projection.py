"""Projection: a record's state, seen through one partner's scope.

One record can give a partner zero rows (out of scope), one row, or, for a
person-only partner and an organisation's restriction, one row per natural
person the order binds: those are the IDs an airline or a railway blocks.
Rows carry only the partner's fields (data minimisation) plus the fields every
partner needs to keep its copy right (ALWAYS_FIELDS).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from hub.partners.fields import ALWAYS_FIELDS
from hub.partners.model import Scope

Row = dict[str, Any]

#: Status of a row the partner held and must now delete although the record
#: itself lives on (a correction moved it out of the partner's scope).
WITHDRAWN = "withdrawn"


def _active_exemptions(state: Mapping[str, Any], person: str | None) -> list[dict[str, Any]]:
    return [
        e for e in state.get("exemptions", ())
        if e["status"] == "active" and (person is None or e["person"] == person)
    ]


@lru_cache(maxsize=512)
def _names(fields: tuple[str, ...]) -> tuple[str, ...]:
    """A row's keys in output order, each once (a partner's scope is fixed: the feed
    projects thousands of states a page through the same few scopes)."""
    return tuple(dict.fromkeys((*ALWAYS_FIELDS, *fields)))


def _row(base: Mapping[str, Any], fields: Sequence[str]) -> Row:
    return {name: base.get(name) for name in _names(tuple(fields))}


def _state_row(state: Mapping[str, Any], fields: Sequence[str], record_type: str,
               record_key: str) -> Row:
    """The row of a record projected as itself: the state's values, read in place."""
    get = state.get
    row = {name: get(name) for name in _names(tuple(fields))}
    row["record_type"], row["record_key"] = record_type, record_key  # ALWAYS_FIELDS
    return row


def project_listing(state: Mapping[str, Any], scope: Scope) -> list[Row]:
    if "listing" not in scope.records or state["subject_type"] not in scope.subjects:
        return []
    return [_state_row(state, scope.fields, "listing", state["listing_id"])]


def project_restriction(state: Mapping[str, Any], scope: Scope) -> list[Row]:
    if "restriction" not in scope.records:
        return []
    order_id = state["order_id"]
    if state["subject_type"] in scope.subjects:
        row = _state_row(state, scope.fields, "restriction", order_id)
        if "exemptions" in row:
            row["exemptions"] = _active_exemptions(state, None)
        return [row]
    if state["subject_type"] != "organisation" or "person" not in scope.subjects:
        return []
    # A person-only partner: the order reaches it through the persons it binds,
    # never through the organisation's own identity.
    rows = []
    for person in state["bound_persons"]:
        released = person.get("released_on") is not None
        base = {
            "record_type": "restriction",
            "record_key": f"{order_id}#{person['role']}#{person['id_number']}",
            "status": "released" if released and state["status"] == "active" else state["status"],
            "status_reason": person.get("release_reason") if released else state["status_reason"],
            "subject_type": "person",
            "name": person["name"],
            "id_type": "resident_id",
            "id_number": person["id_number"],
            "role": person["role"],
            "travel_documents": [],
            "exemptions": _active_exemptions(state, person["id_number"]),
        }
        for name in ("court_code", "court_name", "case_number", "order_id", "issued_on",
                     "categories", "listing_id"):
            base[name] = state[name]
        rows.append(_row(base, scope.fields))
    return rows


def project(kind: str, state: Mapping[str, Any], scope: Scope) -> list[Row]:
    """Rows of one record state for a partner with this scope (generic rule)."""
    if kind == "listing":
        return project_listing(state, scope)
    return project_restriction(state, scope)


def withdrawn(old: Row) -> Row:
    """The exit row for a row the partner held that the record no longer projects to."""
    return {
        "record_type": old["record_type"],
        "record_key": old["record_key"],
        "status": WITHDRAWN,
        "status_reason": "out_of_scope",
        **{k: None for k in old if k not in ALWAYS_FIELDS},
    }
