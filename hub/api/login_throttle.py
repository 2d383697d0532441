"""Failed staff logins per username: at most :data:`FAILURES` in :data:`WINDOW`.

Counted per username, not per address: clerks of one court share a NAT, and a
guesser rotates addresses. Someone can thereby lock a named account out for
the window; that is the price of making a password guess cost minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, cast

from flask import current_app
from limits import RateLimitItem, parse
from limits.strategies import RateLimiter

EXTENSION: Final = "hub.login_throttle"
FAILURES: Final = "10/15 minutes"
_ITEM: Final = parse(FAILURES)


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    #: flask-limiter's strategy, on the same storage as the partner limits.
    strategy: RateLimiter
    item: RateLimitItem = _ITEM

    def allows(self, username: str) -> bool:
        return bool(self.strategy.test(self.item, "login", username.lower()))

    def failed(self, username: str) -> None:
        self.strategy.hit(self.item, "login", username.lower())

    def retry_after(self, username: str) -> int:
        reset = self.strategy.get_window_stats(self.item, "login", username.lower()).reset_time
        return max(1, math.ceil(reset - datetime.now(UTC).timestamp()))


def login_throttle() -> LoginThrottle:
    return cast(LoginThrottle, current_app.extensions[EXTENSION])
