"""A known-good partner file to break one line at a time."""

from __future__ import annotations

from pathlib import Path

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

GOOD = f"""\
id = "{{id}}"
name = "中国铁路总公司"
name_en = "China Railway Corporation"
measures = ["rail"]
adapter = "hub.partners.railway:RailwayAdapter"
format = "csv"
encoding = "gb18030"

[scope]
records = ["listing", "restriction"]
subjects = ["person"]
fields = ["name", "id_type", "id_number", "travel_documents", "court_name", "case_number"]

[api]
enabled = true

[sftp]
enabled = true
host = "sftp.railway.example.invalid"
port = 22
username = "hub"
private_key = "env:HUB_SFTP_KEY_RAILWAY"
host_key = "{HOST_KEY}"
inbox = "/inbound"
outbox = "/outbound"
schedule = "0 2 * * *"
timezone = "Asia/Shanghai"
full_every = "sunday"
"""


def good(partner_id: str = "railway") -> str:
    return GOOD.replace("{id}", partner_id)


def broken(old: str, new: str, partner_id: str = "railway") -> str:
    """The good file with one exact piece of text replaced."""
    text = good(partner_id)
    if old not in text:
        raise ValueError(f"{old!r} is not in the sample file")
    return text.replace(old, new, 1)


def write(folder: Path, partner_id: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{partner_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path
