"""The token replay store on Redis: one ``SET NX`` with a TTL per accepted ``jti``."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Final

import redis

from hub.errors import Unavailable

#: Replay keys live this long after the token's ``exp`` (the verifier's clock skew).
SKEW: Final = timedelta(seconds=30)
PREFIX: Final = "hub:jti:"


class RedisReplayStore:
    """Shared by every worker; a key expires when its token can no longer pass ``exp``."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    @classmethod
    def from_url(cls, url: str) -> RedisReplayStore:
        # Short timeouts: a dead Redis must cost a request milliseconds, not seconds,
        # before the caller falls back to the database.
        return cls(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5))

    def remember(self, jti: str, partner: str, expires_at: datetime,
                 issued_at: datetime | None = None) -> bool:
        ttl = max(1, math.ceil((expires_at + SKEW - datetime.now(UTC)).total_seconds()))
        try:
            return bool(self._redis.set(f"{PREFIX}{partner}:{jti}", b"1", nx=True, ex=ttl))
        except redis.RedisError as exc:
            raise Unavailable(f"Redis replay store: {exc}") from exc

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False
