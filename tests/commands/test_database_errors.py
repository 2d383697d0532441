"""A database the hub cannot use is one line naming it and the fix, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def hub(tmp_path: Path, *args: str, database_url: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_INSTANCE_PATH": str(tmp_path / "instance")}
    env.pop("HUB_DATABASE_URL", None)
    if database_url is not None:
        env["HUB_DATABASE_URL"] = database_url
    command = Path(sys.executable).with_name("hub")  # the console script, as installed
    return subprocess.run([str(command), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_an_unmigrated_database_says_run_db_upgrade(tmp_path: Path) -> None:
    result = hub(tmp_path, "batches", "list")
    assert result.returncode == 1
    assert "has no hub tables (no such table: partner_batches): run `hub db upgrade`" in \
        result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://postgres:s3cret@127.0.0.1:1/hub"  # nothing listens on port 1
    result = hub(tmp_path, "audit", "verify", database_url=url)
    assert result.returncode == 1
    assert "cannot use the database postgresql+psycopg://postgres:***@" in result.stderr
    assert "Connection refused" in result.stderr
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["mysql://root@localhost/hub", "hub.sqlite3"])
def test_a_database_the_hub_does_not_run_on_is_refused(tmp_path: Path, url: str) -> None:
    result = hub(tmp_path, "staff", "list", database_url=url)
    assert result.returncode == 1
    assert "the hub runs on sqlite:///PATH or postgresql+psycopg://" in result.stderr
    assert "Traceback" not in result.stderr
