"""Budgets counted in flask-limiter's storage (Redis when configured) beside the rate limits.

flask-limiter's decorators cannot express these: the key (a username from the
body; the partner, known only after the token check) and, for logins, the
rule "count failures only".
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, TypeVar, cast

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")

EXTENSION: Final = "hub.throttles"
#: Failed staff logins per username. Counted per username, not per address:
#: clerks of one court share a NAT, and a guesser rotates addresses. Someone can
#: thereby lock a named account out for the window; that is the price of making
#: a password guess cost minutes.
LOGIN_FAILURES: Final = "10/15 minutes"
#: Snapshots per partner: each costs the server a whole export, and a client
#: retrying /snapshot in a loop would otherwise fill the disk with spools.
SNAPSHOTS: Final = "6/hour"
#: Seconds a budget counts in memory after its storage failed, before trying it again.
RETRY_EVERY: Final = 5.0


@dataclass(slots=True)
class Budget:
    """A budget in the limiter's storage; while that is unreachable (Redis down), in
    this worker's memory, as flask-limiter does for the rate limits."""

    strategy: RateLimiter
    item: RateLimitItem
    #: Namespace of the keys in the storage.
    scope: str
    fallback: RateLimiter = field(init=False)
    _retry_at: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.fallback = type(self.strategy)(MemoryStorage())

    def allows(self, key: str) -> bool:
        return bool(self._use(lambda s: s.test(self.item, self.scope, key)))

    def spend(self, key: str) -> bool:
        """Use one unit; False (and nothing used) when the budget is spent."""
        return bool(self._use(lambda s: s.hit(self.item, self.scope, key)))

    def retry_after(self, key: str) -> int:
        stats = self._use(lambda s: s.get_window_stats(self.item, self.scope, key))
        return max(1, math.ceil(stats.reset_time - datetime.now(UTC).timestamp()))

    def _use(self, call: Callable[[RateLimiter], T]) -> T:
        if time.monotonic() >= self._retry_at:
            try:
                return call(self.strategy)
            except self.strategy.storage.base_exceptions as exc:
                log.warning("%s budget: storage unreachable (%s); counting in memory", self.scope,
                            exc)
                self._retry_at = time.monotonic() + RETRY_EVERY
        return call(self.fallback)


def make_budgets(strategy: RateLimiter) -> dict[str, Budget]:
    return {"login": Budget(strategy, parse(LOGIN_FAILURES), "login"),
            "snapshot": Budget(strategy, parse(SNAPSHOTS), "snapshot")}


def budget(name: str) -> Budget:
    return cast(dict[str, Budget], current_app.extensions[EXTENSION])[name]
