"""PostgreSQL COPY text format, written by hand so worker processes can prepare rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any


def copy_text(value: str) -> str:
    """Escape a string for COPY's text format."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _bool(value: bool) -> str:
    return "t" if value else "f"


def _null(_value: None) -> str:
    return "\\N"


def _date(value: date) -> str:
    return value.isoformat()


# Dispatch on the exact type: one dict lookup per field on the import's hot path.
_ENCODERS: dict[type, Callable[[Any], str]] = {
    str: copy_text, type(None): _null, bool: _bool, int: str, date: _date,
}


def copy_field(value: Any) -> str:
    encode = _ENCODERS.get(type(value))
    if encode is None:
        if isinstance(value, date):
            return value.isoformat()
        return copy_text(str(value))
    return encode(value)


_PLAIN = str.isprintable


def copy_line(row: Sequence[Any]) -> bytes:
    """One row as a COPY text line (JSON columns must already be strings)."""
    # Inline fast path for the common case, a printable string without a
    # backslash (no tab, newline or CR either: those are not printable).
    return ("\t".join([
        v if type(v) is str and "\\" not in v and _PLAIN(v) else copy_field(v) for v in row
    ]) + "\n").encode()
