"""XML batch files, written by hand as strings: one dialect per vocabulary, each with its XSD."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO, Final

if TYPE_CHECKING:
    from hub.exporters import BatchHeader

# The always-fields become the record's attributes; they are the exporter
# contract's, repeated here because hub.partners sits beside us, not below.
_RECORD_ATTRIBUTES: Final = ("record_type", "record_key", "status", "status_reason")
_HEADER_ATTRIBUTES: Final = ("partner", "kind", "from_seq", "to_seq", "batch_id", "created_at")
_NESTED_KEYS: Final = (
    "name", "id_number", "type", "role", "released_on", "release_reason",
    "id", "person", "from", "until", "reason", "status",
)
#: List fields, and the key under which a dialect names one item of each.
_ITEM_KEYS: Final = (
    "travel_documents", "behaviours", "categories", "bound_persons", "exemptions",
    "exemptions.categories",
)

# XML 1.0 forbids C0 controls other than TAB, LF and CR, lone surrogates and
# U+FFFE/U+FFFF; even as character references. They carry no meaning in a name
# or a case number, so they are dropped rather than failing a nightly batch.
# TAB, LF and CR are kept as references: attribute normalisation would turn
# them into spaces, and a parser turns a literal CR into LF.
_SPECIAL: Final = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_REPLACEMENTS: Final = {
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
    "\t": "&#9;", "\n": "&#10;", "\r": "&#13;",
}
# Encode and write when this many strings are collected: blocks of about 1 MB.
_BLOCK_PARTS: Final = 1 << 16


def _replace(match: re.Match[str]) -> str:
    return _REPLACEMENTS.get(match.group(), "")


def escape(value: object) -> str:
    """Text safe as element content and as a double-quoted attribute value."""
    text = value if isinstance(value, str) else str(value)
    if _SPECIAL.search(text) is None:
        return text
    return _SPECIAL.sub(_replace, text)


@dataclass(frozen=True, slots=True)
class XmlDialect:
    """One XML vocabulary for the same rows: names, namespace and the XSD that checks it."""

    #: Namespace of every element; attributes are unqualified.
    namespace: str
    #: The document element, carrying the batch header as attributes.
    root: str
    #: One element per row, carrying the always-fields as attributes.
    record: str
    #: File name of the XSD in ``schemas/``; a manifest's ``schema`` names it.
    schema: str
    #: Canonical field -> child element of a record. Its order is the XSD's
    #: sequence order, whatever the partner's field order.
    elements: Mapping[str, str]
    #: List field -> element of one item (``exemptions.categories`` inside an exemption).
    items: Mapping[str, str]
    #: Header keys, always-fields and keys inside structured values -> XML names.
    names: Mapping[str, str]

    def __post_init__(self) -> None:
        missing = [k for k in (*_HEADER_ATTRIBUTES, *_RECORD_ATTRIBUTES, *_NESTED_KEYS)
                   if k not in self.names]
        missing += [f"items[{k}]" for k in _ITEM_KEYS
                    if k.partition(".")[0] in self.elements and k not in self.items]
        if missing:
            raise ValueError(f"XML dialect {self.root!r} does not name: {', '.join(missing)}")
        # Read-only copies: a dialect is shared by every exporter built from it.
        for name in ("elements", "items", "names"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


_HUB_NAMES: Final = {
    "partner": "partner", "kind": "kind", "from_seq": "fromSeq", "to_seq": "toSeq",
    "batch_id": "batchId", "created_at": "createdAt",
    "record_type": "type", "record_key": "key", "status": "status",
    "status_reason": "statusReason",
    "name": "name", "id_number": "idNumber", "type": "type", "role": "role",
    "released_on": "releasedOn", "release_reason": "releaseReason", "id": "id",
    "person": "person", "from": "from", "until": "until", "reason": "reason",
}
_HUB_ELEMENTS: Final = {
    "subject_type": "subjectType", "name": "name", "id_type": "idType",
    "id_number": "idNumber", "gender": "gender", "birth_date": "birthDate",
    "legal_representative": "legalRepresentative", "travel_documents": "travelDocuments",
    "court_code": "courtCode", "court_name": "courtName", "case_number": "caseNumber",
    "filed_on": "filedOn", "basis_issuer": "basisIssuer", "basis_number": "basisNumber",
    "obligation": "obligation", "performance": "performance", "behaviours": "behaviours",
    "decided_on": "decidedOn", "listed_on": "listedOn", "expires_on": "expiresOn",
    "order_id": "orderId", "issued_on": "issuedOn", "categories": "categories",
    "bound_persons": "boundPersons", "listing_id": "listingId", "exemptions": "exemptions",
    "role": "role",
}
_HUB_ITEMS: Final = {
    "travel_documents": "document", "behaviours": "code", "categories": "code",
    "bound_persons": "person", "exemptions": "exemption", "exemptions.categories": "category",
}


def _pascal(names: Mapping[str, str]) -> dict[str, str]:
    return {key: name[0].upper() + name[1:] for key, name in names.items()}


#: The hub's own list format (``schemas/hub-list-1.0.xsd``).
HUB_LIST: Final = XmlDialect(
    namespace="urn:joint-sanction-hub:list:1.0",
    root="hubList",
    record="record",
    schema="hub-list-1.0.xsd",
    elements=_HUB_ELEMENTS,
    items=_HUB_ITEMS,
    names=_HUB_NAMES,
)

#: The People's Bank credit reference centre's format: the hub's vocabulary in
#: PascalCase, in its own namespace (``schemas/pbc-credit-1.0.xsd``).
PBC_CREDIT: Final = XmlDialect(
    namespace="urn:pbc:crc:dishonest-debtor:1.0",
    root="DishonestDebtorList",
    record="Debtor",
    schema="pbc-credit-1.0.xsd",
    elements=_pascal(_HUB_ELEMENTS),
    items=_pascal(_HUB_ITEMS),
    names=_pascal(_HUB_NAMES),
)

_Inner = Callable[[Any], str]


def _element(name: str, value: object) -> str:
    return "" if value is None else f"<{name}>{escape(value)}</{name}>"


def _attributes(pairs: Iterable[tuple[str, str]], value: Mapping[str, Any]) -> str:
    return "".join(
        f' {name}="{escape(v)}"' for key, name in pairs if (v := value.get(key)) is not None
    )


def _structured(dialect: XmlDialect) -> dict[str, _Inner]:
    """Writers of the structured fields' content, in one dialect's names."""
    n, items = dialect.names, dialect.items
    name, id_number = n["name"], n["id_number"]
    kind, role = (("type", n["type"]),), (("role", n["role"]),)
    person_keys = tuple((k, n[k]) for k in ("name", "id_number", "released_on", "release_reason"))
    exemption_keys = tuple((k, n[k]) for k in ("id", "person", "from", "until", "reason", "status"))
    # A dialect without a list field need not name its items.
    document, person = items.get("travel_documents"), items.get("bound_persons")
    exemption, category = items.get("exemptions"), items.get("exemptions.categories")

    def codes(item: str | None) -> _Inner:
        return lambda values: "".join([f"<{item}>{escape(v)}</{item}>" for v in values])

    def legal_representative(rep: Mapping[str, Any]) -> str:
        return _element(name, rep.get("name")) + _element(id_number, rep.get("id_number"))

    def travel_documents(docs: Iterable[Mapping[str, Any]]) -> str:
        return "".join([
            f"<{document}{_attributes(kind, d)}>{escape(d.get('number') or '')}</{document}>"
            for d in docs
        ])

    def bound_persons(persons: Iterable[Mapping[str, Any]]) -> str:
        return "".join([
            f"<{person}{_attributes(role, p)}>"
            + "".join([_element(tag, p.get(key)) for key, tag in person_keys])
            + f"</{person}>"
            for p in persons
        ])

    def exemptions(values: Iterable[Mapping[str, Any]]) -> str:
        return "".join([
            f"<{exemption}{_attributes(exemption_keys, e)}>"
            + "".join([f"<{category}>{escape(c)}</{category}>" for c in e.get("categories") or ()])
            + f"</{exemption}>"
            for e in values
        ])

    return {
        "legal_representative": legal_representative,
        "travel_documents": travel_documents,
        "behaviours": codes(items.get("behaviours")),
        "categories": codes(items.get("categories")),
        "bound_persons": bound_persons,
        "exemptions": exemptions,
    }


class XmlExporter:
    """Writes rows as one XML document in a dialect: header attributes, one element per row."""

    format = "xml"
    extension = ".xml"

    def __init__(self, fields: Sequence[str], dialect: XmlDialect = HUB_LIST) -> None:
        unknown = [f for f in fields if f not in dialect.elements and f not in _RECORD_ATTRIBUTES]
        if unknown:
            raise ValueError(f"no {dialect.root!r} element for: {', '.join(unknown)}")
        missing = [f for f in _RECORD_ATTRIBUTES if f not in fields]
        if missing:
            # The XSD requires them: without them a partner could not delete a row.
            raise ValueError(f"XML rows must carry {', '.join(missing)}")
        self.fields = tuple(fields)
        self.dialect = dialect
        self.schema = dialect.schema
        inners = _structured(dialect)
        # Child elements in the dialect's (the XSD's) order, only the partner's fields.
        self._plan = tuple(
            (field, f"<{name}>", f"</{name}>", inners.get(field))
            for field, name in dialect.elements.items() if field in fields
        )

    def head(self, header: BatchHeader) -> str:
        """The XML declaration and the root's start tag, with the header's attributes."""
        d, n = self.dialect, self.dialect.names
        values = {
            "partner": header.partner, "kind": header.kind, "from_seq": header.from_seq,
            "to_seq": header.to_seq, "batch_id": header.batch_id, "created_at": header.created_at,
        }
        attrs = _attributes(((k, n[k]) for k in _HEADER_ATTRIBUTES), values)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<{d.root} xmlns="{d.namespace}"{attrs}>\n'

    def tail(self) -> str:
        """The root's end tag."""
        return f"</{self.dialect.root}>\n"

    def write(self, rows: Iterable[Mapping[str, Any]], out: BinaryIO, header: BatchHeader) -> int:
        """Write the document to ``out`` in blocks; return the number of records."""
        d, n = self.dialect, self.dialect.names
        open_type = f'<{d.record} {n["record_type"]}="'
        key, status, reason = (f'" {n[k]}="' for k in ("record_key", "status", "status_reason"))
        record_close = f"</{d.record}>\n"
        plan, search, sub, replace = self._plan, _SPECIAL.search, _SPECIAL.sub, _replace
        parts: list[str] = [self.head(header)]
        count = 0
        # The exporter's hot path. Strings are collected, not concatenated (half
        # the cost), and escape() is inlined for scalars.
        for row in rows:
            get = row.get
            parts += (open_type, escape(get("record_type")), key, escape(get("record_key")),
                      status, escape(get("status")))
            value = get("status_reason")
            if value is not None:
                parts += (reason, escape(value))
            parts.append('">')
            for field, open_, close, inner in plan:
                value = get(field)
                if value is None:
                    continue
                if inner is None:
                    if value.__class__ is not str:
                        value = str(value)
                    if search(value) is not None:
                        value = sub(replace, value)
                    parts += (open_, value, close)
                else:
                    parts += (open_, inner(value), close)
            parts.append(record_close)
            count += 1
            if len(parts) >= _BLOCK_PARTS:
                out.write("".join(parts).encode())
                parts.clear()
        parts.append(self.tail())
        out.write("".join(parts).encode())
        return count
