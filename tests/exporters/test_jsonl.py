"""JSON Lines: one object per row, the partner's keys in its order, nothing else."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO, cast

import orjson
import pytest

from hub.exporters import Exporter, make_exporter
from tests.exporters.samples import ALL_FIELDS, EXIT, HEADER, PERSON, SAMPLE, SAMPLE_FIELDS

EXPECTED = (
    '{"record_type":"listing","record_key":"L-2024-000001","status":"active",'
    '"status_reason":null,"name":"张伟","subject_type":"person","id_type":"resident_id",'
    '"id_number":"110105198503150019","role":null,"birth_date":"1985-03-15",'
    '"legal_representative":null,"travel_documents":[{"type":"passport","number":"E12345678"}],'
    '"court_name":"北京市朝阳区人民法院","case_number":"（2024）京0105执1234号",'
    '"behaviours":["B1"],"expires_on":null,"categories":null,"bound_persons":null,'
    '"exemptions":null}\n'
    '{"record_type":"listing","record_key":"L-2024-000002","status":"active",'
    '"status_reason":null,"name":"北京某某贸易有限公司","subject_type":"organisation",'
    '"id_type":"uscc","id_number":"91110105MA01ABCD5F","role":null,"birth_date":null,'
    '"legal_representative":{"name":"李娜","id_number":"320102197907040241"},'
    '"travel_documents":[],"court_name":"北京市朝阳区人民法院",'
    '"case_number":"（2024）京0105执2001号","behaviours":["B3","B4"],'
    '"expires_on":"2026-05-20","categories":null,"bound_persons":null,"exemptions":null}\n'
    '{"record_type":"restriction","record_key":"R-2024-000002","status":"active",'
    '"status_reason":null,"name":"北京某某贸易有限公司","subject_type":"organisation",'
    '"id_type":"uscc","id_number":"91110105MA01ABCD5F","role":null,"birth_date":null,'
    '"legal_representative":{"name":"李娜","id_number":null},"travel_documents":null,'
    '"court_name":"北京市朝阳区人民法院","case_number":"（2024）京0105执2001号",'
    '"behaviours":null,"expires_on":null,"categories":["C1","C9"],'
    '"bound_persons":[{"name":"李娜","id_number":"320102197907040241",'
    '"role":"legal_representative","released_on":null,"release_reason":null},'
    '{"name":"王强","id_number":"11010519491231002X","role":"actual_controller",'
    '"released_on":"2025-01-02","release_reason":"representative_replaced"}],'
    '"exemptions":[{"id":7,"person":"320102197907040241","categories":["C1"],'
    '"from":"2026-11-25","until":"2026-12-10","reason":"funeral","status":"active"}]}\n'
    '{"record_type":"listing","record_key":"L-2024-000003","status":"removed",'
    '"status_reason":"performed","name":null,"subject_type":null,"id_type":null,'
    '"id_number":null,"role":null,"birth_date":null,"legal_representative":null,'
    '"travel_documents":null,"court_name":null,"case_number":null,"behaviours":null,'
    '"expires_on":null,"categories":null,"bound_persons":null,"exemptions":null}\n'
)


def _write(exporter: Exporter, rows: Iterable[Mapping[str, Any]]) -> bytes:
    out = io.BytesIO()
    exporter.write(rows, out, HEADER)
    return out.getvalue()


def test_sample_is_written_as_expected() -> None:
    exporter = make_exporter("jsonl", fields=SAMPLE_FIELDS)
    out = io.BytesIO()
    assert exporter.write(iter(SAMPLE), out, HEADER) == 4
    assert out.getvalue().decode() == EXPECTED
    assert (exporter.format, exporter.extension, exporter.schema) == ("jsonl", ".jsonl", "jsonl")


def test_keys_follow_the_fields_and_their_output_names() -> None:
    fields = ("record_type", "record_key", "status", "status_reason", "name", "id_number")
    exporter = make_exporter("jsonl", fields=fields, names={"name": "姓名", "court_name": "x"})
    (line,) = _write(exporter, [PERSON]).splitlines()
    assert list(orjson.loads(line)) == [
        "record_type", "record_key", "status", "status_reason", "姓名", "id_number",
    ]


def test_a_row_with_exactly_the_fields_is_written_as_it_is() -> None:
    # The fast path must give the same bytes as building the object field by field.
    row = {f: PERSON.get(f) for f in SAMPLE_FIELDS}
    exact = _write(make_exporter("jsonl", fields=SAMPLE_FIELDS), [row])
    assert exact == EXPECTED.splitlines(keepends=True)[0].encode()


def test_fields_outside_the_scope_never_appear() -> None:
    data = _write(make_exporter("jsonl", fields=SAMPLE_FIELDS), SAMPLE)
    assert b"obligation" not in data
    assert b"\xe5\x81\xbf\xe8\xbf\x98" not in data  # "偿还", the obligation's text


def test_absent_fields_are_null_and_nothing_is_written_for_no_rows() -> None:
    (line,) = _write(make_exporter("jsonl", fields=ALL_FIELDS), [EXIT]).splitlines()
    obj = orjson.loads(line)
    assert list(obj) == list(ALL_FIELDS)
    assert all(obj[f] is None for f in ALL_FIELDS[4:])
    assert _write(make_exporter("jsonl", fields=ALL_FIELDS), []) == b""


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "latin-1"])
def test_json_lines_are_utf8_only(encoding: str) -> None:
    with pytest.raises(ValueError, match="UTF-8 by definition"):
        make_exporter("jsonl", fields=SAMPLE_FIELDS, encoding=encoding)


def test_large_output_is_written_in_blocks() -> None:
    class Sink:
        def __init__(self) -> None:
            self.writes: list[int] = []

        def write(self, data: bytes) -> int:
            self.writes.append(len(data))
            return len(data)

    sink = Sink()
    exporter = make_exporter("jsonl", fields=ALL_FIELDS)
    assert exporter.write((PERSON for _ in range(20_000)), cast(BinaryIO, sink), HEADER) == 20_000
    assert len(sink.writes) > 1
    assert all(size >= 1 << 20 for size in sink.writes[:-1])
