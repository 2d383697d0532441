"""Streaming writers, one per format: rows in, bytes to a stream out."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Final, Protocol

from hub.exporters.csv import CsvExporter
from hub.exporters.jsonl import JsonlExporter
from hub.exporters.xml import HUB_LIST, XmlDialect, XmlExporter

__all__ = [
    "EXPORTERS",
    "BatchHeader",
    "CsvExporter",
    "Exporter",
    "JsonlExporter",
    "XmlExporter",
    "make_exporter",
]


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """What a batch file may say about itself; the manifest says the same."""

    partner: str
    #: ``full`` or ``delta``.
    kind: str
    #: Change-log position the batch starts after (exclusive).
    from_seq: int
    #: Change-log position the batch ends at (inclusive).
    to_seq: int
    batch_id: str
    #: ISO 8601 UTC, e.g. ``2026-11-25T02:00:00Z``.
    created_at: str

    def __post_init__(self) -> None:
        if self.kind not in ("full", "delta"):
            raise ValueError(f"batch kind {self.kind!r}: use full or delta")
        if not 0 <= self.from_seq <= self.to_seq:
            raise ValueError(f"batch range {self.from_seq}-{self.to_seq} is not 0 <= from <= to")


class Exporter(Protocol):
    """A streaming writer of projected rows in one format."""

    #: Registry key: ``jsonl``, ``csv`` or ``xml``.
    format: str
    #: File name extension with its dot.
    extension: str
    #: What a manifest's ``schema`` says: the XSD file name for XML, else the format.
    schema: str

    def write(self, rows: Iterable[Mapping[str, Any]], out: BinaryIO, header: BatchHeader) -> int:
        """Write every row to ``out`` as it comes (constant memory); return how many."""
        ...


#: Format -> exporter class. Explicit, so a format exists only once reviewed here.
EXPORTERS: Final[dict[str, type[Exporter]]] = {
    "jsonl": JsonlExporter,
    "csv": CsvExporter,
    "xml": XmlExporter,
}

#: Format -> the encodings it accepts; ``utf-8-sig`` is UTF-8 with a byte order mark.
ENCODINGS: Final[Mapping[str, tuple[str, ...]]] = {
    "jsonl": ("utf-8",),
    "csv": ("utf-8", "utf-8-sig", "gb18030"),
    "xml": ("utf-8",),
}


def _encoding(format: str, encoding: str) -> str:
    allowed = ENCODINGS[format]
    try:
        # "UTF8", "utf_8" and "GB18030" all name the same codecs.
        name = codecs.lookup(encoding).name
    except LookupError:
        name = encoding
    if name not in allowed:
        why = " (JSON Lines is UTF-8 by definition)" if format == "jsonl" else ""
        raise ValueError(
            f"encoding {encoding!r} for {format}: use {' or '.join(allowed)}{why}"
        )
    return name


def _check_fields(fields: Sequence[str], names: Mapping[str, str]) -> None:
    if not fields:
        raise ValueError("no fields to export")
    if len(set(fields)) != len(fields):
        twice = sorted({f for f in fields if fields.count(f) > 1})
        raise ValueError(f"fields listed twice: {', '.join(twice)}")
    out = [names.get(f, f) for f in fields]
    if len(set(out)) != len(out) or not all(out):
        raise ValueError(f"output names must be distinct and non-empty: {out}")


def make_exporter(
    format: str,
    *,
    fields: Sequence[str],
    names: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    xml: XmlDialect | None = None,
) -> Exporter:
    """Build the exporter for a partner's format.

    :param fields: canonical fields in output order, the always-fields first.
    :param names: output names of some fields (CSV headers, JSON keys); entries
        for fields not exported are ignored, so one table can serve several scopes.
    :param encoding: ``utf-8``; CSV also takes ``gb18030`` and ``utf-8-sig`` (with a BOM).
    :param xml: the XML dialect (default :data:`~hub.exporters.xml.HUB_LIST`);
        ignored by the other formats, so an adapter may always pass its own.
    :raises ValueError: an unknown format or encoding, or inconsistent fields.
    """
    if format not in EXPORTERS:
        raise ValueError(f"unknown export format {format!r}: use one of {', '.join(EXPORTERS)}")
    encoding = _encoding(format, encoding)
    fields = tuple(fields)
    names = {f: n for f, n in (names or {}).items() if f in fields and n != f}
    _check_fields(fields, names)
    if format == "jsonl":
        return JsonlExporter(fields, names=names)
    if format == "csv":
        bom = encoding == "utf-8-sig"
        return CsvExporter(fields, names=names, encoding="utf-8" if bom else encoding, bom=bom)
    if names:
        # XML names come from its dialect and its XSD; silently dropping a partner's
        # own names would hide a configuration mistake.
        raise ValueError(f"XML takes its names from its dialect, not names for {sorted(names)}")
    return XmlExporter(fields, xml or HUB_LIST)
