"""Authenticating a partner request: token checks, rate limit, replay store, in that order.

The checks run before any partner view is reached (and before a body is
parsed): the token in the app's ``before_request``, then flask-limiter's
per-partner limit (which needs to know the partner), then the replay store in
the blueprint's ``before_request``, last, so a refused or rate-limited
request does not use up its ``jti``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, cast

import jwt
from flask import Response, current_app, g, request
from flask_limiter import Limiter, RequestLimit
from werkzeug.exceptions import RequestEntityTooLarge

from hub.api.bearer import bearer_token
from hub.api.problems import auth_problem, problem
from hub.core.request_auth import Claims, verify_partner_token
from hub.current import hub_context
from hub.errors import AuthError, ConfigError
from hub.partners.base import PartnerAdapter
from hub.services.partner_keys import lookup
from hub.services.replay import ReplayStore

log = logging.getLogger(__name__)

EXTENSION: Final = "hub.partner_gate"
#: Endpoint name prefix of the partner blueprint (see hub.api.partner).
BLUEPRINT: Final = "partner_api"
#: Largest request body read (the body is hashed before the token is trusted, so this
#: bounds what an unauthenticated caller can make a worker hold). 1000 /checks subjects
#: are < 100 KiB; the rest is room for receipts.
MAX_BODY: Final = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PartnerCaller:
    adapter: PartnerAdapter
    claims: Claims

    @property
    def partner(self) -> str:
        return self.adapter.id


@dataclass(slots=True)
class PartnerGate:
    """What the partner API needs for every request; one per app."""

    #: Reads the partner files; called on first use, so a broken file does not stop
    #: the CLI (``hub partners check`` must be able to report it).
    load: Callable[[], Mapping[str, PartnerAdapter]]
    replay: ReplayStore
    #: ``HUB_PUBLIC_URL``: the URL partners call when a proxy sits in front.
    public_url: str | None = None
    _adapters: Mapping[str, PartnerAdapter] | None = None

    @property
    def adapters(self) -> Mapping[str, PartnerAdapter]:
        """:raises ConfigError: a partner file is invalid."""
        if self._adapters is None:
            self._adapters = self.load()
        return self._adapters

    def request_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/") + request.path
        return request.base_url

    def authenticate(self, now: datetime) -> PartnerCaller:
        """:raises AuthError: naming the check that failed. :raises ConfigError: see adapters."""
        adapters = self.adapters
        token = bearer_token()
        ctx = hub_context()
        with ctx.sessions() as session:
            claims = verify_partner_token(
                token, keys=lambda kid: lookup(session, kid),
                audience=ctx.settings.audience, method=request.method,
                url=self.request_url(), body=_body(), now=now)
        adapter = adapters.get(claims.partner)
        if adapter is None:
            raise AuthError(f"iss: partner {claims.partner!r} is not configured on this hub")
        if not adapter.config.api.enabled:
            raise AuthError(f"iss: partner {claims.partner!r} has no API access ([api] enabled)")
        # The token's alg is already pinned to its key's; the key must also be of the
        # algorithm the partner's file names (DESIGN.md §5), so a key of the other kind,
        # registered by mistake, is refused rather than trusted.
        alg = jwt.get_unverified_header(token).get("alg")
        if alg != adapter.config.api.algorithm:
            raise AuthError(f"alg: {alg!r} is not the algorithm configured for partner "
                            f"{claims.partner!r} ({adapter.config.api.algorithm})")
        return PartnerCaller(adapter, claims)


def _body() -> bytes:
    """The request body, which the token's ``body_sha256`` covers: at most MAX_BODY."""
    body = request.get_data(cache=True)
    if len(body) > MAX_BODY:
        raise RequestEntityTooLarge(f"the body is over {MAX_BODY} bytes")
    return body


def gate() -> PartnerGate:
    return cast(PartnerGate, current_app.extensions[EXTENSION])


def verify_token() -> Response | None:
    """App ``before_request``: the token checks, for partner endpoints only."""
    if request.blueprint != BLUEPRINT:
        return None
    if request.method == "HEAD":
        # Werkzeug answers HEAD with the GET view minus its body: a snapshot built, a
        # budget spent, an access row for data never sent. Nothing here is worth a peek.
        methods = request.url_rule.methods if request.url_rule else None
        allowed = sorted((methods or set()) - {"HEAD", "OPTIONS"})
        return problem(405, f"HEAD is not served here; use {' or '.join(allowed)}",
                       headers={"Allow": ", ".join(allowed)})
    # One byte over the limit: a body without Content-Length (chunked) is cut at the
    # limit without an error, so reading one more is how _body tells a body of exactly
    # MAX_BODY from a longer one. Past it, RequestEntityTooLarge: a 413 problem.
    request.max_content_length = MAX_BODY + 1
    try:
        g.partner_caller = gate().authenticate(datetime.now(UTC))
    except AuthError as exc:
        return auth_problem(exc)
    except ConfigError:
        log.exception("partner configuration is invalid; run `hub partners check`")
        return problem(503, "the hub cannot read its partner configuration; its operator "
                       "sees why in the log; retry later",
                       headers={"Retry-After": "60"})
    return None


def remember_jti() -> Response | None:
    """Blueprint ``before_request``: the replay check, after the rate limit."""
    claims = caller().claims
    try:
        first = gate().replay.remember(claims.jti, claims.partner, claims.exp, claims.iat)
    except AuthError as exc:
        return auth_problem(exc)
    if not first:
        return auth_problem(AuthError(f"jti: {claims.jti!r} was already used"))
    return None


def caller() -> PartnerCaller:
    return cast(PartnerCaller, g.partner_caller)


def caller_rate_limit() -> str:
    return caller().adapter.config.api.rate_limit


def caller_partner() -> str:
    return caller().partner


def rate_limited(limit: RequestLimit) -> Response:
    """flask-limiter ``on_breach``: 429 with ``Retry-After`` in seconds."""
    retry = max(1, math.ceil(limit.reset_at - datetime.now(UTC).timestamp()))
    return problem(429, f"rate limit {limit.limit} reached for this partner",
                   headers={"Retry-After": str(retry)})


def make_limiter(redis_url: str | None) -> Limiter:
    # Redis when configured, so every gunicorn worker counts against one limit;
    # if Redis goes away, each worker counts in memory until it is back.
    return Limiter(
        key_func=lambda: request.remote_addr or "-",
        storage_uri=redis_url or "memory://",
        in_memory_fallback_enabled=redis_url is not None,
        on_breach=rate_limited,
        key_prefix="hub-rate",
        headers_enabled=False,
    )
