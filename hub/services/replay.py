"""The token replay store: Redis when configured, the database otherwise or while Redis is down.

Falling back (rather than failing closed) keeps the partner API serving from
PostgreSQL when Redis is down: airlines check IDs at the counter, and a
refused check there stops a traveller who may well be free to fly. What a
fallback must not do is let a token through twice, on this worker or another:
a ``jti`` remembered only in one store is unknown to the other, and workers
(machines, restarted processes) need not agree on whether Redis is up.

So the switch is shared through the database, in ``seen_tokens`` rows of no
partner (``partner = ''``):

- a worker that loses Redis writes a *switch* row (when), and while it serves
  from the database keeps a *fallback* row fresh;
- for one token lifetime after any worker's switch, every worker accepts a
  token only if it was signed more than the clock skew (and the workers' lag
  in reading the rows) after the switch: it cannot have been presented before;
- while the database holds any live row (a fallback worker's, or a ``jti``
  accepted there), a worker on Redis checks and writes the database as well.

A worker that loses Redis while another worker's fallback row is alive (a
restarted or newly started process, during an outage already under way) starts
no window of its own: since that row's worker switched, the workers on Redis
have written the database too, so it knows every token still able to pass.

The price: for about 30 s after an outage starts, tokens are refused (401,
``check: jti``, saying when to retry); then the database answers. A token
lifetime after the last database use, the workers on Redis stop asking it.
What this cannot see is Redis losing keys without an error any worker noticed
(a restart between two requests without persistence): run Redis with
``appendonly yes`` or accept that window.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from sqlalchemy import delete, func, select
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
#: How often a worker on the fallback tries Redis again (and refreshes its fallback row).
RETRY_EVERY: Final = timedelta(seconds=5)
#: How long a worker trusts what it last read of the shared switch rows.
SHARED_TTL: Final = timedelta(seconds=1)
#: Added to the skew: a worker may act on rows up to SHARED_TTL old, plus slack.
LAG: Final = 2 * SHARED_TTL
#: The ``partner`` of the hub's own rows in ``seen_tokens`` (no partner id is empty).
HUB_ROWS: Final = ""
_SWITCH: Final = "switch:"
_FALLBACK: Final = "fallback:"
#: How long another worker's fallback row must still live for a worker losing Redis
#: to join its outage instead of starting one: the workers on Redis read the rows
#: up to LAG late, and must not see the database out of use meanwhile.
JOIN_MARGIN: Final = MAX_SKEW + LAG

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

    def mark_switch(self, at: datetime) -> None:
        """Record that a worker left Redis at ``at`` (the start of its switch window)."""
        with self._sessions() as session, session.begin():
            session.merge(SeenToken(partner=HUB_ROWS, jti=f"{_SWITCH}{at.isoformat()}",
                                    expires_at=at + SWITCH_WINDOW))

    def mark_fallback(self, worker: str, until: datetime) -> None:
        """Record that ``worker`` serves from the database (at least) until ``until``."""
        with self._sessions() as session, session.begin():
            session.merge(SeenToken(partner=HUB_ROWS, jti=f"{_FALLBACK}{worker}",
                                    expires_at=until))

    def shared(self, now: datetime) -> SharedState:
        """What every worker must know of the others: the last switch still within its
        window, whether the database holds any live row (a jti or a fallback), and until
        when the longest-lived fallback row lives."""
        live = SeenToken.expires_at >= now - MAX_SKEW
        hub_rows = SeenToken.partner == HUB_ROWS
        with self._sessions() as session:
            last = session.scalar(select(func.max(SeenToken.expires_at)).where(
                hub_rows, SeenToken.jti.startswith(_SWITCH), live))
            in_use = session.scalar(select(SeenToken.jti).where(live).limit(1)) is not None
            fallback = session.scalar(select(func.max(SeenToken.expires_at)).where(
                hub_rows, SeenToken.jti.startswith(_FALLBACK), live))
        return SharedState(None if last is None else last - SWITCH_WINDOW, in_use, fallback)

    def purge(self) -> int:
        """Delete rows whose token is past exp + skew; returns how many."""
        cutoff = self._clock() - MAX_SKEW
        with self._sessions() as session, session.begin():
            result = session.execute(delete(SeenToken).where(SeenToken.expires_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class SharedState:
    #: The latest switch to the database by any worker, within its window.
    switched_at: datetime | None
    #: Whether the database holds a live row: workers on Redis must ask it too.
    in_use: bool
    #: When the longest-lived worker's fallback row expires (None: there is none).
    fallback_until: datetime | None = None


class FallbackReplayStore:
    """``primary`` (Redis) while it answers, else ``fallback`` (the database); see module doc."""

    def __init__(self, primary: ReplayStore, fallback: DatabaseReplayStore, *,
                 clock: Clock = _utcnow, retry_every: timedelta = RETRY_EVERY) -> None:
        self._primary = primary
        self._fallback = fallback
        self._clock = clock
        self._retry_every = retry_every
        self._worker = uuid.uuid4().hex
        self._on_fallback = False
        self._marked_until: datetime | None = None
        self._next_try = datetime.min.replace(tzinfo=UTC)
        self._shared: SharedState | None = None
        self._read_at = datetime.min.replace(tzinfo=UTC)

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
                    self._on_fallback = True
            else:
                if self._on_fallback:
                    log.warning("replay store: Redis is back")
                    self._on_fallback = False
                shared = self._read_shared(now)
                self._check_switch(shared, issued_at, now)
                if shared.in_use:
                    # Another worker may have accepted it through the database.
                    first = self._fallback.remember(jti, partner, expires_at) and first
                return first
        if self._marked_until is None or now >= self._marked_until - SWITCH_WINDOW \
                + self._retry_every:
            self._mark(now)
        self._check_switch(self._read_shared(now), issued_at, now)
        return self._fallback.remember(jti, partner, expires_at, issued_at)

    def _mark(self, now: datetime) -> None:
        """Keep this worker's fallback row alive; if it had lapsed (or never was), this is
        a switch: workers on Redis may have accepted tokens the database does not know,
        unless another worker's fallback row has kept them writing it."""
        if self._marked_until is None or now >= self._marked_until:
            joined = self._fallback.shared(now).fallback_until
            if joined is None or joined < now + JOIN_MARGIN:
                self._fallback.mark_switch(now)
            else:
                log.warning("replay store: joining an outage under way (no new window)")
        self._marked_until = now + SWITCH_WINDOW
        self._fallback.mark_fallback(self._worker, self._marked_until)
        self._shared = None  # read again: the other rows may have changed too

    def _read_shared(self, now: datetime) -> SharedState:
        if self._shared is None or now - self._read_at >= SHARED_TTL or now < self._read_at:
            self._shared, self._read_at = self._fallback.shared(now), now
        return self._shared

    @staticmethod
    def _check_switch(shared: SharedState, issued_at: datetime | None, now: datetime) -> None:
        switched = shared.switched_at
        if switched is None or now - switched > SWITCH_WINDOW:
            return
        ready = switched + MAX_SKEW + LAG
        if issued_at is None or issued_at < ready:
            raise AuthError(f"jti: the replay store switched at {switched:%H:%M:%SZ}; a token "
                            f"signed before {ready:%H:%M:%SZ} cannot be checked for replay: "
                            "sign a new one after that")
