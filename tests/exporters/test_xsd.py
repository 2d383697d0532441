"""XSD validation: every error with its line, in streaming mode, with hardened parsers."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.exporters import xsd
from hub.exporters.xml import HUB_LIST, XmlExporter
from hub.exporters.xsd import SCHEMAS_DIR, schema_path, validate_xml, validate_xml_xmlschema
from tests.exporters.samples import ALL_FIELDS, HEADER, full_row

Validator = Callable[..., list[str]]
VALIDATORS = [validate_xml, validate_xml_xmlschema]
SCHEMA = HUB_LIST.schema
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<hubList xmlns="urn:joint-sanction-hub:list:1.0" partner="{partner}" kind="full"'
    ' fromSeq="0" toSeq="9" batchId="b-1" createdAt="2026-11-25T02:00:00Z">\n'
)
RECORD = '<record type="listing" key="{key}" status="{status}">{children}</record>\n'


def _document(*records: str, partner: str = "pbc", prolog: str = "") -> bytes:
    head = HEAD.format(partner=partner)
    if prolog:
        head = head.replace("\n", f"\n{prolog}\n", 1)
    return (head + "".join(records) + "</hubList>\n").encode()


def _record(key: str = "L-1", status: str = "active", children: str = "") -> str:
    return RECORD.format(key=key, status=status, children=children)


def _lines(errors: list[str]) -> list[int]:
    return [int(e.split(":", 1)[0].removeprefix("line ")) for e in errors]


@pytest.mark.parametrize("validate", VALIDATORS)
def test_a_valid_file_gives_no_errors(validate: Validator, tmp_path: Path) -> None:
    path = tmp_path / "ok.xml"
    path.write_bytes(_document(_record(), _record("L-2", children="<name>x</name>")))
    assert validate(path, SCHEMA) == []
    with path.open("rb") as stream:
        assert validate(stream, SCHEMA) == []


@pytest.mark.parametrize("validate", VALIDATORS)
def test_every_error_is_reported_with_its_line(validate: Validator) -> None:
    data = _document(
        _record("L-1"),
        _record("L-2", status="gone", children="<birthDate>2024-13-01</birthDate>"),
        _record("L-3", children="<idNumber>abc</idNumber><name>x</name>"),
        _record("L-4", children="<behaviours><code>B9</code></behaviours>"),
        partner="Bad",
    )
    errors = validate(io.BytesIO(data), SCHEMA)
    assert sorted(set(_lines(errors))) == [2, 4, 5, 6], errors
    text = "\n".join(errors)
    for needle in ("gone", "birthDate", "idNumber", "code", "Bad"):
        assert needle in text


def test_libxml2_reports_stray_content_around_records() -> None:
    data = _document(_record("L-1"), "junk text\n", _record("L-2"), "<other/>\n")
    errors = validate_xml(io.BytesIO(data), SCHEMA)
    # The text is the first record's tail: reported on that record's line.
    assert _lines(errors) == [3, 6], errors
    assert "Character content" in errors[0]
    assert "other" in errors[1]


def test_header_errors_are_reported_once() -> None:
    data = _document(*(_record(f"L-{i}") for i in range(5)), partner="Not Valid")
    errors = validate_xml(io.BytesIO(data), SCHEMA)
    assert len(errors) == 1
    assert errors[0].startswith("line 2: ")


@pytest.mark.parametrize("validate", VALIDATORS)
def test_errors_are_capped(validate: Validator) -> None:
    data = _document(*(_record(f"L-{i}", status="bad") for i in range(50)))
    errors = validate(io.BytesIO(data), SCHEMA, max_errors=10)
    assert len(errors) == 11
    assert errors[-1] == "stopped after 10 errors"
    assert len(validate(io.BytesIO(data), SCHEMA, max_errors=None)) == 50


@pytest.mark.parametrize("validate", VALIDATORS)
def test_a_file_that_is_not_well_formed_gives_its_line(validate: Validator) -> None:
    data = _document(_record("L-1"), _record("L-2", children="<name>x</nam>"))
    (error,) = validate(io.BytesIO(data), SCHEMA)
    assert error.startswith("line 4: ")
    assert "mismatch" in error


@pytest.mark.parametrize("validate", VALIDATORS)
def test_external_entities_are_never_read(validate: Validator, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doctype = f'<!DOCTYPE hubList [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
    data = _document(_record(children="<name>&s;</name>")).replace(
        b"<hubList", doctype.encode() + b"\n<hubList", 1)
    errors = validate(io.BytesIO(data), SCHEMA)
    assert errors
    assert "TOPSECRET" not in "".join(errors)


@pytest.mark.parametrize("validate", VALIDATORS)
def test_entity_expansion_is_refused(validate: Validator) -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefg", "bcdefgh", strict=True)
    )
    data = _document(_record(children="<name>&h;</name>")).replace(
        b"<hubList", f"<!DOCTYPE hubList [{entities}]>\n<hubList".encode(), 1)
    errors = validate(io.BytesIO(data), SCHEMA)
    assert len(errors) == 1
    assert "aaaa" not in errors[0]


def test_a_generated_file_with_planted_errors() -> None:
    rows = [full_row(i) for i in range(300)]
    rows[7] = full_row(7, gender="x")
    rows[250] = full_row(250, categories=["C10"])
    out = io.BytesIO()
    XmlExporter(ALL_FIELDS).write(rows, out, HEADER)
    for validate in VALIDATORS:
        out.seek(0)
        errors = validate(out, SCHEMA)
        # One record per line after the two header lines.
        assert _lines(errors) == [10, 253], errors


def test_schemas_without_a_dialect_validate_every_child_of_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tiny.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:element name="list"><xs:complexType><xs:sequence>'
        '<xs:element name="item" type="xs:date" maxOccurs="unbounded"/>'
        "</xs:sequence></xs:complexType></xs:element></xs:schema>"
    )
    monkeypatch.setattr(xsd, "SCHEMAS_DIR", tmp_path)
    data = b"<list>\n<item>2024-01-01</item>\n<item>no</item>\n<other/>\n</list>\n"
    errors = validate_xml(io.BytesIO(data), "tiny.xsd")
    assert _lines(errors) == [3, 4], errors
    assert validate_xml(io.BytesIO(b"<list><item>2024-01-01</item></list>"), "tiny.xsd") == []


@pytest.mark.parametrize("name", ["", "../pyproject.toml", "sub/x.xsd", "/etc/passwd"])
def test_schema_names_are_plain_file_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a schema file name"):
        schema_path(name)


def test_schemas_live_at_the_top_of_the_repository() -> None:
    assert schema_path("hub-list-1.0.xsd") == SCHEMAS_DIR / "hub-list-1.0.xsd"
    assert (SCHEMAS_DIR.parent / "pyproject.toml").is_file()
    for name in ("hub-list-1.0.xsd", "pbc-credit-1.0.xsd"):
        assert schema_path(name).is_file()
