"""SQL that makes PostgreSQL write a partner's full snapshot as JSON Lines itself.

The Python projection (hub.partners.projection) and exporter (hub.exporters.jsonl)
stay the reference: tests/services/test_fast_export.py compares the bytes of both
for every JSON Lines partner. The SQL below mirrors them field by field: one
output line per projected row, keys in the partner's order, compact JSON as
orjson writes it (PostgreSQL's own json builders put spaces in, so lines are
concatenated text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import orjson

from hub.core.records import LISTING_STATE_FIELDS, RESTRICTION_STATE_FIELDS

#: A JSON value stored by SQLAlchemy (``json.dumps``: spaces, ``\\uXXXX``) or by the
#: importer (orjson) rewritten as orjson would write it, keys in stored order.
COMPACT_JSON_FUNCTION: Final = r"""
CREATE OR REPLACE FUNCTION pg_temp.hub_cj(j json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE json_typeof(j)
  WHEN 'object' THEN '{' || coalesce((SELECT string_agg(to_json(e.key)::text || ':'
      || pg_temp.hub_cj(e.value), ',' ORDER BY e.n) FROM json_each(j) WITH ORDINALITY
      AS e(key, value, n)), '') || '}'
  WHEN 'array' THEN '[' || coalesce((SELECT string_agg(pg_temp.hub_cj(a.value), ','
      ORDER BY a.n) FROM json_array_elements(j) WITH ORDINALITY AS a(value, n)), '') || ']'
  WHEN 'string' THEN to_json(j #>> '{}')::text
  ELSE j::text END
$$
"""

_DATES: Final = frozenset({"birth_date", "filed_on", "decided_on", "listed_on", "expires_on",
                           "issued_on", "released_on"})
_JSON: Final = frozenset({"legal_representative", "travel_documents", "behaviours",
                          "categories"})


def _text(expr: str) -> str:
    return f"coalesce(to_json({expr})::text, 'null')"


def _date(expr: str) -> str:
    return f"coalesce('\"' || to_char({expr}, 'YYYY-MM-DD') || '\"', 'null')"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def compact(expr: str) -> str:
    """``expr`` (json) as orjson's compact text: stored text with neither a space nor
    a \\u escape is already that (orjson's own, or json.dumps of [], ["B1"]...);
    anything else is rewritten, slowly, by the function."""
    t = f"{expr}::text"
    return (f"CASE WHEN strpos({t}, ' ') = 0 AND strpos({t}, '\\u') = 0 THEN {t} "
            f"ELSE pg_temp.hub_cj({expr}) END")


def _json(expr: str, labels: Mapping[str, str] | None) -> str:
    out = compact(expr)
    # Codes are whole JSON strings in canonical text: replacing "B1" by "B1 label"
    # is exact, and an empty list stays [] as in the Python projection.
    for code, label in (labels or {}).items():
        out = (f"replace({out}, {_literal(orjson.dumps(code).decode())}, "
               f"{_literal(orjson.dumps(label).decode())})")
    return f"coalesce({out}, 'null')"


def _column(alias: str, field: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    expr = f"{alias}.{field}"
    if field in _DATES:
        return _date(expr)
    if field in _JSON:
        return _json(expr, labels.get(field))
    return _text(expr)


def _exemptions(order: str, person: str | None) -> str:
    who = f" AND e.person = {person}" if person else ""
    item = ("'{\"id\":' || e.id || ',\"person\":' || to_json(e.person)::text"
            " || ',\"categories\":' || " + compact("e.categories") + \
            " || ',\"from\":\"' || to_char(e.from_date, 'YYYY-MM-DD')"
            " || '\",\"until\":\"' || to_char(e.until_date, 'YYYY-MM-DD')"
            " || '\",\"reason\":' || to_json(e.reason)::text || ',\"status\":\"active\"}'")
    return (f"coalesce((SELECT '[' || string_agg({item}, ',' ORDER BY e.id) || ']' "
            f"FROM exemptions e WHERE e.order_id = {order} AND e.status = 'active'{who}), '[]')")


def _bound_persons(order: str) -> str:
    item = ("'{\"name\":' || to_json(b.name)::text || ',\"id_number\":' || to_json(b.id_number)"
            "::text || ',\"role\":' || to_json(b.role)::text || ',\"released_on\":' || "
            + _date("b.released_on") + " || ',\"release_reason\":' || "
            + _text("b.release_reason") + " || '}'")
    return (f"coalesce((SELECT '[' || string_agg({item}, ',' ORDER BY b.position) || ']' "
            f"FROM bound_persons b WHERE b.order_id = {order}), '[]')")


def _line(keys: Sequence[str], values: Sequence[str]) -> str:
    parts = []
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        prefix = ("{" if i == 0 else ",") + orjson.dumps(key).decode() + ":"
        parts.append(f"{_literal(prefix)} || {value}")
    return " || ".join(parts) + " || '}'"


def _listing_value(field: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    if field == "record_type":
        return "'\"listing\"'"
    if field == "record_key":
        return _text("l.listing_id")
    return _column("l", field, labels) if field in LISTING_STATE_FIELDS else "'null'"


def _restriction_value(field: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    if field == "record_type":
        return "'\"restriction\"'"
    if field == "record_key":
        return _text("r.order_id")
    if field == "exemptions":
        return _exemptions("r.order_id", None)
    if field == "bound_persons":
        return _bound_persons("r.order_id")
    return _column("r", field, labels) if field in RESTRICTION_STATE_FIELDS else "'null'"


# An organisation's order as seen by a person-only partner: one row per bound person.
_EXPANDED: Final = {
    "record_type": "'\"restriction\"'",
    "record_key": "to_json(r.order_id || '#' || b.role || '#' || b.id_number)::text",
    "status": _text("r.status"), "status_reason": _text("r.status_reason"),
    "subject_type": "'\"person\"'", "name": _text("b.name"), "id_type": "'\"resident_id\"'",
    "id_number": _text("b.id_number"), "role": _text("b.role"), "travel_documents": "'[]'",
    "exemptions": _exemptions("r.order_id", "b.id_number"),
}
_FROM_ORDER: Final = ("court_code", "court_name", "case_number", "order_id", "issued_on",
                      "categories", "listing_id")


def _expanded_value(field: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    if field in _EXPANDED:
        return _EXPANDED[field]
    return _column("r", field, labels) if field in _FROM_ORDER else "'null'"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")"


def jsonl_queries(
    *,
    fields: Sequence[str],
    keys: Sequence[str],
    records: Sequence[str],
    subjects: Sequence[str],
    labels: Mapping[str, Mapping[str, str]],
    categories: frozenset[str] | None,
) -> list[str]:
    """SELECTs of one text column, a JSON line each with its newline, in snapshot order.

    Listings first, then orders, each by key, as the log path orders them; an
    expanded order's persons in their bound order. Run inside one transaction.
    """
    queries = []
    if "listing" in records:
        line = _line(keys, [_listing_value(f, labels) for f in fields])
        queries.append(f"SELECT {line} || E'\\n' FROM listings l WHERE l.status = 'active' "
                       f"AND l.subject_type IN {_in(subjects)} ORDER BY l.listing_id")
    if "restriction" in records:
        wanted = ""
        if categories is not None:
            wanted = (" AND EXISTS (SELECT 1 FROM json_array_elements_text(r.categories) c "
                      f"WHERE c IN {_in(sorted(categories))})")
        direct = _line(keys, [_restriction_value(f, labels) for f in fields])
        parts = [f"SELECT r.order_id AS k, 0 AS p, {direct} AS line FROM restrictions r "
                 f"WHERE r.status = 'active' AND r.subject_type IN {_in(subjects)}{wanted}"]
        if "person" in subjects and "organisation" not in subjects:
            expanded = _line(keys, [_expanded_value(f, labels) for f in fields])
            parts.append(
                f"SELECT r.order_id, b.position, {expanded} FROM restrictions r "
                "JOIN bound_persons b ON b.order_id = r.order_id WHERE r.status = 'active' "
                f"AND r.subject_type = 'organisation' AND b.released_on IS NULL{wanted}")
        union = " UNION ALL ".join(parts)
        queries.append(f"SELECT line || E'\\n' FROM ({union}) x ORDER BY k, p")
    return queries
