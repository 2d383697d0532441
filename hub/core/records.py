"""Record states: the one JSON shape of a listing or restriction in the change log.

The registry writes these states into the log; the replay check, the exports
and the partner feed read them back. Every state is built here so that a value
read from the database and a value fresh from validation give the same dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from hub.core.rules import LISTING_FIELDS, RESTRICTION_FIELDS

LISTING_STATE_FIELDS: tuple[str, ...] = (*LISTING_FIELDS, "status", "status_reason")

_RESTRICTION_SCALARS = tuple(f for f in RESTRICTION_FIELDS if f != "bound_persons")
RESTRICTION_STATE_FIELDS: tuple[str, ...] = (
    *_RESTRICTION_SCALARS,
    "bound_persons",
    "exemptions",
    "status",
    "status_reason",
)

#: Fields the rules derive; a correction re-validates without them so they are
#: derived again from the corrected inputs instead of contradicting them.
_DERIVED = ("case_number_key", "id_suspect", "expires_on")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


_LISTING_DATES = ("birth_date", "filed_on", "decided_on", "listed_on", "expires_on")


def listing_state(values: Mapping[str, Any]) -> dict[str, Any]:
    """The full state of a listing, from validated values or a database row."""
    # On the bulk import path: one pass to copy, then only the date fields.
    state = {name: values[name] for name in LISTING_STATE_FIELDS}
    for name in _LISTING_DATES:
        value = state[name]
        if value is not None and not isinstance(value, str):
            state[name] = value.isoformat()
    return state


def bound_person_state(person: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": person["name"],
        "id_number": person["id_number"],
        "role": person["role"],
        "released_on": _iso(person.get("released_on")),
        "release_reason": person.get("release_reason"),
    }


def exemption_state(exemption: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": exemption["id"],
        "person": exemption["person"],
        "categories": list(exemption["categories"]),
        "from": _iso(exemption["from"]),
        "until": _iso(exemption["until"]),
        "reason": exemption["reason"],
        "status": exemption["status"],
    }


def restriction_state(
    values: Mapping[str, Any],
    bound_persons: Iterable[Mapping[str, Any]],
    exemptions: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """The full state of a restriction order with its bound persons and exemptions."""
    state = {name: _iso(values[name]) for name in _RESTRICTION_SCALARS}
    state["bound_persons"] = [bound_person_state(p) for p in bound_persons]
    state["exemptions"] = [exemption_state(e) for e in exemptions]
    state["status"] = values["status"]
    state["status_reason"] = values["status_reason"]
    return state


def to_import_shape(values: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Turn stored values back into import input, so a correction re-runs every rule."""
    raw: dict[str, Any] = {}
    for name in fields:
        if name in _DERIVED:
            continue
        value = values[name]
        if name in ("gender", "birth_date") and values.get("id_type") == "resident_id":
            continue  # derived from the resident ID
        if value is None:
            continue
        raw[name] = _iso(value)
    return raw


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Names whose values differ, in the order of ``after``."""
    return [name for name, value in after.items() if before.get(name) != value]
