"""Property tests: any text survives every format, and nothing outside the fields leaks."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from hub.exporters import make_exporter
from hub.exporters.csv import cell
from hub.exporters.xml import HUB_LIST, PBC_CREDIT, XmlDialect
from hub.exporters.xsd import _lxml_schema
from hub.partners.fields import ALWAYS_FIELDS, PROJECTED_FIELDS
from tests.exporters.samples import ALL_FIELDS, HEADER, full_row

# Characters that break naive writers, mixed into otherwise arbitrary text
# (surrogates excluded: no encoder takes them, and no valid text holds them).
_NASTY = st.sampled_from([
    ",", '"', "'", ";", "\r", "\n", "\r\n", "\t", "=", "+", "-", "@", "&", "<", ">", "]]>",
    "\x00", "\x01", "\x0b", "\x1f", "\x7f", "\ufffe", "😀", "张伟", "𠀀", " ",
])
TEXT = st.lists(st.one_of(st.characters(codec="utf-8"), _NASTY), max_size=16).map(
    "".join
)

#: Fields the hub's XSDs type as free text: any string is valid there.
FREE_TEXT = ("name", "court_name", "case_number", "basis_issuer", "basis_number", "obligation")
#: Every top-level field holding a string in full_row().
STRING_FIELDS = tuple(
    f for f in ALL_FIELDS if isinstance(full_row(0).get(f), str) and f != "record_type"
)
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_GUARDED = ("=", "+", "-", "@", "\t", "\r")

fields_subsets = st.lists(st.sampled_from(list(PROJECTED_FIELDS)), unique=True).map(
    lambda picked: (*ALWAYS_FIELDS, *picked)
)


@st.composite
def rows(draw: st.DrawFn, fields: tuple[str, ...] = STRING_FIELDS) -> dict[str, Any]:
    """full_row() with arbitrary text in some of ``fields`` and in nested names."""
    row = full_row(1)
    for field in draw(st.lists(st.sampled_from(fields), unique=True, max_size=6)):
        row[field] = draw(TEXT)
    if draw(st.booleans()):
        row["legal_representative"] = {"name": draw(TEXT), "id_number": None}
        row["bound_persons"] = [{"name": draw(TEXT), "id_number": "320102197907040241",
                                 "role": "legal_representative"}]
    return row


def _expected_cell(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value if value.startswith(_GUARDED) else value
    return cell(value)


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=4), fields_subsets)
def test_jsonl_parses_back_to_the_same_values(data: list[dict[str, Any]],
                                              fields: tuple[str, ...]) -> None:
    out = io.BytesIO()
    make_exporter("jsonl", fields=fields).write(data, out, HEADER)
    lines = out.getvalue().split(b"\n")
    assert lines[-1] == b""
    assert [orjson.loads(line) for line in lines[:-1]] == [
        {f: row.get(f) for f in fields} for row in data
    ]


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=4), fields_subsets,
       st.sampled_from(["utf-8", "gb18030"]))
def test_csv_parses_back_to_the_same_cells(data: list[dict[str, Any]], fields: tuple[str, ...],
                                           encoding: str) -> None:
    out = io.BytesIO()
    make_exporter("csv", fields=fields, encoding=encoding).write(data, out, HEADER)
    parsed = list(csv.reader(io.StringIO(out.getvalue().decode(encoding), newline="")))
    assert parsed[0] == list(fields)
    assert parsed[1:] == [[_expected_cell(row.get(f)) for f in fields] for row in data]


def _xml(data: list[dict[str, Any]], fields: tuple[str, ...], dialect: XmlDialect) -> bytes:
    out = io.BytesIO()
    make_exporter("xml", fields=fields, xml=dialect).write(data, out, HEADER)
    return out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(FREE_TEXT), min_size=1, max_size=4), fields_subsets,
       st.sampled_from([HUB_LIST, PBC_CREDIT]))
def test_xml_with_any_free_text_is_valid_and_keeps_the_text(
    data: list[dict[str, Any]], fields: tuple[str, ...], dialect: XmlDialect
) -> None:
    document = _xml(data, fields, dialect)
    root = etree.fromstring(document)
    assert _lxml_schema(dialect.schema).validate(root), _lxml_schema(dialect.schema).error_log
    ns = f"{{{dialect.namespace}}}"
    for row, record in zip(data, root, strict=True):
        present = [etree.QName(child).localname for child in record]
        assert present == [dialect.elements[f] for f in PROJECTED_FIELDS
                           if f in fields and row.get(f) is not None]
        for field in FREE_TEXT:
            if field in fields:
                text = record.findtext(ns + dialect.elements[field])
                assert text == _ILLEGAL_XML.sub("", row[field])


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=4), st.sampled_from([HUB_LIST, PBC_CREDIT]))
def test_xml_with_any_text_anywhere_stays_well_formed(
    data: list[dict[str, Any]], dialect: XmlDialect
) -> None:
    # Codes, dates and IDs with arbitrary text cannot be valid, but the file
    # must still parse and say exactly what it was given.
    root = etree.fromstring(_xml(data, ALL_FIELDS, dialect))
    assert len(root) == len(data)
    for row, record in zip(data, root, strict=True):
        key = dialect.names["record_key"]
        assert record.get(key) == _ILLEGAL_XML.sub("", row["record_key"])


@settings(max_examples=50, deadline=None)
@given(fields_subsets)
def test_fields_outside_the_scope_never_appear(fields: tuple[str, ...]) -> None:
    row = full_row(1)
    left_out = [f for f in PROJECTED_FIELDS if f not in fields]
    data = [row]
    jsonl = io.BytesIO()
    make_exporter("jsonl", fields=fields).write(data, jsonl, HEADER)
    assert set(orjson.loads(jsonl.getvalue())) == set(fields)
    csv_out = io.BytesIO()
    make_exporter("csv", fields=fields).write(data, csv_out, HEADER)
    assert csv_out.getvalue().decode().split("\r\n")[0].split(",") == list(fields)
    for dialect in (HUB_LIST, PBC_CREDIT):
        record = etree.fromstring(_xml(data, fields, dialect))[0]
        names = {etree.QName(child).localname for child in record}
        assert not names & {dialect.elements[f] for f in left_out}
