"""CSV: RFC 4180 quoting and line ends, encodings, cells, and the formula guard."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from hub.exporters import make_exporter
from hub.exporters.csv import CsvExporter, cell, quote
from tests.exporters.samples import HEADER, SAMPLE, SAMPLE_FIELDS

ALWAYS = ("record_type", "record_key", "status", "status_reason")

EXPECTED = (
    "record_type,record_key,status,status_reason,name,subject_type,id_type,id_number,role,"
    "birth_date,legal_representative,travel_documents,court_name,case_number,behaviours,"
    "expires_on,categories,bound_persons,exemptions\r\n"
    "listing,L-2024-000001,active,,张伟,person,resident_id,110105198503150019,,1985-03-15,,"
    '"[{""type"":""passport"",""number"":""E12345678""}]",北京市朝阳区人民法院,'
    "（2024）京0105执1234号,B1,,,,\r\n"
    "listing,L-2024-000002,active,,北京某某贸易有限公司,organisation,uscc,91110105MA01ABCD5F,,,"
    '"{""name"":""李娜"",""id_number"":""320102197907040241""}",,北京市朝阳区人民法院,'
    "（2024）京0105执2001号,B3;B4,2026-05-20,,,\r\n"
    "restriction,R-2024-000002,active,,北京某某贸易有限公司,organisation,uscc,"
    '91110105MA01ABCD5F,,,"{""name"":""李娜"",""id_number"":null}",,北京市朝阳区人民法院,'
    "（2024）京0105执2001号,,,C1;C9,"
    '"[{""name"":""李娜"",""id_number"":""320102197907040241"",""role"":""legal_representative"",'
    '""released_on"":null,""release_reason"":null},{""name"":""王强"",'
    '""id_number"":""11010519491231002X"",""role"":""actual_controller"",'
    '""released_on"":""2025-01-02"",""release_reason"":""representative_replaced""}]",'
    '"[{""id"":7,""person"":""320102197907040241"",""categories"":[""C1""],'
    '""from"":""2026-11-25"",""until"":""2026-12-10"",""reason"":""funeral"",'
    '""status"":""active""}]"\r\n'
    "listing,L-2024-000003,removed,performed,,,,,,,,,,,,,,,\r\n"
)


def _write(rows: Iterable[Mapping[str, Any]], fields: tuple[str, ...] = SAMPLE_FIELDS,
           **options: Any) -> bytes:
    out = io.BytesIO()
    make_exporter("csv", fields=fields, **options).write(rows, out, HEADER)
    return out.getvalue()


def _parse(data: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def _row(**values: Any) -> dict[str, Any]:
    return {"record_type": "listing", "record_key": "L-1", "status": "active",
            "status_reason": None, **values}


def test_sample_is_written_as_expected() -> None:
    exporter = make_exporter("csv", fields=SAMPLE_FIELDS)
    out = io.BytesIO()
    assert exporter.write(iter(SAMPLE), out, HEADER) == 4
    assert out.getvalue().decode() == EXPECTED
    assert (exporter.format, exporter.extension, exporter.schema) == ("csv", ".csv", "csv")


def test_every_line_ends_with_crlf_and_no_rows_gives_the_header_only() -> None:
    data = _write(SAMPLE)
    assert data.count(b"\r\n") == 5
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert _write([]) == EXPECTED.split("\r\n")[0].encode() + b"\r\n"


def test_fields_outside_the_scope_never_appear() -> None:
    data = _write(SAMPLE).decode()
    assert "obligation" not in data
    assert "偿还" not in data


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("two\nlines", '"two\nlines"'),
        ("cr\ronly", '"cr\ronly"'),
        ("plain 张伟", "plain 张伟"),
        ("", ""),
    ],
)
def test_rfc4180_quoting(text: str, written: str) -> None:
    data = _write([_row(name=text)], fields=(*ALWAYS, "name")).decode()
    assert data.split("\r\n", 1)[1] == f"listing,L-1,active,,{written}\r\n"
    assert _parse(data.encode())[1][4] == text


@pytest.mark.parametrize("text", ["=SUM(1)", "+86", "-1", "@x", "\tTAB", "\rCR", "=1,2"])
def test_formula_guard(text: str) -> None:
    parsed = _parse(_write([_row(name=text)], fields=(*ALWAYS, "name")))
    assert parsed[1][4] == "'" + text


def test_formula_guard_covers_every_text_cell_and_code_lists() -> None:
    row = _row(record_key="-L1", case_number="=cmd", behaviours=["@B1", "B2"])
    parsed = _parse(_write([row], fields=(*ALWAYS, "case_number", "behaviours")))
    assert parsed[1] == ["listing", "'-L1", "active", "", "'=cmd", "'@B1;B2"]


def test_numbers_and_structures_are_not_formulas() -> None:
    assert cell(-1) == "-1"
    assert cell(2.5) == "2.5"
    assert cell({"a": "=x"}) == '{"a":"=x"}'
    assert cell([{"id": 1}]) == '[{"id":1}]'
    assert cell(["B1", {"x": 1}]) == '["B1",{"x":1}]'
    assert cell(("C1", "C9")) == "C1;C9"
    assert cell([]) == ""
    assert cell(None) == ""


def test_unexpected_value_types_take_the_careful_path() -> None:
    # A number or a list where text is expected must still give correct cells.
    row = _row(name=12, id_number=["A", "B"], court_name={"k": "v,w"})
    parsed = _parse(_write([row], fields=(*ALWAYS, "name", "id_number", "court_name")))
    assert parsed[1][4:] == ["12", "A;B", '{"k":"v,w"}']


def test_header_uses_output_names_and_is_quoted_when_needed() -> None:
    data = _write([], fields=(*ALWAYS, "name", "id_number"),
                  names={"name": "姓名", "id_number": "证件,号码"})
    assert data.decode() == 'record_type,record_key,status,status_reason,姓名,"证件,号码"\r\n'


def test_gb18030_round_trip_covers_all_of_unicode() -> None:
    names = {"name": "姓名", "court_name": "执行法院"}
    rows = [*SAMPLE, _row(name="𠀀𪚥 emoji 😀 € ß й", court_name="鄂尔多斯市中级人民法院")]
    as_gb = _write(rows, encoding="gb18030", names=names)
    as_utf8 = _write(rows, names=names)
    assert as_gb != as_utf8
    assert as_gb.decode("gb18030") == as_utf8.decode("utf-8")
    assert _parse(as_gb, "gb18030")[5][4] == "𠀀𪚥 emoji 😀 € ß й"


@pytest.mark.parametrize("encoding", ["GB18030", "gb18030", "UTF8", "utf_8"])
def test_encoding_names_are_normalised(encoding: str) -> None:
    exporter = make_exporter("csv", fields=ALWAYS, encoding=encoding)
    assert isinstance(exporter, CsvExporter)
    assert exporter.encoding in {"utf-8", "gb18030"}


def test_byte_order_mark_only_when_asked() -> None:
    assert not _write([]).startswith(b"\xef\xbb\xbf")
    with_bom = _write([], encoding="utf-8-sig")
    assert with_bom.startswith(b"\xef\xbb\xbfrecord_type,")
    assert with_bom.count(b"\xef\xbb\xbf") == 1
    with pytest.raises(ValueError, match="UTF-8 only"):
        CsvExporter(ALWAYS, encoding="gb18030", bom=True)


@pytest.mark.parametrize("encoding", ["big5", "utf-16", "no-such-codec"])
def test_other_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(ValueError, match="gb18030"):
        make_exporter("csv", fields=ALWAYS, encoding=encoding)
    with pytest.raises(ValueError, match="gb18030"):
        CsvExporter(ALWAYS, encoding=encoding)


def test_quote() -> None:
    assert quote("a") == "a"
    assert quote('a"b') == '"a""b"'
    assert quote("a,b") == '"a,b"'


def test_a_single_field_is_written_too() -> None:
    data = _write([_row(), {"record_type": "a,b"}], fields=("record_type",))
    assert data == b'record_type\r\nlisting\r\n"a,b"\r\n'


@pytest.mark.parametrize("text", ["=1+1", "+86", "-1", "@x"])
def test_formula_guard_covers_the_first_cell_of_a_line(text: str) -> None:
    """A text field first in the line is where a spreadsheet meets it first: the guard
    must apply there as everywhere else."""
    exporter = CsvExporter(["name", "case_number"])
    out = io.BytesIO()
    exporter.write([{"name": text, "case_number": "A1"}], out, HEADER)
    assert out.getvalue().decode().split("\r\n")[1] == f"'{text},A1"
