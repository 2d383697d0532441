"""SQL that makes PostgreSQL write a partner's full snapshot (JSON Lines or CSV) itself.

The Python projection (hub.partners.projection) and exporters (hub.exporters)
stay the reference: tests/services/test_fast_export.py compares the bytes of both
for every partner that takes this path. The SQL below mirrors them field by field: one
output line per projected row, keys in the partner's order, compact JSON as
orjson writes it.

Each query has two levels. The inner one selects the partner's fields as typed
values (text, date, json), joined to the bound persons and the exemptions
aggregated once per order (a join on the order id, not a subquery per row),
and numbers them in key order: narrow rows, not finished lines. The outer one turns each row
into its line: for JSON Lines one ``to_json`` of the row (compact like
orjson, keys in column order, strings escaped as orjson escapes them, json
values verbatim), for CSV its cells joined with commas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import orjson

from hub.core.records import LISTING_STATE_FIELDS, RESTRICTION_STATE_FIELDS
from hub.exporters.csv import cell, quote
from hub.exporters.xml import XmlDialect
from hub.exporters.xml import escape as xml_escape

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


def identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


#: PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes).
MAX_KEY_BYTES: Final = 63


def keys_fit(keys: Sequence[str]) -> bool:
    """Whether every key can be a column alias as it is (to_json names keys by them)."""
    return all(0 < len(k.encode()) <= MAX_KEY_BYTES and "\x00" not in k for k in keys)


def compact(expr: str) -> str:
    """``expr`` (json) as orjson's compact text: stored text with neither a space nor
    a \\u escape is already that (orjson's own, or json.dumps of [], ["B1"]...);
    anything else is rewritten, slowly, by the function. NULL stays NULL without
    calling it (it is recursive, so never inlined)."""
    t = f"{expr}::text"
    return (f"CASE WHEN {expr} IS NULL THEN NULL "
            f"WHEN strpos({t}, ' ') = 0 AND strpos({t}, '\\u') = 0 THEN {t} "
            f"ELSE pg_temp.hub_cj({expr}) END")


def _json_date(expr: str) -> str:
    return f"coalesce('\"' || to_char({expr}, 'YYYY-MM-DD') || '\"', 'null')"


def json_exemptions_by_order(by_person: bool, wanted: str = "") -> str:
    """Active exemptions as compact JSON text, one row per order (and person);
    ``wanted``: further `` AND`` conditions on ``e``."""
    item = ("'{\"id\":' || e.id || ',\"person\":' || to_json(e.person)::text"
            " || ',\"categories\":' || " + compact("e.categories")
            + " || ',\"from\":\"' || to_char(e.from_date, 'YYYY-MM-DD')"
            " || '\",\"until\":\"' || to_char(e.until_date, 'YYYY-MM-DD')"
            " || '\",\"reason\":' || to_json(e.reason)::text || ',\"status\":\"active\"}'")
    keys = "e.order_id, e.person" if by_person else "e.order_id"
    return (f"SELECT {keys}, '[' || string_agg({item}, ',' ORDER BY e.id) || ']' AS j "
            f"FROM exemptions e WHERE e.status = 'active'{wanted} GROUP BY {keys}")


JSON_BOUND_PERSONS_BY_ORDER: Final = (
    "SELECT b.order_id, '[' || string_agg('{\"name\":' || to_json(b.name)::text"
    " || ',\"id_number\":' || to_json(b.id_number)::text || ',\"role\":' || to_json(b.role)::text"
    " || ',\"released_on\":' || " + _json_date("b.released_on")
    + " || ',\"release_reason\":' || coalesce(to_json(b.release_reason)::text, 'null') || '}',"
    " ',' ORDER BY b.position) || ']' AS j FROM bound_persons b GROUP BY b.order_id")


@dataclass(frozen=True, slots=True)
class Value:
    """One field of a row as the inner query selects it."""

    #: ``text``, ``date``, ``json`` (a json column), ``built`` (compact JSON text
    #: built by the hub's SQL) or ``const`` (the same for every row).
    kind: str
    #: The canonical field.
    field: str
    #: SQL of the value (unused for ``const``).
    expr: str = ""
    const: str | None = None


#: Code lists of at most this many codes get a table of every labelled subset.
_MAX_TABLE_CODES: Final = 10


def label_table(labels: Mapping[str, str]) -> str | None:
    """Every list of codes a rule can store (a non-empty subset, in the labels' order:
    the code list's canonical order) as compact JSON, with its labelled JSON: a VALUES
    list of ``(t, j)`` a row joins on its stored text instead of replacing code by
    code. None when there are too many codes for a table."""
    codes = list(labels)
    if not codes or len(codes) > _MAX_TABLE_CODES:
        return None
    rows = []
    for mask in range(1 << len(codes)):
        subset = [c for i, c in enumerate(codes) if mask >> i & 1]
        labelled = orjson.dumps([labels[c] for c in subset]).decode()
        rows.append(f"({literal(orjson.dumps(subset).decode())}, {literal(labelled)}::json)")
    return f"(VALUES {', '.join(rows)})"


def _labelled(text: str, labels: Mapping[str, str] | None) -> str:
    # Codes are whole JSON strings in compact text: replacing "B1" by "B1 label"
    # is exact, and an empty list stays [] as in the Python projection.
    for code, label in (labels or {}).items():
        text = (f"replace({text}, {literal(orjson.dumps(code).decode())}, "
                f"{literal(orjson.dumps(label).decode())})")
    return text


Labels = Mapping[str, Mapping[str, str]]


class Format(Protocol):
    """How one output format selects typed values (inner query) and makes lines of them."""

    #: What ends each line; the client appends it (a copy of every line less).
    terminator: bytes
    #: Whether a value that is the same on every row still needs an inner column.
    const_columns: bool
    #: SQL of an empty list (an expanded row's travel documents).
    empty_list: str

    def bound_persons_by_order(self) -> str:
        """A SELECT of ``order_id`` and ``j``, the order's bound persons as this format
        writes them (NULL for none)."""
        ...

    def exemptions_by_order(self, by_person: bool, wanted: str = "") -> str:
        """A SELECT of ``order_id`` (and ``person``) and ``j``, the active exemptions
        (``wanted``: further `` AND`` conditions on ``e``)."""
        ...

    def inner(self, value: Value, labels: Mapping[str, str] | None) -> str:
        """The inner query's SQL of a value that is not a constant."""
        ...

    def typed_const(self, value: str | None, shape: Value) -> str:
        """A constant where the other branch of a union has a column of ``shape``."""
        ...

    def label_joins(self, values: Sequence[Value], labels: Labels) -> str:
        """Joins the values' labelled code lists need (none: ``""``)."""
        ...

    def line(self, keys: Sequence[str], shape: Sequence[Value], inner: str) -> str:
        """A SELECT of ``n`` and the line without its terminator (text), over ``inner``
        (whose columns are ``n``, the row's number, then ``c0``, ``c1``... as
        :func:`_columns` names them)."""
        ...


def _null_type(kind: str) -> str:
    return {"date": "date", "json": "json", "built": "json"}.get(kind, "text")


class _JsonAggregates:
    """Bound persons and exemptions aggregated as JSON (JSON Lines and CSV alike)."""

    empty_list = "'[]'"

    def bound_persons_by_order(self) -> str:
        return JSON_BOUND_PERSONS_BY_ORDER

    def exemptions_by_order(self, by_person: bool, wanted: str = "") -> str:
        return json_exemptions_by_order(by_person, wanted)


class JsonlFormat(_JsonAggregates):
    """One object per line, written by ``to_json`` of the row: its keys are the inner
    query's column aliases, so they must fit an identifier (:func:`keys_fit`)."""

    terminator = b"\n"
    const_columns = True

    @staticmethod
    def label_joins(values: Sequence[Value], labels: Labels) -> str:
        joins = ""
        for v in values:
            if v.kind == "json" and v.field in labels and (
                    table := label_table(labels[v.field])) is not None:
                joins += (f" LEFT JOIN {table} AS lab_{v.field}(t, j) "
                          f"ON lab_{v.field}.t = {v.expr}::text")
        return joins

    def inner(self, value: Value, labels: Mapping[str, str] | None) -> str:
        if value.kind == "json":
            if labels:
                replaced = f"({_labelled(compact(value.expr), labels)})::json"
                if label_table(labels) is None:
                    return replaced
                # Stored text that is not in the table (not compact...) is replaced.
                return f"coalesce(lab_{value.field}.j, {replaced})"
            # Already compact: the stored json as it is; else rewritten, parsed again.
            t = f"{value.expr}::text"
            return (f"CASE WHEN {value.expr} IS NULL OR (strpos({t}, ' ') = 0 AND "
                    f"strpos({t}, '\\u') = 0) THEN {value.expr} "
                    f"ELSE pg_temp.hub_cj({value.expr})::json END")
        if value.kind == "built":
            return f"({value.expr})::json"
        return value.expr  # text and date: to_json writes them as orjson does

    def typed_const(self, value: str | None, shape: Value) -> str:
        if value is None:
            return f"NULL::{_null_type(shape.kind)}"
        return f"{literal(value)}::text"

    def line(self, keys: Sequence[str], shape: Sequence[Value], inner: str) -> str:
        if not keys_fit(keys):
            raise ValueError("a JSON key does not fit a column alias")
        cols = ", ".join(f"x.c{i} AS {identifier(k)}" for i, k in enumerate(keys))
        return (f"SELECT x.n, to_json(y)::text FROM ({inner}) AS x, "
                f"LATERAL (SELECT {cols}) AS y")


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
# A compact list of strings none of which holds a quote or a backslash: its codes
# are the text between the quotes.
_PLAIN_CODES: Final = r"""'^\[("[^"\\]*"(,"[^"\\]*")*)?\]$'"""


# A line that is not plain cells: a quote, CR or LF anywhere, a formula start at the
# start of a cell (the first, or after a comma).
_NOT_PLAIN: Final = r"""'["\r\n]|^[-=+@\t]|,[-=+@\t]'"""


class CsvFormat(_JsonAggregates):
    """Values as hub.exporters.csv cells: empty for null, codes joined with ``;``."""

    terminator = b"\r\n"
    const_columns = False

    def inner(self, value: Value, labels: Mapping[str, str] | None) -> str:
        if labels:
            raise ValueError("code labels in CSV take the reference path")
        if value.kind == "json" and value.field not in _CODE_LISTS:
            return compact(value.expr)  # text, a cell like a built value
        return value.expr

    @staticmethod
    def label_joins(values: Sequence[Value], labels: Labels) -> str:
        return ""  # labels take the reference path

    def typed_const(self, value: str | None, shape: Value) -> str:
        if value is not None:
            return f"{literal(value)}::text"
        if shape.kind == "date":
            return "NULL::date"
        return "NULL::json" if shape.kind == "json" and shape.field in _CODE_LISTS else "NULL::text"

    @staticmethod
    def _built(json_text: str) -> str:
        # An empty list is an empty cell; any other structure its JSON, never guarded.
        return (f"CASE WHEN {json_text} IS NULL OR {json_text} = '[]' THEN '' "
                f"ELSE pg_temp.hub_csv_quote({json_text}) END")

    @staticmethod
    def _joined(expr: str) -> str:
        t = f"{expr}::text"
        fast = f"replace(substr({t}, 3, length({t}) - 4), '\",\"', ';')"
        slow = f"array_to_string(ARRAY(SELECT json_array_elements_text({expr})), ';')"
        return f"CASE WHEN {t} ~ {_PLAIN_CODES} THEN {fast} ELSE {slow} END"

    @classmethod
    def _codes(cls, expr: str) -> str:
        return f"coalesce(pg_temp.hub_csv({cls._joined(expr)}), '')"

    def _raw(self, value: Value, expr: str) -> str:
        """The cell's text before guarding and quoting (what a plain line holds)."""
        if value.kind in ("const", "date"):
            return self._cell(value, expr)
        if value.kind == "json" and value.field in _CODE_LISTS:
            return f"coalesce({self._joined(expr)}, '')"
        if value.kind in ("json", "built"):
            return f"CASE WHEN {expr} IS NULL OR {expr} = '[]' THEN '' ELSE {expr} END"
        return f"coalesce({expr}, '')"

    def _cell(self, value: Value, expr: str) -> str:
        if value.kind == "const":
            return literal(quote(cell(value.const)))
        if value.kind == "date":
            return f"coalesce(to_char({expr}, 'YYYY-MM-DD'), '')"
        if value.kind == "json" and value.field in _CODE_LISTS:
            return self._codes(expr)
        if value.kind in ("json", "built"):
            return self._built(expr)
        return f"coalesce(pg_temp.hub_csv({expr}), '')"

    @staticmethod
    def _structure(value: Value) -> bool:
        """Whether the cell is a structure's JSON: quoted as needed, never guarded."""
        return value.kind in ("json", "built") and value.field not in _CODE_LISTS

    def line(self, keys: Sequence[str], shape: Sequence[Value], inner: str) -> str:
        # As the Python exporter checks a joined line: plain cells joined by commas,
        # none holding a comma, a quote, CR or LF, none starting a formula, need
        # neither guard nor quotes, and the line is the cells as they are. A
        # structure's JSON (travel documents, exemptions...) is left out of that test
        # and quoted on its own: it holds quotes whenever it is not empty, and would
        # otherwise send a fifth of the rows cell by cell. Any other row is written
        # cell by cell. (OFFSET 0: the segments are built once.)
        items: list[list[int] | int] = []  # runs of plain cells, and structures
        for i, v in enumerate(shape):
            if self._structure(v):
                items.append(i)
            elif items and isinstance(items[-1], list):
                items[-1].append(i)
            else:
                items.append([i])
        segments = [it for it in items if isinstance(it, list)]
        comma = " || ',' || "
        built = [f"{comma.join(self._raw(shape[i], f'x.c{i}') for i in seg)} AS s{n}"
                 for n, seg in enumerate(segments)]
        built += [f"{self._built(f'x.c{it}')} AS j{it}" for it in items if isinstance(it, int)]
        parts, n = [], 0
        for it in items:
            if isinstance(it, int):
                parts.append(f"t.j{it}")
            else:
                parts.append(f"t.s{n}")
                n += 1
        joined = comma.join(parts)
        cells = comma.join(
            f"t.j{i}" if self._structure(v) else self._cell(v, f"t.c{i}")
            for i, v in enumerate(shape))
        fields = f"SELECT x.*, {', '.join(built)} FROM ({inner}) AS x OFFSET 0"
        # Never empty: every row starts with the envelope's plain fields (ALWAYS_FIELDS).
        tested = comma.join(f"z.s{n}" for n in range(len(segments)))
        separators = sum(len(seg) for seg in segments) - 1
        is_plain = (f"t.p !~ {_NOT_PLAIN} AND octet_length(t.p) - "
                    f"octet_length(replace(t.p, ',', '')) = {separators}")
        return (f"SELECT t.n, CASE WHEN {is_plain} THEN {joined} ELSE {cells} END "
                f"FROM (SELECT z.*, {tested} AS p FROM ({fields}) AS z OFFSET 0) AS t")


#: XML text as hub.exporters.xml.escape writes it: the five specials and TAB, LF,
#: CR as references (``&`` first, so no reference is escaped again), then the
#: characters XML 1.0 forbids dropped. Plain text passes through the test alone.
_XML_SPECIAL: Final = r"""'[&<>"\t\n\r\x01-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]'"""
XML_TEXT_FUNCTION: Final = r"""
CREATE OR REPLACE FUNCTION pg_temp.hub_xml(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN t ~ """ + _XML_SPECIAL + r"""
  THEN regexp_replace(replace(replace(replace(replace(replace(replace(replace(t,
    '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), E'\t', '&#9;'), E'\n', '&#10;'),
    E'\r', '&#13;'), '[\x01-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]', '', 'g')
  ELSE t END
$$
"""
# A compact list of codes that need no escaping: the text between the quotes.
_PLAIN_XML_CODES: Final = r"""'^\[("[A-Za-z0-9_.-]+"(,"[A-Za-z0-9_.-]+")*)?\]$'"""


def _x(expr: str) -> str:
    return f"pg_temp.hub_xml({expr})"


class XmlFormat:
    """One element per row in an XML dialect, as hub.exporters.xml.XmlExporter writes
    it; structured values become their XML fragments in the inner query."""

    terminator = b"\n"
    const_columns = False
    empty_list = "''"

    def __init__(self, dialect: XmlDialect) -> None:
        self.dialect = dialect

    def _element(self, name: str, expr: str) -> str:
        """``<name>text</name>`` of a text value; nothing for NULL."""
        return f"coalesce('<{name}>' || {_x(expr)} || '</{name}>', '')"

    def _attribute(self, name: str, expr: str) -> str:
        return f"coalesce(' {name}=\"' || {_x(expr)} || '\"', '')"

    @staticmethod
    def _date_attribute(name: str, expr: str) -> str:
        return f"coalesce(' {name}=\"' || to_char({expr}, 'YYYY-MM-DD') || '\"', '')"

    def _codes(self, expr: str, item: str | None) -> str:
        t = f"{expr}::text"
        fast = (f"'<{item}>' || replace(substr({t}, 3, length({t}) - 4), '\",\"', "
                f"'</{item}><{item}>') || '</{item}>'")
        slow = (f"(SELECT coalesce(string_agg('<{item}>' || {_x('c.v')} || '</{item}>', '' "
                f"ORDER BY c.n), '') FROM json_array_elements_text({expr}) WITH ORDINALITY "
                "AS c(v, n))")
        return (f"CASE WHEN {expr} IS NULL THEN NULL WHEN {t} = '[]' THEN '' "
                f"WHEN {t} ~ {_PLAIN_XML_CODES} THEN {fast} ELSE {slow} END")

    def _structured(self, value: Value) -> str:
        n, items, expr = self.dialect.names, self.dialect.items, value.expr
        if value.field in _CODE_LISTS:
            return self._codes(expr, items.get(value.field))
        if value.field == "legal_representative":
            name = self._element(n["name"], f"({expr} ->> 'name')")
            number = self._element(n["id_number"], f"({expr} ->> 'id_number')")
            return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {name} || {number} END"
        if value.field == "travel_documents":
            doc = items.get("travel_documents")
            kind = self._attribute(n["type"], "(d.v ->> 'type')")
            number = _x("coalesce(d.v ->> 'number', '')")
            slow = (f"(SELECT coalesce(string_agg('<{doc}' || {kind} || '>' || {number} || "
                    f"'</{doc}>', '' ORDER BY d.n), '') FROM json_array_elements({expr}) "
                    "WITH ORDINALITY AS d(v, n))")
            return (f"CASE WHEN {expr} IS NULL THEN NULL WHEN {expr}::text = '[]' THEN '' "
                    f"ELSE {slow} END")
        raise ValueError(f"no XML for the json field {value.field}")

    def inner(self, value: Value, labels: Mapping[str, str] | None) -> str:
        if labels:
            raise ValueError("code labels in XML take the reference path")
        if value.kind == "json":
            return self._structured(value)
        return value.expr

    @staticmethod
    def label_joins(values: Sequence[Value], labels: Labels) -> str:
        return ""  # labels take the reference path

    def typed_const(self, value: str | None, shape: Value) -> str:
        if value is not None:
            return f"{literal(value)}::text"
        return "NULL::date" if shape.kind == "date" else "NULL::text"

    def bound_persons_by_order(self) -> str:
        n, person = self.dialect.names, self.dialect.items.get("bound_persons")
        item = (f"'<{person}' || {self._attribute(n['role'], 'b.role')} || '>' || "
                f"{self._element(n['name'], 'b.name')} || "
                f"{self._element(n['id_number'], 'b.id_number')} || "
                f"coalesce('<{n['released_on']}>' || to_char(b.released_on, 'YYYY-MM-DD') || "
                f"'</{n['released_on']}>', '') || "
                f"{self._element(n['release_reason'], 'b.release_reason')} || '</{person}>'")
        return (f"SELECT b.order_id, string_agg({item}, '' ORDER BY b.position) AS j "
                "FROM bound_persons b GROUP BY b.order_id")

    def exemptions_by_order(self, by_person: bool, wanted: str = "") -> str:
        n, items = self.dialect.names, self.dialect.items
        tag, category = items.get("exemptions"), items.get("exemptions.categories")
        categories = (f"(SELECT coalesce(string_agg('<{category}>' || {_x('c.v')} || "
                      f"'</{category}>', '' ORDER BY c.n), '') FROM "
                      "json_array_elements_text(e.categories) WITH ORDINALITY AS c(v, n))")
        item = (f"'<{tag}' || {self._attribute(n['id'], 'e.id::text')} || "
                f"{self._attribute(n['person'], 'e.person')} || "
                f"{self._date_attribute(n['from'], 'e.from_date')} || "
                f"{self._date_attribute(n['until'], 'e.until_date')}"
                f" || {self._attribute(n['reason'], 'e.reason')} || ' {n['status']}=\"active\">'"
                f" || {categories} || '</{tag}>'")
        keys = "e.order_id, e.person" if by_person else "e.order_id"
        return (f"SELECT {keys}, string_agg({item}, '' ORDER BY e.id) AS j "
                f"FROM exemptions e WHERE e.status = 'active' GROUP BY {keys}")

    def _child(self, value: Value, expr: str, name: str, escaped: bool) -> str:
        if value.kind == "const":
            return "''" if value.const is None else literal(
                f"<{name}>{xml_escape(value.const)}</{name}>")
        if value.kind == "date":
            return f"coalesce('<{name}>' || to_char({expr}, 'YYYY-MM-DD') || '</{name}>', '')"
        if value.kind in ("json", "built") or not escaped:
            return f"coalesce('<{name}>' || {expr} || '</{name}>', '')"
        return self._element(name, expr)

    def _record_attribute(self, value: Value, expr: str, name: str, escaped: bool) -> str:
        if value.kind == "const":
            return "''" if value.const is None else literal(
                f' {name}="{xml_escape(value.const)}"')
        if not escaped:
            return f"coalesce(' {name}=\"' || {expr} || '\"', '')"
        return self._attribute(name, expr)

    def _record(self, shape: Sequence[Value], escaped: bool) -> str:
        d, n = self.dialect, self.dialect.names
        at = {v.field: (v, f"x.c{i}") for i, v in enumerate(shape)}
        parts = [f"'<{d.record}'"]
        parts += [self._record_attribute(*at[f], n[f], escaped)
                  for f in ("record_type", "record_key", "status", "status_reason")]
        parts.append("'>'")
        parts += [self._child(*at[f], name, escaped)
                  for f, name in d.elements.items() if f in at]
        parts.append(f"'</{d.record}>'")
        return " || ".join(parts)

    def line(self, keys: Sequence[str], shape: Sequence[Value], inner: str) -> str:
        # One test of the row's text values together instead of one per value: a row
        # with nothing to escape (nearly every row) is written as it is.
        texts = [f"x.c{i}" for i, v in enumerate(shape) if v.kind == "text"]
        if not texts:
            return f"SELECT x.n, {self._record(shape, True)} FROM ({inner}) AS x"
        plain = f"concat({', '.join(texts)}) !~ {_XML_SPECIAL}"
        return (f"SELECT x.n, CASE WHEN {plain} THEN {self._record(shape, False)} "
                f"ELSE {self._record(shape, True)} END FROM ({inner}) AS x")



def _column(alias: str, field: str) -> Value:
    expr = f"{alias}.{field}"
    if field in _DATES:
        return Value("date", field, expr)
    if field in _JSON:
        return Value("json", field, expr)
    return Value("text", field, expr)


def _listing_value(field: str) -> Value:
    if field == "record_type":
        return Value("const", field, const="listing")
    if field == "record_key":
        return Value("text", field, "l.listing_id")
    return _column("l", field) if field in LISTING_STATE_FIELDS else Value("const", field)


def _restriction_value(fmt: Format, field: str) -> Value:
    if field == "record_type":
        return Value("const", field, const="restriction")
    if field == "record_key":
        return Value("text", field, "r.order_id")
    if field == "exemptions":
        return Value("built", field, f"coalesce(ex.j, {fmt.empty_list})")
    if field == "bound_persons":
        return Value("built", field, f"coalesce(bp.j, {fmt.empty_list})")
    if field in RESTRICTION_STATE_FIELDS:
        return _column("r", field)
    return Value("const", field)


_FROM_ORDER: Final = ("court_code", "court_name", "case_number", "order_id", "issued_on",
                      "categories", "listing_id", "status", "status_reason")
_EXPANDED_CONSTS: Final = {"record_type": "restriction", "subject_type": "person",
                           "id_type": "resident_id"}


def _expanded_value(fmt: Format, field: str) -> Value:
    """An organisation's order as seen by a person-only partner: one row per bound person."""
    if field in _EXPANDED_CONSTS:
        return Value("const", field, const=_EXPANDED_CONSTS[field])
    if field == "record_key":
        return Value("text", field, "r.order_id || '#' || b.role || '#' || b.id_number")
    if field in ("name", "id_number", "role"):
        return Value("text", field, f"b.{field}")
    if field == "travel_documents":
        return Value("built", field, fmt.empty_list)
    if field == "exemptions":
        return Value("built", field, f"coalesce(ex.j, {fmt.empty_list})")
    return _column("r", field) if field in _FROM_ORDER else Value("const", field)


def _shape(a: Sequence[Value], b: Sequence[Value]) -> list[Value]:
    """What the outer query sees of a union of rows ``a`` and ``b``: a constant only
    where both are the same constant; a json column against built JSON is built."""
    out = []
    for x, y in zip(a, b, strict=True):
        if x.kind == "const" and y.kind == "const" and x.const == y.const:
            out.append(x)
        elif x.kind == "const" or y.kind == "const":
            out.append(y if x.kind == "const" else x)
        elif x.kind != y.kind:
            if {x.kind, y.kind} != {"json", "built"}:
                raise ValueError(f"{x.field}: {x.kind} and {y.kind} in one column")
            out.append(Value("built", x.field, x.expr))
        else:
            out.append(x)
    return out


def _columns(fmt: Format, values: Sequence[Value], labels: Labels,
             shape: Sequence[Value] | None = None) -> str:
    """The inner select list: ``c<i>`` for every value the outer query reads."""
    cols = []
    for i, (value, kind) in enumerate(zip(values, shape or values, strict=True)):
        if kind.kind == "const" and not fmt.const_columns:
            continue  # the outer query writes it
        if value.kind == "const":
            sql = fmt.typed_const(value.const, kind)
        else:
            sql = fmt.inner(value, labels.get(value.field) if value.kind == "json" else None)
        cols.append(f"{sql} AS c{i}")
    return ", ".join(cols) or "1 AS c"


#: The inner queries number their rows in output order (their lines are gathered
#: in that order by fast_snapshot, a thousand a message), instead of sorting them.
_NUMBERED: Final = "row_number() OVER (ORDER BY {}) AS n"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def _wanted(categories: frozenset[str] | None, column: str = "r.categories") -> str:
    """The category filter of orders (or, by ``column``, of exemptions): the list
    holds one of ``categories``. In text without a backslash a code can only be a
    whole element ``"C1"``; other text is read as JSON."""
    if categories is None:
        return ""
    t = f"{column}::text"
    found = " OR ".join(f"strpos({t}, {literal(orjson.dumps(c).decode())}) > 0"
                        for c in sorted(categories))
    exact = (f"EXISTS (SELECT 1 FROM json_array_elements_text({column}) c "
             f"WHERE c IN {_in(sorted(categories))})")
    return f" AND CASE WHEN strpos({t}, '\\') = 0 THEN ({found}) ELSE {exact} END"


KeyRange = tuple[str | None, str | None]
#: Every key.
ALL_KEYS: Final[KeyRange] = (None, None)


def _range(column: str, keys: KeyRange) -> str:
    """`` AND`` conditions keeping ``column`` in ``[low, high)`` (None: unbounded)."""
    low, high = keys
    return ((f" AND {column} >= {literal(low)}" if low is not None else "")
            + (f" AND {column} < {literal(high)}" if high is not None else ""))


def _ranged(select: str, keys: KeyRange) -> str:
    """An aggregate per order kept to the orders in range (a qual on the grouping key,
    pushed below the aggregate: only those orders are read)."""
    if keys == ALL_KEYS:
        return select
    return f"SELECT * FROM ({select}) AS a WHERE TRUE{_range('a.order_id', keys)}"


@dataclass(frozen=True, slots=True)
class Scope:
    """What the snapshot SELECTs are built from: the partner's fields and scope."""

    fields: Sequence[str]
    keys: Sequence[str]
    subjects: Sequence[str]
    labels: Labels
    categories: frozenset[str] | None


def listing_query(fmt: Format, scope: Scope, keys: KeyRange = ALL_KEYS) -> str:
    """The SELECT of the active listings' lines with keys in ``keys`` (``n``, ``line``:
    ``n`` numbers them by key)."""
    values = [_listing_value(f) for f in scope.fields]
    inner = (f"SELECT {_NUMBERED.format('l.listing_id')}, "
             f"{_columns(fmt, values, scope.labels)} FROM listings l"
             f"{fmt.label_joins(values, scope.labels)} WHERE l.status = 'active' "
             f"AND l.subject_type IN {_in(scope.subjects)}{_range('l.listing_id', keys)}")
    return fmt.line(scope.keys, values, inner)


def restriction_query(fmt: Format, scope: Scope, keys: KeyRange = ALL_KEYS) -> str:
    """The SELECT of the active orders' lines with keys in ``keys`` (``n``, ``line``:
    ``n`` numbers them by key, an expanded order's persons in their bound order)."""
    fields, labels, subjects = scope.fields, scope.labels, scope.subjects
    wanted = _wanted(scope.categories) + _range("r.order_id", keys)
    # As PartnerAdapter.project: only liftings of a category the partner enforces.
    exempted = _wanted(scope.categories, "e.categories")
    direct = [_restriction_value(fmt, f) for f in fields]
    joins = fmt.label_joins(direct, labels)
    if "bound_persons" in fields:
        joins += (f" LEFT JOIN ({_ranged(fmt.bound_persons_by_order(), keys)}) bp "
                  "ON bp.order_id = r.order_id")
    if "exemptions" in fields:
        joins += (f" LEFT JOIN ({_ranged(fmt.exemptions_by_order(False, exempted), keys)}) ex "
                  "ON ex.order_id = r.order_id")
    where = f" WHERE r.status = 'active' AND r.subject_type IN {_in(subjects)}{wanted}"
    if "person" not in subjects or "organisation" in subjects:
        inner = (f"SELECT {_NUMBERED.format('r.order_id')}, {_columns(fmt, direct, labels)} "
                 f"FROM restrictions r{joins}{where}")
        return fmt.line(scope.keys, direct, inner)
    # A person-only partner also gets an organisation's order once per bound person.
    expanded = [_expanded_value(fmt, f) for f in fields]
    shape = _shape(direct, expanded)
    ex_joins = fmt.label_joins(expanded, labels)
    if "exemptions" in fields:
        ex_joins += (f" LEFT JOIN ({_ranged(fmt.exemptions_by_order(True, exempted), keys)}) ex "
                     "ON ex.order_id = r.order_id AND ex.person = b.id_number")
    union = (
        f"SELECT r.order_id AS k, 0 AS p, {_columns(fmt, direct, labels, shape)} "
        f"FROM restrictions r{joins}{where} UNION ALL "
        f"SELECT r.order_id, b.position, {_columns(fmt, expanded, labels, shape)} "
        f"FROM restrictions r JOIN bound_persons b ON b.order_id = r.order_id{ex_joins} "
        f"WHERE r.status = 'active' AND r.subject_type = 'organisation' "
        # The range on b as well: the persons of the range's orders are read by index,
        # not all of them once per range.
        f"AND b.released_on IS NULL{wanted}{_range('b.order_id', keys)}")
    cols = "".join(f", u.c{i}" for i, v in enumerate(shape)
                   if v.kind != "const" or fmt.const_columns)
    inner = f"SELECT {_NUMBERED.format('u.k, u.p')}{cols} FROM ({union}) AS u"
    return fmt.line(scope.keys, shape, inner)
