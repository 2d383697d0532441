"""What `make run` does, end to end: migrate, seed, serve, answer /healthz."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HUB = str(Path(sys.executable).with_name("hub"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_hub_run_serves_seeded_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_"))}
    env["HUB_INSTANCE_PATH"] = str(tmp_path / "instance")
    for args in (["db", "upgrade"], ["demo", "seed", "--subjects", "40", "--if-empty"]):
        subprocess.run([HUB, *args], env=env, check=True, capture_output=True, timeout=120)
    again = subprocess.run([HUB, "demo", "seed", "--subjects", "40", "--if-empty"], env=env,
                           check=True, capture_output=True, text=True, timeout=120)
    assert "skipped" in again.stdout
    port = _free_port()
    server = subprocess.Popen([HUB, "run", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)
    assert body["status"] == "ok"
    assert body["database"] == "sqlite"
    assert body["high_water"] > 40  # the seeded records and their later history
    assert (tmp_path / "instance" / "hub.sqlite3").exists()


def test_the_production_entry_point_needs_the_public_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_"))}
    env["HUB_INSTANCE_PATH"] = str(tmp_path / "instance")
    root = Path(__file__).resolve().parent.parent
    load = [sys.executable, "-c", "import wsgi"]
    refused = subprocess.run(load, env=env, cwd=root, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode != 0
    assert "HUB_PUBLIC_URL is not set" in refused.stderr
    env["HUB_PUBLIC_URL"] = "https://hub.example.cn"
    loaded = subprocess.run(load, env=env, cwd=root, capture_output=True, text=True,
                            timeout=120)
    assert loaded.returncode == 0, loaded.stderr
