"""Ids the hub assigns to records a court system sent without one."""

from __future__ import annotations

import secrets
from datetime import datetime


def new_record_id(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now:%Y}-H{secrets.token_hex(5).upper()}"
