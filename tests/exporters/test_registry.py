"""The exporter registry and contract: formats, options, batch headers."""

from __future__ import annotations

import dataclasses

import pytest

from hub.exporters import EXPORTERS, make_exporter
from hub.exporters.csv import CsvExporter
from hub.exporters.jsonl import JsonlExporter
from hub.exporters.xml import HUB_LIST, PBC_CREDIT, XmlExporter
from hub.partners.fields import ALWAYS_FIELDS
from tests.exporters.samples import HEADER, SAMPLE_FIELDS


def test_registry_is_explicit() -> None:
    assert {"jsonl": JsonlExporter, "csv": CsvExporter, "xml": XmlExporter} == EXPORTERS


@pytest.mark.parametrize(
    ("format", "extension", "schema"),
    [("jsonl", ".jsonl", "jsonl"), ("csv", ".csv", "csv"), ("xml", ".xml", "hub-list-1.0.xsd")],
)
def test_each_format_names_its_extension_and_schema(
    format: str, extension: str, schema: str
) -> None:
    exporter = make_exporter(format, fields=SAMPLE_FIELDS)
    assert isinstance(exporter, EXPORTERS[format])
    assert (exporter.format, exporter.extension, exporter.schema) == (format, extension, schema)


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'yaml': use one of jsonl, csv, xml"):
        make_exporter("yaml", fields=SAMPLE_FIELDS)


@pytest.mark.parametrize("format", ["xml", "jsonl"])
def test_xml_and_json_lines_are_utf8(format: str) -> None:
    with pytest.raises(ValueError, match="use utf-8"):
        make_exporter(format, fields=SAMPLE_FIELDS, encoding="gb18030")
    assert make_exporter(format, fields=SAMPLE_FIELDS, encoding="UTF-8").format == format


def test_the_xml_dialect_is_chosen_by_the_caller_and_ignored_by_other_formats() -> None:
    pbc = make_exporter("xml", fields=SAMPLE_FIELDS, xml=PBC_CREDIT)
    assert pbc.schema == "pbc-credit-1.0.xsd"
    assert make_exporter("xml", fields=SAMPLE_FIELDS).schema == HUB_LIST.schema
    # A partner adapter passes its dialect whatever the partner's format.
    assert make_exporter("csv", fields=SAMPLE_FIELDS, xml=PBC_CREDIT).schema == "csv"


def test_names_of_fields_not_exported_are_ignored() -> None:
    exporter = make_exporter("csv", fields=ALWAYS_FIELDS, names={"name": "姓名"})
    assert isinstance(exporter, CsvExporter)
    assert exporter.header == ALWAYS_FIELDS
    # Empty names are fine for XML; names of its fields are not.
    make_exporter("xml", fields=(*ALWAYS_FIELDS, "name"), names={})
    make_exporter("xml", fields=(*ALWAYS_FIELDS, "name"), names={"role": "角色"})
    with pytest.raises(ValueError, match="XML takes its names from its dialect"):
        make_exporter("xml", fields=(*ALWAYS_FIELDS, "name"), names={"name": "姓名"})


@pytest.mark.parametrize(
    ("fields", "names", "message"),
    [
        ((), None, "no fields"),
        ((*ALWAYS_FIELDS, "name", "name"), None, "listed twice: name"),
        ((*ALWAYS_FIELDS, "name"), {"name": "status"}, "distinct and non-empty"),
        ((*ALWAYS_FIELDS, "name"), {"name": ""}, "distinct and non-empty"),
    ],
)
def test_inconsistent_fields_are_refused(
    fields: tuple[str, ...], names: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_exporter("jsonl", fields=fields, names=names)


def test_batch_header_is_frozen_and_checked() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        HEADER.kind = "full"  # type: ignore[misc]
    with pytest.raises(ValueError, match="batch kind 'partial'"):
        dataclasses.replace(HEADER, kind="partial")
    with pytest.raises(ValueError, match="not 0 <= from <= to"):
        dataclasses.replace(HEADER, from_seq=300)
    with pytest.raises(ValueError, match="not 0 <= from <= to"):
        dataclasses.replace(HEADER, from_seq=-1)
    assert dataclasses.replace(HEADER, kind="full", from_seq=0).from_seq == 0
