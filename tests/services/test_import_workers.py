"""A killed import takes its preparing workers with it: none is left under PID 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: Starts the import's worker pool, prints the pids of its workers and of the
#: resource tracker, then waits to be killed, as a big import would be mid-file.
_SCRIPT = """
import multiprocessing, sys, time
from multiprocessing import resource_tracker
from hub.services.importer import _preparer
from hub.services.import_prep import ChunkJob
from tests.conftest import NOW
job = ChunkJob("listing", NOW.date(), NOW, None, False, None, [])
with _preparer(2) as prepare:
    list(prepare([job] * 4))
    pids = [p.pid for p in multiprocessing.active_children()]
    pids.append(resource_tracker._resource_tracker._pid)
    print(*pids, flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; PID 1 reaps it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_an_import_stops_its_workers(sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parents[2])
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) >= 2, pids  # a worker at least, and the tracker
        assert all(_alive(p) for p in pids)
        os.kill(proc.pid, sig)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in pids if _alive(p)] == []
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
