"""Where a CSV record that spans several physical lines is really two records run together."""

from __future__ import annotations

import csv
from collections.abc import Sequence


def _reads_as(line: str) -> set[int]:
    """How many cells one physical line has, read on its own: by CSV's rules, and with
    its quotes as plain characters (what a clerk sees in a line whose quote never
    closes: a naive exporter's ``,"text,`` is still one cell of its record)."""
    text = line.rstrip("\r\n")
    return {len(next(csv.reader([text]), [])),
            len(next(csv.reader([text], quoting=csv.QUOTE_NONE), []))}


def swallowed_line(
    lines: Sequence[str], cells: Sequence[str], width: int
) -> tuple[int, int] | None:
    """The cell whose quote swallows a later line, and that line (both 0-based, the line
    counted from the record's first), or None for a genuine multi-line text.

    ``lines`` are the record's physical lines, ``cells`` what CSV made of them, ``width``
    the header's number of cells. A quote opened in one record and closed by a quote
    in the same column of a later one gives the header's cell count, so the count alone
    cannot tell a swallowed record from a text with line breaks (RFC 4180 allows them,
    and court texts hold them). What tells them apart: a swallowed line is a whole
    record, so read on its own it has as many cells as the header; a line of a text
    holds no ASCII comma in Chinese prose, let alone one less than the header has
    columns. One shape needs care: when the text is the record's first cell, its last
    line (``second line",L-1,...``) always has the header's count, since the rest of
    the record follows it; there the line the quote opens on must read as a whole
    record too (``"text,L-0,...``), which that of a genuine text (``"first line``) does
    not.
    """
    column = next((i for i, cell in enumerate(cells) if "\n" in cell or "\r" in cell), None)
    if column is None or len(lines) < 2:
        return None
    opening_is_record = width in _reads_as(lines[0])
    for offset in range(1, len(lines)):
        tail = offset == len(lines) - 1
        if width in _reads_as(lines[offset]) and (not tail or column > 0 or opening_is_record):
            return column, offset
    return None
