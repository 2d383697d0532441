"""The small validators behind partner files: cron text, host keys, hosts, key references."""

from __future__ import annotations

import pytest

from hub.partners.model import (
    cron_error,
    host_error,
    host_key_error,
    private_key_error,
    timezone_error,
)
from tests.config.helpers import HOST_KEY


@pytest.mark.parametrize("text", [
    "0 2 * * *", "*/15 * * * *", "0 1-5/2 * * mon-fri", "30 3 1,15 * *", "0 0 * jan,jul 0",
    "0 0 * * 7", "59 23 31 12 SUN", "0-59/10 * * * *",
])
def test_cron_accepts(text: str) -> None:
    assert cron_error(text) is None


@pytest.mark.parametrize(("text", "words"), [
    ("", "expected 5 cron fields"),
    ("@daily", "expected 5 cron fields"),
    ("0 2 * * * *", "got 6"),
    ("60 * * * *", "minute '60': '60' is out of range 0-59"),
    ("0 2 0 * *", "day of month"),
    ("0 2 * 13 *", "month"),
    ("0 2 * * 8", "day of week"),
    ("*/0 * * * *", "step '0'"),
    ("5/10 * * * *", "a step needs * or a range"),
    ("0 5-1 * * *", "runs backwards"),
    ("0 ² * * *", "not a value"),
    ("0 2 * * funday", "not a value"),
    ("0,,5 2 * * *", "not a value"),
])
def test_cron_refuses(text: str, words: str) -> None:
    reason = cron_error(text)
    assert reason is not None
    assert words in reason


def test_host_keys() -> None:
    assert host_key_error(HOST_KEY) is None
    rsa_blob = "AAAAB3NzaC1yc2EAAAADAQAB"  # "ssh-rsa" then an exponent
    assert host_key_error(f"rsa-sha2-256 {rsa_blob}") is None
    assert host_key_error(f"ssh-ed25519 {rsa_blob}") == "the key data is not a ssh-ed25519 key"
    assert host_key_error("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5") is not None  # type, no key
    assert host_key_error(f"host.example {HOST_KEY}") is not None  # known_hosts line


def test_hosts() -> None:
    assert host_error("sftp.railway.example.invalid") is None
    assert host_error("10.0.0.1") is None
    assert host_error("::1") is None
    assert host_error("-bad.example") is not None
    assert host_error("a" * 64 + ".example") is not None


def test_key_references() -> None:
    assert private_key_error("env:HUB_SFTP_KEY_MPS") is None
    assert private_key_error("file:keys/mps") is None
    assert private_key_error("env:lower") is not None
    assert private_key_error("file:") is not None
    assert private_key_error("file:keys\\mps") is not None
    assert "inline" in (private_key_error("-----BEGIN PRIVATE KEY-----") or "")


def test_time_zones() -> None:
    assert timezone_error("Asia/Shanghai") is None
    for bad in ("Asia", "../etc/passwd", "", "Mars/Olympus"):
        assert timezone_error(bad) is not None
