"""XSD validation of batch files: lxml streaming for the hub's own, xmlschema for contracts."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Final, cast
from xml.sax import SAXParseException

import xmlschema
from lxml import etree

from hub.exporters.xml import HUB_LIST, PBC_CREDIT

#: The repository's top-level ``schemas/`` folder.
SCHEMAS_DIR: Final = Path(__file__).resolve().parent.parent.parent / "schemas"
#: Default cap on reported errors: a systematically broken 10M-record file
#: must not build a list of ten million messages.
MAX_ERRORS: Final = 1000

# Inbound and outbound XML alike: no entity expansion, no DTD, no network.
_PARSER_OPTIONS: Final[dict[str, Any]] = {
    "resolve_entities": False, "no_network": True, "load_dtd": False,
}
# The record element of each known list schema. Other schemas take every child
# of the root as a record, which costs a Python step per element.
_RECORD_TAGS: Final = {
    d.schema: f"{{{d.namespace}}}{d.record}" for d in (HUB_LIST, PBC_CREDIT)
}

# No file the hub writes or reads has one; entity references left unexpanded
# would also break libxml2's validator.
_NO_DOCTYPE: Final = "a DOCTYPE (DTD, entities) is not allowed before the root element"

Source = Path | BinaryIO


def schema_path(name: str) -> Path:
    """The path of an XSD in ``schemas/`` by its file name (as a manifest names it)."""
    if not name or Path(name).name != name:
        raise ValueError(f"{name!r} is not a schema file name")
    return SCHEMAS_DIR / name


@functools.cache
def _lxml_schema(name: str) -> etree.XMLSchema:
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    return etree.XMLSchema(etree.parse(str(schema_path(name)), parser))


@functools.cache
def _xmlschema_schema(name: str) -> Any:
    return xmlschema.XMLSchema10(str(schema_path(name)))


def validate_xml(source: Source, schema: str, *, max_errors: int | None = MAX_ERRORS) -> list[str]:
    """Validate a batch file with libxml2 in constant memory; ``[]`` means valid.

    Streaming validation (``iterparse(schema=...)``) loses line numbers in
    libxml2, so each child of the root is validated on its own, inside a copy
    of the root, as soon as it is parsed, then dropped; what is left in the root
    (its attributes, the last record, stray content) is validated at the end.
    Constraints across records (``xs:unique``, ``maxOccurs`` of the records)
    would not be seen; the hub's list schemas have none.

    :returns: every error as ``"line N: message"``, at most ``max_errors`` of them.
    """
    xsd = _lxml_schema(schema)
    errors = _Errors(max_errors)
    context = etree.iterparse(source, events=("end",), tag=_RECORD_TAGS.get(schema),
                              **_PARSER_OPTIONS)
    root: Any = None
    shell: Any = None
    pending: Any = None
    header: frozenset[str] = frozenset()
    try:
        for _, element in context:
            parent = element.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # the root itself, or an element inside a record
            if shell is None:
                root = parent
                if root.getroottree().docinfo.doctype:
                    return [f"line {root.sourceline}: {_NO_DOCTYPE}"]
                shell = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
                # The header's own errors come once, from the root at the end.
                xsd.validate(shell)
                header = frozenset(e.message for e in _entries(xsd.error_log))
            # Each record is checked when the next one is parsed: the last one
            # stays in the root, which then never looks empty to the schema.
            if pending is not None:
                shell.append(pending)  # moved out of the document: memory stays flat
                if not xsd.validate(shell):
                    # An error on the shell itself (text after the record) gets its line.
                    errors.add((e for e in _entries(xsd.error_log) if e.message not in header),
                               line=pending.sourceline)
                shell.remove(pending)
                if errors.full:
                    return errors.lines
            pending = element
        root = context.root
    except etree.XMLSyntaxError as exc:
        # Not well-formed: parsing cannot go on. (The exception's error_log would
        # also hold earlier parses' errors of this thread.)
        return [*errors.lines, f"line {exc.lineno}: {exc.msg}"]
    if root.getroottree().docinfo.doctype:
        return [f"line {root.sourceline}: {_NO_DOCTYPE}"]
    if not xsd.validate(root):
        errors.add(_entries(xsd.error_log))
    return errors.lines


def _entries(log: object) -> Iterable[Any]:
    # lxml-stubs do not declare an error log iterable; it is, of _LogEntry.
    return cast(Iterable[Any], log)


class _Errors:
    """Collected "line N: message" strings, up to a limit."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.lines: list[str] = []
        self.full = False

    def add(self, entries: Iterable[Any], line: int | None = None) -> None:
        """Add log entries; ``line`` stands in for entries without one."""
        for entry in entries:
            if self.limit is not None and len(self.lines) >= self.limit:
                self.lines.append(f"stopped after {self.limit} errors")
                self.full = True
                return
            self.lines.append(f"line {entry.line or line}: {entry.message}")


def validate_xml_xmlschema(
    source: Source, schema: str, *, max_errors: int | None = MAX_ERRORS
) -> list[str]:
    """Validate with xmlschema (lazy, entities refused, no resource access); ``[]`` is valid.

    A second, independent implementation of XSD for the contract tests, and
    the validator for inbound files. About 30 times slower than
    :func:`validate_xml`.
    """
    xsd = _xmlschema_schema(schema)
    errors: list[str] = []
    with _opened(source) as stream:
        try:
            # allow="none" also refuses the file's own path, so it is given open.
            # lxml's iterparse (entities off) gives the elements their line numbers.
            resource = xmlschema.XMLResource(
                stream, lazy=True, defuse="always", allow="none",
                iterparse=functools.partial(etree.iterparse, **_PARSER_OPTIONS),
            )
            for error in xsd.iter_errors(resource):
                if max_errors is not None and len(errors) >= max_errors:
                    errors.append(f"stopped after {max_errors} errors")
                    break
                line = error.sourceline if error.sourceline is not None else "?"
                errors.append(f"line {line}: {error.reason} (at {error.path})")
        except SAXParseException as exc:  # from the defusing pass over the prolog
            errors.append(f"line {exc.getLineNumber()}: {exc.getMessage()}")
        except (xmlschema.XMLResourceError, etree.XMLSyntaxError) as exc:
            # A parse error carries its line, maybe on the lxml error it wraps.
            line = getattr(exc, "lineno", None) or getattr(exc.__cause__, "lineno", None)
            errors.append(f"line {line or '?'}: {exc}")
    return errors


@contextmanager
def _opened(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, Path):
        with source.open("rb") as stream:
            yield stream
    else:
        yield source
