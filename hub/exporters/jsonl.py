"""JSON Lines batch files: one JSON object per row, keys in the partner's field order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from hub.exporters.blocks import write_in_blocks

if TYPE_CHECKING:
    from hub.exporters import BatchHeader


class JsonlExporter:
    """Writes each row as one UTF-8 JSON object and a newline; no header line."""

    format = "jsonl"
    extension = ".jsonl"
    schema = "jsonl"

    def __init__(self, fields: Sequence[str], *, names: Mapping[str, str] | None = None) -> None:
        names = names or {}
        self.fields = tuple(fields)
        self.keys = tuple(names.get(f, f) for f in self.fields)

    def write(self, rows: Iterable[Mapping[str, Any]], out: BinaryIO, header: BatchHeader) -> int:
        """Write ``rows`` to ``out``; return how many. The header is the manifest's business."""
        fields, keys = self.fields, self.keys
        # Projected rows usually hold exactly the fields, in order: such a row is
        # dumped as it is, which saves building a dict per row (a third of the time).
        as_is = list(fields) if keys == fields else None
        dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE

        def lines() -> Iterator[bytes]:
            for row in rows:
                if row.__class__ is not dict or [*row] != as_is:
                    # Missing fields become null; fields outside the partner's scope go.
                    row = dict(zip(keys, map(row.get, fields), strict=True))
                yield dumps(row, option=option)

        return write_in_blocks(lines(), out)
