"""The token replay store: Redis when configured, the database otherwise or while Redis is down.

Falling back (rather than failing closed) keeps the partner API serving from
PostgreSQL when Redis is down: airlines check IDs at the counter, and a
refused check there stops a traveller who may well be free to fly. What a
fallback must not do is let a token through twice: a ``jti`` remembered only
in the store we just left is unknown to the one we switch to. So for one token
lifetime after any switch, a token is accepted only if it was signed after
the switch by more than the clock skew (``iat`` ≥ switch + 30 s): it cannot
have been presented before. The price: for about 30 s after Redis goes away
(or comes back) a worker refuses every token (401, ``check: jti``, saying
when to retry); then it serves from the database. A few seconds of refusals
once per outage, against a replay window of five minutes.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.core.request_auth import MAX_LIFETIME, MAX_SKEW
from hub.db.models import SeenToken
from hub.errors import AuthError, Unavailable

log = logging.getLogger(__name__)

#: How many ``remember`` calls between two purges of expired ``jti`` rows.
PURGE_EVERY: Final = 200
#: How long after a switch a token must be younger than the switch.
SWITCH_WINDOW: Final = MAX_LIFETIME + 2 * MAX_SKEW
#: How often a worker on the fallback tries Redis again.
RETRY_EVERY: Final = timedelta(seconds=5)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ReplayStore(Protocol):
    """Remembers each accepted ``jti`` until its token can no longer be valid."""

    def remember(self, jti: str, partner: str, expires_at: datetime,
                 issued_at: datetime | None = None) -> bool:
        """True the first time ``jti`` is seen; False for a replay.

        :raises Unavailable: the store cannot be reached.
        :raises AuthError: the token cannot be checked for replay (see module doc).
        """
        ...


class DatabaseReplayStore:
    """:class:`ReplayStore` on the ``seen_tokens`` table; each call its own transaction."""

    def __init__(self, session_factory: sessionmaker[Session], *, clock: Clock = _utcnow,
                 purge_every: int = PURGE_EVERY) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._calls = itertools.count()
        self._purge_every = purge_every

    def remember(self, jti: str, partner: str, expires_at: datetime,
                 issued_at: datetime | None = None) -> bool:
        if next(self._calls) % self._purge_every == 0:
            self.purge()
        try:
            with self._sessions() as session, session.begin():
                session.add(SeenToken(jti=jti, partner=partner, expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    def purge(self) -> int:
        """Delete rows whose token is past exp + skew; returns how many."""
        cutoff = self._clock() - MAX_SKEW
        with self._sessions() as session, session.begin():
            result = session.execute(delete(SeenToken).where(SeenToken.expires_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


class FallbackReplayStore:
    """``primary`` (Redis) while it answers, else ``fallback`` (the database); see module doc."""

    def __init__(self, primary: ReplayStore, fallback: ReplayStore, *, clock: Clock = _utcnow,
                 retry_every: timedelta = RETRY_EVERY) -> None:
        self._primary = primary
        self._fallback = fallback
        self._clock = clock
        self._retry_every = retry_every
        self._on_fallback = False
        self._switched_at: datetime | None = None
        self._next_try = datetime.min.replace(tzinfo=UTC)

    @property
    def on_fallback(self) -> bool:
        return self._on_fallback

    @property
    def primary(self) -> ReplayStore:
        return self._primary

    def remember(self, jti: str, partner: str, expires_at: datetime,
                 issued_at: datetime | None = None) -> bool:
        now = self._clock()
        if not self._on_fallback or now >= self._next_try:
            try:
                first = self._primary.remember(jti, partner, expires_at, issued_at)
            except Unavailable as exc:
                self._next_try = now + self._retry_every
                if not self._on_fallback:
                    log.warning("replay store: %s; using the database until it is back", exc)
                    self._switch(True, now)
            else:
                if self._on_fallback:
                    log.warning("replay store: Redis is back")
                    self._switch(False, now)
                self._check_switch(issued_at, now)
                return first
        self._check_switch(issued_at, now)
        return self._fallback.remember(jti, partner, expires_at, issued_at)

    def _switch(self, to_fallback: bool, now: datetime) -> None:
        self._on_fallback = to_fallback
        self._switched_at = now

    def _check_switch(self, issued_at: datetime | None, now: datetime) -> None:
        switched = self._switched_at
        if switched is None or now - switched > SWITCH_WINDOW:
            return
        if issued_at is None or issued_at < switched + MAX_SKEW:
            ready = switched + MAX_SKEW
            raise AuthError(f"jti: the replay store switched at {switched:%H:%M:%SZ}; a token "
                            f"signed before {ready:%H:%M:%SZ} cannot be checked for replay: "
                            "sign a new one after that")
