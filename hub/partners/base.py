"""The partner adapter contract: small, typed, pure hooks a quirky partner overrides.

Most partners need no code: this base class, driven by the partner's TOML
file, is the generic adapter. A partner names a subclass
(``adapter = "pkg.module:Class"``) only for what its file cannot express.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from hub.exporters import Exporter, make_exporter
from hub.exporters.xml import HUB_LIST, XmlDialect
from hub.partners.fields import ALWAYS_FIELDS, order_categories
from hub.partners.projection import Row, project

if TYPE_CHECKING:
    from hub.partners.model import PartnerConfig


class PartnerAdapter:
    """Decides what one partner receives and how; one instance per partner config."""

    #: Formats this adapter can write; ``None`` means any registered exporter.
    formats: ClassVar[frozenset[str] | None] = None
    #: XML vocabulary for ``format = "xml"``.
    xml_dialect: ClassVar[XmlDialect] = HUB_LIST
    #: Output names of fields (CSV headers, JSON keys) where the partner has its own.
    column_names: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: List-of-codes field -> code -> the text sent instead of the code. Data, not
    #: code, so the SQL fast path of full snapshots can apply it too.
    code_labels: ClassVar[Mapping[str, Mapping[str, str]]] = MappingProxyType({})
    def __init__(self, config: PartnerConfig) -> None:
        self.config = config
        #: Only orders restricting one of these categories are sent (``None``: all orders).
        self.restriction_categories = order_categories(config.measures)
        # Plain dicts, looked up for every code of every row the feed projects.
        self._labels = tuple((f, dict(labels)) for f, labels in self.code_labels.items())

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def fields(self) -> tuple[str, ...]:
        """Canonical fields of every row, in output order."""
        return (*ALWAYS_FIELDS, *self.config.scope.fields)

    def project(self, kind: str, state: Mapping[str, Any]) -> list[Row]:
        """Rows this partner gets for one record state (``[]``: not its business)."""
        wanted = self.restriction_categories
        if kind == "restriction" and wanted is not None and not wanted.intersection(
                state["categories"]):
            return []
        rows = project(kind, state, self.config.scope)
        if wanted is not None:
            # A lifting of categories the partner does not enforce is none of its
            # business (an airline learns nothing of a rail-only lifting, nor its
            # reason), and an airline must not read "has an exemption" as "may fly".
            for row in rows:
                if exemptions := row.get("exemptions"):
                    row["exemptions"] = [e for e in exemptions
                                         if wanted.intersection(e["categories"])]
        for field, labels in self._labels:
            for row in rows:
                if codes := row.get(field):
                    row[field] = [labels[code] for code in codes]
        return rows

    def shape_digest(self) -> str:
        """SHA-256 (hex) of what decides this partner's rows and file: its measures and
        scope, format and encoding, and the adapter's names and labels. A delta is
        only right against the list the partner got in the same shape."""
        dialect = self.xml_dialect
        shape: dict[str, Any] = {
            "adapter": f"{type(self).__module__}:{type(self).__qualname__}",
            "format": self.config.format, "encoding": self.config.encoding,
            "measures": list(self.config.measures), "records": list(self.config.scope.records),
            "subjects": list(self.config.scope.subjects), "fields": list(self.fields),
            "columns": dict(self.column_names),
            "labels": {f: dict(labels) for f, labels in self.code_labels.items()},
        }
        if self.restriction_categories is not None and "exemptions" in self.fields:
            # Since exemptions are kept to those categories: a list sent before holds
            # others, which no delta withdraws.
            shape["exemption_categories"] = sorted(self.restriction_categories)
        if self.config.format == "xml":  # the vocabulary reshapes XML partners only
            shape["xml"] = [dialect.namespace, dialect.root, dialect.record, dialect.schema,
                            dict(dialect.elements), dict(dialect.items), dict(dialect.names)]
        return hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def exporter(self) -> Exporter:
        return make_exporter(
            self.config.format, fields=self.fields, names=dict(self.column_names),
            encoding=self.config.encoding, xml=self.xml_dialect,
        )
