"""PostgreSQL COPY text format, written by hand so worker processes can prepare rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any


def copy_text(value: str) -> str:
    """Escape a string for COPY's text format."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return copy_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def copy_line(row: Sequence[Any]) -> bytes:
    """One row as a COPY text line (JSON columns must already be strings)."""
    return ("\t".join(map(copy_field, row)) + "\n").encode()
