"""Budgets counted in flask-limiter's storage (Redis when configured) beside the rate limits.

flask-limiter's decorators cannot express these: the key (a username from the
body; the partner, known only after the token check) and, for logins, the
rule "count failures only".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, cast

from flask import current_app
from limits import RateLimitItem, parse
from limits.strategies import RateLimiter

EXTENSION: Final = "hub.throttles"
#: Failed staff logins per username. Counted per username, not per address:
#: clerks of one court share a NAT, and a guesser rotates addresses. Someone can
#: thereby lock a named account out for the window; that is the price of making
#: a password guess cost minutes.
LOGIN_FAILURES: Final = "10/15 minutes"
#: Snapshots per partner: each costs the server a whole export, and a client
#: retrying /snapshot in a loop would otherwise fill the disk with spools.
SNAPSHOTS: Final = "6/hour"


@dataclass(frozen=True, slots=True)
class Budget:
    strategy: RateLimiter
    item: RateLimitItem
    #: Namespace of the keys in the storage.
    scope: str

    def allows(self, key: str) -> bool:
        return bool(self.strategy.test(self.item, self.scope, key))

    def spend(self, key: str) -> bool:
        """Use one unit; False (and nothing used) when the budget is spent."""
        return bool(self.strategy.hit(self.item, self.scope, key))

    def retry_after(self, key: str) -> int:
        reset = self.strategy.get_window_stats(self.item, self.scope, key).reset_time
        return max(1, math.ceil(reset - datetime.now(UTC).timestamp()))


def make_budgets(strategy: RateLimiter) -> dict[str, Budget]:
    return {"login": Budget(strategy, parse(LOGIN_FAILURES), "login"),
            "snapshot": Budget(strategy, parse(SNAPSHOTS), "snapshot")}


def budget(name: str) -> Budget:
    return cast(dict[str, Budget], current_app.extensions[EXTENSION])[name]
