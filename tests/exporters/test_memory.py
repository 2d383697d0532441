"""Exporters stream: memory stays flat however many rows go through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import BinaryIO, cast

import orjson
import pytest

from hub.exporters import make_exporter
from hub.exporters.xml import HUB_LIST, PBC_CREDIT
from tests.exporters.samples import ALL_FIELDS, HEADER, generated_rows

ROWS = 200_000
#: Blocks of about 1 MB plus their encoded copy; far below what 200k rows would take.
GROWTH_LIMIT = 20 * 1024 * 1024
REPO = Path(__file__).resolve().parents[2]
_STATUS = Path("/proc/self/status")


class NullSink:
    """Counts and drops the bytes; ``keep`` holds them instead, to prove the check works."""

    def __init__(self, keep: bool = False) -> None:
        self.bytes = 0
        self.kept: list[bytes] | None = [] if keep else None

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        if self.kept is not None:
            self.kept.append(bytes(data))
        return len(data)


def _peak_rss() -> int:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the
    # parent that forked us, which hides everything below pytest's own peak.
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise LookupError("no VmHWM in /proc/self/status")


def measure(format: str, dialect: str, keep: bool, rows: int) -> None:
    """In a fresh process: write ``rows`` rows, print how much the peak resident set grew."""
    xml = {d.root: d for d in (HUB_LIST, PBC_CREDIT)}[dialect]
    exporter = make_exporter(format, fields=ALL_FIELDS, xml=xml)
    sink = NullSink(keep)
    before = _peak_rss()
    count = exporter.write(generated_rows(rows), cast(BinaryIO, sink), HEADER)
    report = {"count": count, "bytes": sink.bytes, "growth": _peak_rss() - before}
    sys.stdout.write(orjson.dumps(report).decode())


def _run(format: str, dialect: str = "hubList", keep: bool = False,
         rows: int = ROWS) -> dict[str, int]:
    # A fresh interpreter: memory freed by earlier tests would hide growth here.
    # (tracemalloc would be exact but slows these writers tenfold.)
    code = ("from tests.exporters.test_memory import measure; "
            f"measure({format!r}, {dialect!r}, {keep!r}, {rows})")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            check=True, timeout=300)
    report: dict[str, int] = orjson.loads(result.stdout)
    return report


@pytest.mark.slow
@pytest.mark.skipif(not _STATUS.exists(), reason="reads /proc/self/status (Linux)")
@pytest.mark.parametrize(
    ("format", "dialect"),
    [("jsonl", "hubList"), ("csv", "hubList"), ("xml", "hubList"), ("xml", "DishonestDebtorList")],
)
def test_memory_stays_flat(format: str, dialect: str) -> None:
    report = _run(format, dialect)
    assert report["count"] == ROWS
    # The output is far larger than the limit, so it cannot have been held.
    assert report["bytes"] > 5 * GROWTH_LIMIT
    assert report["growth"] < GROWTH_LIMIT, f"grew by {report['growth'] / 2**20:.1f} MiB"


@pytest.mark.slow
@pytest.mark.skipif(not _STATUS.exists(), reason="reads /proc/self/status (Linux)")
def test_the_check_sees_output_that_is_held() -> None:
    report = _run("jsonl", keep=True, rows=50_000)
    assert report["growth"] > report["bytes"] // 2
