"""XML: the hub's and the credit centre's dialects, escaping, order, and the XSDs."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
from lxml import etree

from hub.exporters import make_exporter
from hub.exporters.xml import HUB_LIST, PBC_CREDIT, XmlDialect, XmlExporter, escape
from hub.exporters.xsd import schema_path, validate_xml, validate_xml_xmlschema
from hub.partners.fields import ALWAYS_FIELDS, PROJECTED_FIELDS
from tests.exporters.samples import ALL_FIELDS, HEADER, SAMPLE, SAMPLE_FIELDS, full_row

IN_CI = os.environ.get("CI", "").lower() == "true"
NS = "{urn:joint-sanction-hub:list:1.0}"

EXPECTED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<hubList xmlns="urn:joint-sanction-hub:list:1.0" partner="pbc" kind="delta" fromSeq="100"'
    ' toSeq="250" batchId="pbc_delta_100-250_20261125T020000Z"'
    ' createdAt="2026-11-25T02:00:00Z">\n'
    '<record type="listing" key="L-2024-000001" status="active"><subjectType>person</subjectType>'
    "<name>张伟</name><idType>resident_id</idType><idNumber>110105198503150019</idNumber>"
    "<birthDate>1985-03-15</birthDate>"
    '<travelDocuments><document type="passport">E12345678</document></travelDocuments>'
    "<courtName>北京市朝阳区人民法院</courtName><caseNumber>（2024）京0105执1234号</caseNumber>"
    "<behaviours><code>B1</code></behaviours></record>\n"
    '<record type="listing" key="L-2024-000002" status="active">'
    "<subjectType>organisation</subjectType><name>北京某某贸易有限公司</name><idType>uscc</idType>"
    "<idNumber>91110105MA01ABCD5F</idNumber><legalRepresentative><name>李娜</name>"
    "<idNumber>320102197907040241</idNumber></legalRepresentative>"
    "<travelDocuments></travelDocuments><courtName>北京市朝阳区人民法院</courtName>"
    "<caseNumber>（2024）京0105执2001号</caseNumber><behaviours><code>B3</code><code>B4</code>"
    "</behaviours><expiresOn>2026-05-20</expiresOn></record>\n"
    '<record type="restriction" key="R-2024-000002" status="active">'
    "<subjectType>organisation</subjectType><name>北京某某贸易有限公司</name><idType>uscc</idType>"
    "<idNumber>91110105MA01ABCD5F</idNumber><legalRepresentative><name>李娜</name>"
    "</legalRepresentative><courtName>北京市朝阳区人民法院</courtName>"
    "<caseNumber>（2024）京0105执2001号</caseNumber><categories><code>C1</code><code>C9</code>"
    '</categories><boundPersons><person role="legal_representative"><name>李娜</name>'
    '<idNumber>320102197907040241</idNumber></person><person role="actual_controller">'
    "<name>王强</name><idNumber>11010519491231002X</idNumber><releasedOn>2025-01-02</releasedOn>"
    "<releaseReason>representative_replaced</releaseReason></person></boundPersons>"
    '<exemptions><exemption id="7" person="320102197907040241" from="2026-11-25"'
    ' until="2026-12-10" reason="funeral" status="active"><category>C1</category></exemption>'
    "</exemptions></record>\n"
    '<record type="listing" key="L-2024-000003" status="removed" statusReason="performed">'
    "</record>\n"
    "</hubList>\n"
)


def _write(rows: Iterable[Mapping[str, Any]], fields: Iterable[str] = ALL_FIELDS,
           dialect: XmlDialect = HUB_LIST) -> bytes:
    out = io.BytesIO()
    XmlExporter(tuple(fields), dialect).write(rows, out, HEADER)
    return out.getvalue()


def _assert_valid(data: bytes, dialect: XmlDialect, tmp_path: Path) -> None:
    path = tmp_path / "batch.xml"
    path.write_bytes(data)
    assert validate_xml(path, dialect.schema) == []
    assert validate_xml(io.BytesIO(data), dialect.schema) == []
    assert validate_xml_xmlschema(path, dialect.schema) == []


def test_sample_is_written_as_expected(tmp_path: Path) -> None:
    exporter = make_exporter("xml", fields=SAMPLE_FIELDS)
    out = io.BytesIO()
    assert exporter.write(iter(SAMPLE), out, HEADER) == 4
    assert out.getvalue().decode() == EXPECTED
    assert (exporter.format, exporter.extension, exporter.schema) == (
        "xml", ".xml", "hub-list-1.0.xsd")
    _assert_valid(out.getvalue(), HUB_LIST, tmp_path)


@pytest.mark.parametrize("dialect", [HUB_LIST, PBC_CREDIT], ids=lambda d: d.root)
def test_every_field_validates_in_both_dialects(dialect: XmlDialect, tmp_path: Path) -> None:
    rows = [full_row(1), *SAMPLE, full_row(2, status="lifted", status_reason="performed")]
    data = _write(rows, dialect=dialect)
    _assert_valid(data, dialect, tmp_path)
    root = etree.fromstring(data)
    assert root.tag == f"{{{dialect.namespace}}}{dialect.root}"
    first = root[0]
    assert first.tag == f"{{{dialect.namespace}}}{dialect.record}"
    assert [etree.QName(child).localname for child in first] == list(dialect.elements.values())


def test_pbc_dialect_names() -> None:
    root = etree.fromstring(_write([full_row(1)], dialect=PBC_CREDIT))
    assert root.tag == "{urn:pbc:crc:dishonest-debtor:1.0}DishonestDebtorList"
    assert dict(root.attrib.items()) == {
        "Partner": "pbc", "Kind": "delta", "FromSeq": "100", "ToSeq": "250",
        "BatchId": HEADER.batch_id, "CreatedAt": HEADER.created_at,
    }
    debtor = root[0]
    assert etree.QName(debtor).localname == "Debtor"
    assert set(debtor.attrib) == {"Type", "Key", "Status"}
    ns = "{urn:pbc:crc:dishonest-debtor:1.0}"
    person = debtor.find(f"{ns}BoundPersons/{ns}Person")
    assert person is not None
    assert person.get("Role") == "main_responsible"
    assert debtor.findtext(f"{ns}TravelDocuments/{ns}Document") == "E12345678"
    assert PBC_CREDIT.schema == "pbc-credit-1.0.xsd"


def test_elements_follow_the_canonical_field_order() -> None:
    # The XSD's sequences need a fixed order: PROJECTED_FIELDS'.
    assert list(HUB_LIST.elements) == list(PROJECTED_FIELDS)
    assert list(PBC_CREDIT.elements) == list(PROJECTED_FIELDS)
    reversed_fields = (*ALWAYS_FIELDS, *reversed(list(PROJECTED_FIELDS)))
    assert _write([full_row(1)], reversed_fields) == _write([full_row(1)])


def test_only_the_partners_fields_appear() -> None:
    fields = (*ALWAYS_FIELDS, "name", "id_number")
    root = etree.fromstring(_write([full_row(1)], fields))
    assert [etree.QName(child).localname for child in root[0]] == ["name", "idNumber"]
    assert b"obligation" not in _write(SAMPLE, SAMPLE_FIELDS)


def test_text_is_escaped_and_characters_illegal_in_xml_are_dropped(tmp_path: Path) -> None:
    name = 'A & B <c> "d" \'e\'\ttab\nnew\rcr\x00\x01\x0b\x1f\ufffe\ud800 😀 \x7f'
    row = full_row(1, name=name, record_key='K&"<1>\t', status_reason=None,
                   legal_representative={"name": "x\x02y&", "id_number": None},
                   bound_persons=[{"name": "\x1bz<", "id_number": "320102197907040241",
                                   "role": "main_responsible"}])
    data = _write([row])
    _assert_valid(data, HUB_LIST, tmp_path)
    record = etree.fromstring(data)[0]
    assert record.findtext(f"{NS}name") == 'A & B <c> "d" \'e\'\ttab\nnew\rcr 😀 \x7f'
    assert record.get("key") == 'K&"<1>\t'
    assert record.findtext(f"{NS}legalRepresentative/{NS}name") == "xy&"
    assert record.findtext(f"{NS}boundPersons/{NS}person/{NS}name") == "z<"


def test_escape() -> None:
    assert escape("plain 张伟") == "plain 张伟"
    assert escape('<&>"') == "&lt;&amp;&gt;&quot;"
    assert escape("a\tb\nc\rd") == "a&#9;b&#10;c&#13;d"
    assert escape("\x00a\x08\ufffe\uffff") == "a"
    assert escape(7) == "7"


def test_non_text_scalars_are_written_as_text() -> None:
    record = etree.fromstring(_write([full_row(1, name=42, listing_id=7)]))[0]
    assert record.findtext(f"{NS}name") == "42"
    assert record.findtext(f"{NS}listingId") == "7"


def test_an_empty_batch_is_a_valid_document(tmp_path: Path) -> None:
    data = _write([])
    assert etree.fromstring(data).get("kind") == "delta"
    _assert_valid(data, HUB_LIST, tmp_path)


def test_large_output_is_written_in_blocks() -> None:
    sizes: list[int] = []

    class Sink(io.RawIOBase):
        def write(self, data: Any) -> int:
            sizes.append(len(data))
            return len(data)

    rows = (full_row(1) for _ in range(5000))
    count = XmlExporter(ALL_FIELDS).write(rows, cast(BinaryIO, Sink()), HEADER)
    assert count == 5000
    assert len(sizes) > 1


def test_xml_fields_must_be_known_and_carry_the_always_fields() -> None:
    with pytest.raises(ValueError, match="no 'hubList' element for: colour"):
        XmlExporter((*ALWAYS_FIELDS, "colour"))
    with pytest.raises(ValueError, match="must carry status_reason"):
        XmlExporter(("record_type", "record_key", "status", "name"))


def test_a_dialect_must_name_everything() -> None:
    with pytest.raises(ValueError, match=r"does not name: partner.*items\[exemptions\]"):
        XmlDialect(namespace="urn:x", root="r", record="x", schema="x.xsd",
                   elements={"exemptions": "e"}, items={}, names={})
    with pytest.raises(TypeError):
        HUB_LIST.names["partner"] = "p"  # type: ignore[index]


def test_xmllint_accepts_the_schemas_and_the_files(tmp_path: Path) -> None:
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        if IN_CI:
            pytest.fail("xmllint is required when CI=true (Debian: libxml2-utils)")
        pytest.skip("xmllint not installed (Debian: libxml2-utils)")
    for dialect in (HUB_LIST, PBC_CREDIT):
        path = tmp_path / f"{dialect.root}.xml"
        path.write_bytes(_write([full_row(1), *SAMPLE], dialect=dialect))
        result = subprocess.run(
            [xmllint, "--noout", "--nonet", "--schema", str(schema_path(dialect.schema)),
             str(path)],
            capture_output=True, text=True, check=False,
        )
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("dialect", [HUB_LIST, PBC_CREDIT], ids=lambda d: d.root)
def test_structured_values_and_attributes_read_back_unchanged(dialect: XmlDialect) -> None:
    """Markup characters inside lists, documents, exemptions and the header must not
    break a partner's parser or change what it reads (a lost batch or a wrong ID)."""
    row = full_row(
        1, travel_documents=[{"type": 'p"&<', "number": "E123<<45&"}],
        behaviours=["B1 a&b<c", 'B2 "q"'], categories=["C1&", "<C9>"],
        bound_persons=[{"name": "李娜", "id_number": "3201<&", "role": 'main"&<',
                        "released_on": None, "release_reason": None}],
        exemptions=[{"id": 1, "person": "1101&<", "categories": ["C<1", 'C"9&'],
                     "from": "2026-11-25", "until": "2026-12-10", "reason": 'x"&',
                     "status": "active"}],
    )
    header = replace(HEADER, batch_id='pbc&"delta"<1>')
    out = io.BytesIO()
    XmlExporter(ALL_FIELDS, dialect).write([row], out, header)
    root = etree.fromstring(out.getvalue())
    n, items, elements = dialect.names, dialect.items, dialect.elements
    assert root.get(n["batch_id"]) == 'pbc&"delta"<1>'
    (record,) = root

    def found(field: str) -> list[Any]:
        """The items of one list field, in the dialect's names."""
        ns = f"{{{dialect.namespace}}}"
        return list(record.iterfind(f"{ns}{elements[field]}/{ns}{items[field]}"))

    (document,) = found("travel_documents")
    assert (document.get(n["type"]), document.text) == ('p"&<', "E123<<45&")
    assert [e.text for e in found("behaviours")] == ["B1 a&b<c", 'B2 "q"']
    assert [e.text for e in found("categories")] == ["C1&", "<C9>"]
    (person,) = found("bound_persons")
    assert person.get(n["role"]) == 'main"&<'
    assert person.findtext(f"{{{dialect.namespace}}}{n['id_number']}") == "3201<&"
    (exemption,) = found("exemptions")
    assert (exemption.get(n["reason"]), exemption.get(n["person"])) == ('x"&', "1101&<")
    assert [etree.QName(c).localname for c in exemption] == [items["exemptions.categories"]] * 2
    assert [c.text for c in exemption] == ["C<1", 'C"9&']
