"""Wiring the API into an app: OpenAPI document, error format, partner gate, rate limits."""

from __future__ import annotations

from flask import Flask

from hub.api import partner, staff
from hub.api.openapi import HubApi, make_api
from hub.api.partner_auth import (
    EXTENSION,
    PartnerGate,
    caller_partner,
    caller_rate_limit,
    make_limiter,
    verify_token,
)
from hub.api.problems import hub_error_problem
from hub.api.throttle import EXTENSION as THROTTLES
from hub.api.throttle import make_budgets
from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.errors import ConfigError, HubError
from hub.queue.replay import RedisReplayStore
from hub.services.replay import DatabaseReplayStore, FallbackReplayStore, ReplayStore


def replay_store(context: HubContext) -> ReplayStore:
    """Redis (falling back to the database) when ``REDIS_URL`` is set, else the database."""
    database = DatabaseReplayStore(context.sessions)
    if context.settings.redis_url:
        return FallbackReplayStore(RedisReplayStore.from_url(context.settings.redis_url),
                                   database)
    return database


def init_api(app: Flask, context: HubContext) -> HubApi:
    settings = context.settings
    app.extensions[EXTENSION] = PartnerGate(
        load=lambda: load_adapters(settings),
        replay=replay_store(context),
        public_url=settings.public_url,
    )
    # Token checks first: the per-partner limit below needs to know the partner.
    app.before_request(verify_token)
    limiter = make_limiter(settings.redis_url)
    limiter.limit(caller_rate_limit, key_func=caller_partner)(partner.bp)
    limiter.init_app(app)
    app.extensions[THROTTLES] = make_budgets(limiter.limiter)
    api = make_api(app, settings.swagger_ui_url)
    api.register_blueprint(partner.bp)
    api.register_blueprint(staff.bp)
    app.register_error_handler(HubError, hub_error_problem)
    return api


def require_public_url(context: HubContext) -> None:
    """A production server must know the URL partners call: ``htu`` is compared with it.

    Without it the request's own Host header would decide, so a token signed for another
    hub (a staging one with the same partner key) would pass here.

    :raises ConfigError: ``HUB_PUBLIC_URL`` is not set.
    """
    if not context.settings.public_url:
        raise ConfigError("HUB_PUBLIC_URL is not set: give the scheme and host partners "
                          "call (e.g. https://hub.example.cn); tokens' htu is checked "
                          "against it")


def preload_partners(app: Flask) -> None:
    """Read the partner files now: a server should fail at boot, not at the first request.

    :raises ConfigError: a partner file is invalid (every problem named).
    """
    gate = app.extensions[EXTENSION]
    assert isinstance(gate, PartnerGate)  # noqa: S101 - set by init_api above
    gate.adapters  # noqa: B018 - loads and caches them


def api_health(app: Flask) -> dict[str, str]:
    """What an operator needs to see on /healthz: whether the partner files load (every
    partner request is a 503 while they do not), which replay store answers, and Redis."""
    gate = app.extensions.get(EXTENSION)
    if not isinstance(gate, PartnerGate):
        return {}
    try:
        gate.adapters  # noqa: B018 - loads them, as the first partner request would
        health = {"partners": "ok"}
    except ConfigError as exc:
        first = str(exc).splitlines()[0]
        health = {"partners": f"unreadable, every partner request is refused: {first} "
                              "(`hub partners check` lists every problem)"}
    replay = gate.replay
    if not isinstance(replay, FallbackReplayStore):
        return health | {"replay_store": "database"}
    primary = replay.primary
    redis_ok = isinstance(primary, RedisReplayStore) and primary.ping()
    return health | {"replay_store": "database (Redis down)" if replay.on_fallback else "redis",
                     "redis": "ok" if redis_ok else "unreachable"}
