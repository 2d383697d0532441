"""CSV batch files (RFC 4180) in UTF-8 or GB18030, guarded against spreadsheet formulas."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import orjson

if TYPE_CHECKING:
    from hub.exporters import BatchHeader

#: Encodings a CSV file may use. GB18030 maps all of Unicode, so strict encoding
#: fails only on a lone surrogate, which no valid text holds.
ENCODINGS: Final = ("utf-8", "gb18030")
#: Separator of a list of codes in one cell (``C1;C9``).
LIST_SEPARATOR: Final = ";"
# OWASP CSV injection: a spreadsheet evaluates a cell starting with one of these.
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
# RFC 4180: a cell holding one of these is quoted, its quotes doubled.
_NEEDS_QUOTES: Final = re.compile('[,"\r\n]')
# In a line of plain cells with no comma inside any cell: a cell to guard. A
# literal first character lets the regex engine skip ahead; an alternation with
# ``^`` would try every position, ten times slower.
_GUARD_AFTER_COMMA: Final = re.compile(",[-=+@\t\r]")
# Fields whose values are lists or objects in the vocabulary; a hint for speed
# only: any field may hold any value, and cell() decides by the value's type.
_STRUCTURED: Final = frozenset({
    "behaviours", "categories", "legal_representative", "travel_documents",
    "bound_persons", "exemptions",
})
_EMPTY: Final[dict[object, str]] = {None: ""}
_BOM: Final = "\ufeff".encode()
# Encode and write in blocks of about this many characters.
_BLOCK_CHARS: Final = 1 << 20


def cell(value: object) -> str:
    """One value as cell text: None empty, code lists joined, structures as compact JSON."""
    if isinstance(value, str):
        text = value
    elif value is None:
        return ""
    elif isinstance(value, list | tuple) and (not value or isinstance(value[0], str)):
        try:
            text = LIST_SEPARATOR.join(value)
        except TypeError:  # text and objects mixed: no longer a list of codes
            return orjson.dumps(value).decode()
    elif isinstance(value, int | float):
        # A number is not a formula: -1 stays a number in a spreadsheet.
        return str(value)
    else:
        return orjson.dumps(value).decode()
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def quote(text: str) -> str:
    """Cell text as RFC 4180 writes it: quoted only when it must be."""
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def _is_plain(line: str, separators: int) -> bool:
    """Whether ``line`` is plain cells joined by commas: none holds a comma, none needs
    quotes or the formula guard."""
    return (
        line.count(",") == separators
        and '"' not in line and "\n" not in line and "\r" not in line
        and not line.startswith(_FORMULA_STARTS) and _GUARD_AFTER_COMMA.search(line) is None
    )


def _picker(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    # itemgetter returns a bare value for one position; always give a tuple.
    if len(positions) > 1:
        return itemgetter(*positions)
    return lambda values: tuple(values[i] for i in positions)


class CsvExporter:
    """Writes a header row of output names, then one row per record, CRLF line ends."""

    format = "csv"
    extension = ".csv"
    schema = "csv"

    def __init__(
        self,
        fields: Sequence[str],
        *,
        names: Mapping[str, str] | None = None,
        encoding: str = "utf-8",
        bom: bool = False,
    ) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"CSV encoding {encoding!r}: use one of {', '.join(ENCODINGS)}")
        if bom and encoding != "utf-8":
            raise ValueError("a byte order mark is for UTF-8 only")
        names = names or {}
        self.fields = tuple(fields)
        self.header = tuple(names.get(f, f) for f in self.fields)
        self.encoding = encoding
        self.bom = bom

    def write(self, rows: Iterable[Mapping[str, Any]], out: BinaryIO, header: BatchHeader) -> int:
        """Write the header row and ``rows`` to ``out``; return the number of records."""
        fields = self.fields
        structured = tuple(i for i, f in enumerate(fields) if f in _STRUCTURED)
        plain = _picker(tuple(i for i, f in enumerate(fields) if f not in _STRUCTURED))
        separators = max(len(fields) - 1, 0)
        plain_separators = max(len(fields) - len(structured) - 1, 0)
        # None -> "", anything else itself; map(empty, v, v) does it at C speed.
        empty: Callable[[Any, Any], Any] = _EMPTY.get
        lines = [",".join(map(quote, self.header)) + "\r\n"]
        if self.bom:
            out.write(_BOM)
        size = count = 0
        for row in rows:
            values = list(map(row.get, fields))
            for i in structured:
                if values[i] is not None:
                    values[i] = quote(cell(values[i]))
            # Most rows need no quoting or guarding in their plain cells: checked on
            # the joined line at C speed, or, when a structured cell was quoted, on
            # the plain cells alone. Anything else (a comma in a cell, a quote, a
            # non-text value: the join raises) takes the cell-by-cell way.
            try:
                line = ",".join(map(empty, values, values))
            except TypeError:
                line = None
            if line is None or not (
                _is_plain(line, separators)
                or (structured and _is_plain(
                    ",".join(map(empty, picked := plain(values), picked)), plain_separators))
            ):
                line = ",".join([quote(cell(v)) for v in map(row.get, fields)])
            lines.append(line)
            lines.append("\r\n")
            size += len(line)
            count += 1
            if size >= _BLOCK_CHARS:
                out.write("".join(lines).encode(self.encoding))
                lines.clear()
                size = 0
        out.write("".join(lines).encode(self.encoding))
        return count
