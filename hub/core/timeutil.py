"""Court days are counted in China Standard Time, whatever the server's zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def court_date(now: datetime) -> date:
    """The calendar date in China at the aware instant ``now``."""
    if now.tzinfo is None:
        raise ValueError("court_date needs an aware datetime")
    return now.astimezone(CHINA).date()
