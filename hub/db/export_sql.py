"""SQL that makes PostgreSQL write a partner's full snapshot (JSON Lines or CSV) itself.

The Python projection (hub.partners.projection) and exporters (hub.exporters)
stay the reference: tests/services/test_fast_export.py compares the bytes of both
for every partner that takes this path. The SQL below mirrors them field by field: one
output line per projected row, keys in the partner's order, compact JSON as
orjson writes it (PostgreSQL's own json builders put spaces in, so lines are
concatenated text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Protocol

import orjson

from hub.core.records import LISTING_STATE_FIELDS, RESTRICTION_STATE_FIELDS
from hub.exporters.csv import cell, quote

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



def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _json_text(expr: str) -> str:
    return f"coalesce(to_json({expr})::text, 'null')"


def _json_date(expr: str) -> str:
    return f"coalesce('\"' || to_char({expr}, 'YYYY-MM-DD') || '\"', 'null')"


def compact(expr: str) -> str:
    """``expr`` (json) as orjson's compact text: stored text with neither a space nor
    a \\u escape is already that (orjson's own, or json.dumps of [], ["B1"]...);
    anything else is rewritten, slowly, by the function."""
    t = f"{expr}::text"
    return (f"CASE WHEN strpos({t}, ' ') = 0 AND strpos({t}, '\\u') = 0 THEN {t} "
            f"ELSE pg_temp.hub_cj({expr}) END")


def _exemptions(order: str, person: str | None) -> str:
    who = f" AND e.person = {person}" if person else ""
    item = ("'{\"id\":' || e.id || ',\"person\":' || to_json(e.person)::text"
            " || ',\"categories\":' || " + compact("e.categories")
            + " || ',\"from\":\"' || to_char(e.from_date, 'YYYY-MM-DD')"
            " || '\",\"until\":\"' || to_char(e.until_date, 'YYYY-MM-DD')"
            " || '\",\"reason\":' || to_json(e.reason)::text || ',\"status\":\"active\"}'")
    return (f"coalesce((SELECT '[' || string_agg({item}, ',' ORDER BY e.id) || ']' "
            f"FROM exemptions e WHERE e.order_id = {order} AND e.status = 'active'{who}), '[]')")


def _bound_persons(order: str) -> str:
    item = ("'{\"name\":' || to_json(b.name)::text || ',\"id_number\":' || to_json(b.id_number)"
            "::text || ',\"role\":' || to_json(b.role)::text || ',\"released_on\":' || "
            + _json_date("b.released_on") + " || ',\"release_reason\":' || "
            + _json_text("b.release_reason") + " || '}'")
    return (f"coalesce((SELECT '[' || string_agg({item}, ',' ORDER BY b.position) || ']' "
            f"FROM bound_persons b WHERE b.order_id = {order}), '[]')")


class Format(Protocol):
    """How one output format writes a value of each kind, and a line of values."""

    #: What ends a line (SQL).
    terminator: str

    def text(self, expr: str) -> str: ...
    def date(self, expr: str) -> str: ...
    def json(self, expr: str, field: str, labels: Mapping[str, str] | None) -> str: ...
    #: A value already built as compact JSON text (exemptions, bound persons).
    def built(self, json_text: str) -> str: ...
    def const(self, value: str | None) -> str: ...
    def line(self, keys: Sequence[str], values: Sequence[str]) -> str: ...


class JsonlFormat:
    """Values as orjson writes them, in one object per line."""

    terminator = "E'\\n'"

    def text(self, expr: str) -> str:
        return _json_text(expr)

    def date(self, expr: str) -> str:
        return _json_date(expr)

    def json(self, expr: str, field: str, labels: Mapping[str, str] | None) -> str:
        out = compact(expr)
        # Codes are whole JSON strings in compact text: replacing "B1" by "B1 label"
        # is exact, and an empty list stays [] as in the Python projection.
        for code, label in (labels or {}).items():
            out = (f"replace({out}, {literal(orjson.dumps(code).decode())}, "
                   f"{literal(orjson.dumps(label).decode())})")
        return f"coalesce({out}, 'null')"

    def built(self, json_text: str) -> str:
        return json_text

    def const(self, value: str | None) -> str:
        return literal(orjson.dumps(value).decode())

    def line(self, keys: Sequence[str], values: Sequence[str]) -> str:
        parts = []
        for i, (key, value) in enumerate(zip(keys, values, strict=True)):
            prefix = ("{" if i == 0 else ",") + orjson.dumps(key).decode() + ":"
            parts.append(f"{literal(prefix)} || {value}")
        return " || ".join(parts) + " || '}'"


#: A CSV cell as hub.exporters.csv writes text: the formula guard, then RFC 4180
#: quoting. One SQL expression, so the planner inlines it.
CSV_CELL_FUNCTION: Final = r"""
CREATE OR REPLACE FUNCTION pg_temp.hub_csv_quote(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN t ~ '[,"\r\n]' THEN '"' || replace(t, '"', '""') || '"' ELSE t END
$$;
CREATE OR REPLACE FUNCTION pg_temp.hub_csv(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT pg_temp.hub_csv_quote(CASE WHEN left(t, 1) IN ('=', '+', '-', '@', E'\t', E'\r')
                                  THEN '''' || t ELSE t END)
$$
"""
_CODE_LISTS: Final = frozenset({"behaviours", "categories"})


class CsvFormat:
    """Values as hub.exporters.csv cells: empty for null, codes joined with ``;``."""

    terminator = "E'\\r\\n'"

    def text(self, expr: str) -> str:
        return f"coalesce(pg_temp.hub_csv({expr}), '')"

    def date(self, expr: str) -> str:
        return f"coalesce(to_char({expr}, 'YYYY-MM-DD'), '')"

    def json(self, expr: str, field: str, labels: Mapping[str, str] | None) -> str:
        if labels:
            raise ValueError("code labels in CSV take the reference path")
        if field in _CODE_LISTS:
            joined = f"array_to_string(ARRAY(SELECT json_array_elements_text({expr})), ';')"
            return f"coalesce(pg_temp.hub_csv({joined}), '')"
        return self.built(compact(expr))

    def built(self, json_text: str) -> str:
        # An empty list is an empty cell; any other structure its JSON, never guarded.
        return (f"coalesce((SELECT CASE WHEN j = '[]' THEN '' ELSE pg_temp.hub_csv_quote(j) END"
                f" FROM (SELECT {json_text} AS j) AS v), '')")

    def const(self, value: str | None) -> str:
        return literal(quote(cell(value)))

    def line(self, keys: Sequence[str], values: Sequence[str]) -> str:
        return " || ',' || ".join(values)


Labels = Mapping[str, Mapping[str, str]]


def _column(fmt: Format, alias: str, field: str, labels: Labels) -> str:
    expr = f"{alias}.{field}"
    if field in _DATES:
        return fmt.date(expr)
    if field in _JSON:
        return fmt.json(expr, field, labels.get(field))
    return fmt.text(expr)


def _listing_value(fmt: Format, field: str, labels: Labels) -> str:
    if field == "record_type":
        return fmt.const("listing")
    if field == "record_key":
        return fmt.text("l.listing_id")
    return _column(fmt, "l", field, labels) if field in LISTING_STATE_FIELDS else fmt.const(None)


def _restriction_value(fmt: Format, field: str, labels: Labels) -> str:
    if field == "record_type":
        return fmt.const("restriction")
    if field == "record_key":
        return fmt.text("r.order_id")
    if field == "exemptions":
        return fmt.built(_exemptions("r.order_id", None))
    if field == "bound_persons":
        return fmt.built(_bound_persons("r.order_id"))
    if field in RESTRICTION_STATE_FIELDS:
        return _column(fmt, "r", field, labels)
    return fmt.const(None)


_FROM_ORDER: Final = ("court_code", "court_name", "case_number", "order_id", "issued_on",
                      "categories", "listing_id", "status", "status_reason")
_EXPANDED_CONSTS: Final = {"record_type": "restriction", "subject_type": "person",
                           "id_type": "resident_id"}


def _expanded_value(fmt: Format, field: str, labels: Labels) -> str:
    """An organisation's order as seen by a person-only partner: one row per bound person."""
    if field in _EXPANDED_CONSTS:
        return fmt.const(_EXPANDED_CONSTS[field])
    if field == "record_key":
        return fmt.text("r.order_id || '#' || b.role || '#' || b.id_number")
    if field in ("name", "id_number", "role"):
        return fmt.text(f"b.{field}")
    if field == "travel_documents":
        return fmt.built("'[]'")
    if field == "exemptions":
        return fmt.built(_exemptions("r.order_id", "b.id_number"))
    return _column(fmt, "r", field, labels) if field in _FROM_ORDER else fmt.const(None)


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def snapshot_queries(
    fmt: Format,
    *,
    fields: Sequence[str],
    keys: Sequence[str],
    records: Sequence[str],
    subjects: Sequence[str],
    labels: Labels,
    categories: frozenset[str] | None,
) -> list[str]:
    """SELECTs of one text column, a line each with its terminator, in snapshot order.

    Listings first, then orders, each by key, as the log path orders them; an
    expanded order's persons in their bound order. Run inside one transaction.
    """
    end = fmt.terminator
    queries = []
    if "listing" in records:
        line = fmt.line(keys, [_listing_value(fmt, f, labels) for f in fields])
        queries.append(f"SELECT {line} || {end} FROM listings l WHERE l.status = 'active' "
                       f"AND l.subject_type IN {_in(subjects)} ORDER BY l.listing_id")
    if "restriction" in records:
        wanted = ""
        if categories is not None:
            wanted = (" AND EXISTS (SELECT 1 FROM json_array_elements_text(r.categories) c "
                      f"WHERE c IN {_in(sorted(categories))})")
        direct = fmt.line(keys, [_restriction_value(fmt, f, labels) for f in fields])
        parts = [f"SELECT r.order_id AS k, 0 AS p, {direct} AS line FROM restrictions r "
                 f"WHERE r.status = 'active' AND r.subject_type IN {_in(subjects)}{wanted}"]
        if "person" in subjects and "organisation" not in subjects:
            expanded = fmt.line(keys, [_expanded_value(fmt, f, labels) for f in fields])
            parts.append(
                f"SELECT r.order_id, b.position, {expanded} FROM restrictions r "
                "JOIN bound_persons b ON b.order_id = r.order_id WHERE r.status = 'active' "
                f"AND r.subject_type = 'organisation' AND b.released_on IS NULL{wanted}")
        union = " UNION ALL ".join(parts)
        queries.append(f"SELECT line || {end} FROM ({union}) x ORDER BY k, p")
    return queries
