"""swallowed_line: a record a quote ran into the next, told from a text with line breaks."""

from __future__ import annotations

import csv
import io

import pytest

from hub.core.csv_records import swallowed_line


def _judge(text: str, width: int) -> tuple[int, int] | None:
    lines = io.StringIO(text, newline="").readlines()
    (cells,) = list(csv.reader(lines))
    return swallowed_line(lines, cells, width)


@pytest.mark.parametrize(("text", "width", "found"), [
    # a naive exporter's unclosed quote, closed by the next record's
    ('L-0,"obligation,none\r\nL-1,"obligation,none\r\n', 3, (1, 1)),
    # closed by a quote inside the next record's text
    ('L-0,"obligation,none\nL-1,按"协议"还款,none\n', 3, (1, 1)),
    # a whole record caught between the quote and the one that closes it
    ('L-0,"text,none\nL-1,text,none\nL-2,"text,none\n', 3, (1, 1)),
    # the text in the first column, a quote opened and never closed in each record
    ('"text,L-0,none\n"text,L-1,none\n', 3, (0, 1)),
    # genuine texts: in the middle, last and first column
    ('L-0,"第一行\n第二行\n第三行",none\n', 3, None),
    ('L-0,none,"第一行\n第二行"\n', 3, None),
    ('"第一行\n第二行",L-0,none\n', 3, None),
])
def test_swallowed_line(text: str, width: int, found: tuple[int, int] | None) -> None:
    assert _judge(text, width) == found
