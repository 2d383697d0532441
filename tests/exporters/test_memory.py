"""Exporters stream: memory stays flat however many rows go through."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from hub.exporters import make_exporter
from hub.exporters.xml import PBC_CREDIT
from tests.exporters.samples import ALL_FIELDS, HEADER, generated_rows

ROWS = 200_000
#: Blocks of about 1 MB plus their encoded copy; far below what 200k rows would take.
GROWTH_LIMIT = 20 * 1024 * 1024
_STATM = Path("/proc/self/statm")


def _resident_bytes() -> int:
    # tracemalloc would be exact but slows these writers tenfold (90 s for the
    # four cases); the resident set, read as the output leaves, is enough to
    # tell flat from growing.
    return int(_STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSink:
    """Drops the bytes, noting the process's resident memory at every write."""

    def __init__(self) -> None:
        self.bytes = 0
        self.start = _resident_bytes()
        self.peak = self.start

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        self.peak = max(self.peak, _resident_bytes())
        return len(data)


@pytest.mark.slow
@pytest.mark.skipif(not _STATM.exists(), reason="reads /proc/self/statm (Linux)")
@pytest.mark.parametrize(
    ("format", "options"),
    [("jsonl", {}), ("csv", {"encoding": "gb18030"}), ("xml", {}), ("xml", {"xml": PBC_CREDIT})],
)
def test_memory_stays_flat(format: str, options: dict[str, object]) -> None:
    exporter = make_exporter(format, fields=ALL_FIELDS, **options)  # type: ignore[arg-type]
    sink = RssSink()
    count = exporter.write(generated_rows(ROWS), cast(BinaryIO, sink), HEADER)
    assert count == ROWS
    # The output is far larger than the limit, so it cannot have been held.
    assert sink.bytes > 5 * GROWTH_LIMIT
    growth = sink.peak - sink.start
    assert growth < GROWTH_LIMIT, f"grew by {growth / 2**20:.1f} MiB"
