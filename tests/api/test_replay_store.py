"""The replay store on a real Redis, and its fall back to the database when Redis is down."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis

from hub.api.partner_auth import EXTENSION
from hub.app import create_app
from hub.context import HubContext
from hub.errors import AuthError, Unavailable
from hub.queue.replay import RedisReplayStore
from hub.services.replay import DatabaseReplayStore, FallbackReplayStore
from tests.api.conftest import SignedClient, problem
from tests.api_auth.keys import PartnerKeyPair

#: Nothing listens on port 1: connections are refused at once, as with a stopped Redis.
DEAD_REDIS = "redis://127.0.0.1:1/0"
BODY = orjson.dumps({"subjects": [{"id_number": "110105198503150019"}]})


@pytest.mark.redis
def test_redis_store_remembers_until_the_token_can_no_longer_pass(redis_url: str) -> None:
    store = RedisReplayStore.from_url(redis_url)
    exp = datetime.now(UTC) + timedelta(seconds=100)
    assert store.remember("a", "ndrc", exp) is True
    assert store.remember("a", "ndrc", exp) is False
    assert store.remember("a", "pbc", exp) is True  # per partner
    ttl = redis.Redis.from_url(redis_url).ttl("hub:jti:ndrc:a")
    assert 125 <= ttl <= 130  # exp + 30 s skew


def test_dead_redis_is_unavailable_quickly() -> None:
    store = RedisReplayStore.from_url(DEAD_REDIS)
    assert store.ping() is False
    with pytest.raises(Unavailable, match="Redis"):
        store.remember("a", "ndrc", datetime.now(UTC))


def test_fallback_refuses_tokens_older_than_the_switch(hub_ctx: HubContext) -> None:
    clock = [datetime(2026, 11, 25, 4, 0, tzinfo=UTC)]
    store = FallbackReplayStore(RedisReplayStore.from_url(DEAD_REDIS),
                                DatabaseReplayStore(hub_ctx.sessions),
                                clock=lambda: clock[0])
    switch = clock[0]
    exp = switch + timedelta(minutes=2)
    # Signed before the switch: it may have been accepted through Redis already.
    with pytest.raises(AuthError, match=r"^jti: the replay store switched"):
        store.remember("old", "ndrc", exp, issued_at=switch - timedelta(seconds=5))
    assert store.on_fallback
    # Signed more than the skew after the switch: checked against the database.
    clock[0] = switch + timedelta(seconds=40)
    fresh = switch + timedelta(seconds=35)
    assert store.remember("new", "ndrc", exp, issued_at=fresh) is True
    assert store.remember("new", "ndrc", exp, issued_at=fresh) is False
    # A token lifetime later, the rule is off: everything old has expired.
    clock[0] = switch + timedelta(minutes=7)
    assert store.remember("later", "ndrc", exp, issued_at=switch) is True


@pytest.mark.redis
def test_back_on_redis_after_the_outage(hub_ctx: HubContext, redis_url: str) -> None:
    clock = [datetime.now(UTC)]
    live = RedisReplayStore.from_url(redis_url)
    primary = [RedisReplayStore.from_url(DEAD_REDIS)]

    class Switchable:
        def remember(self, jti: str, partner: str, expires_at: datetime,
                     issued_at: datetime | None = None) -> bool:
            return primary[0].remember(jti, partner, expires_at, issued_at)

    store = FallbackReplayStore(Switchable(), DatabaseReplayStore(hub_ctx.sessions),
                                clock=lambda: clock[0], retry_every=timedelta(seconds=5))
    t0 = clock[0]
    exp = t0 + timedelta(minutes=10)
    with pytest.raises(AuthError):
        store.remember("x", "ndrc", exp, issued_at=t0)
    clock[0] = t0 + timedelta(seconds=60)
    assert store.remember("db", "ndrc", exp, issued_at=clock[0]) is True
    primary[0] = live  # Redis is back
    clock[0] = t0 + timedelta(seconds=120)
    # The token accepted through the database while Redis was down cannot pass again.
    with pytest.raises(AuthError, match="switched"):
        store.remember("db", "ndrc", exp, issued_at=t0 + timedelta(seconds=60))
    assert not store.on_fallback
    assert store.remember("redis", "ndrc", exp, issued_at=clock[0] + timedelta(seconds=30))
    assert live.remember("redis", "ndrc", exp) is False  # it went to Redis


def test_api_serves_from_the_database_while_redis_is_down(
        hub_ctx: HubContext, tmp_path: Path,
        partner_keys_registered: dict[str, PartnerKeyPair]) -> None:
    settings = dataclasses.replace(hub_ctx.settings, redis_url=DEAD_REDIS)
    app = create_app(context=dataclasses.replace(hub_ctx, settings=settings))
    gate = app.extensions[EXTENSION]
    assert isinstance(gate.replay, FallbackReplayStore)
    client = SignedClient(app.test_client(), partner_keys_registered["ndrc"])
    # The first request finds Redis gone; its token predates the switch.
    assert problem(client.post("/api/v1/checks", body=BODY))["check"] == "jti"
    # A store whose switch was a minute ago (its clock runs a minute behind): fresh
    # tokens pass, checked against the database, and replays do not.
    def behind() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=1)
    gate.replay = FallbackReplayStore(RedisReplayStore.from_url(DEAD_REDIS),
                                      DatabaseReplayStore(hub_ctx.sessions), clock=behind)
    ok = client.post("/api/v1/checks", body=BODY)
    assert ok.status_code == 200, ok.data
    assert gate.replay.on_fallback
    replay = client.post("/api/v1/checks", body=BODY, token=client.last_token)
    assert "already used" in problem(replay)["detail"]


def test_healthz_says_which_replay_store_answers(
        hub_ctx: HubContext, partner_keys_registered: dict[str, PartnerKeyPair]) -> None:
    assert create_app(context=hub_ctx).test_client().get("/healthz").json["replay_store"] \
        == "database"
    settings = dataclasses.replace(hub_ctx.settings, redis_url=DEAD_REDIS)
    app = create_app(context=dataclasses.replace(hub_ctx, settings=settings))
    client = app.test_client()
    assert client.get("/healthz").json == {
        "status": "ok", "database": hub_ctx.engine.dialect.name, "high_water": 0,
        "replay_store": "redis", "redis": "unreachable"}
    SignedClient(client, partner_keys_registered["ndrc"]).post("/api/v1/checks", body=BODY)
    assert client.get("/healthz").json["replay_store"] == "database (Redis down)"


@pytest.mark.redis
def test_healthz_with_redis_up(hub_ctx: HubContext, redis_url: str) -> None:
    settings = dataclasses.replace(hub_ctx.settings, redis_url=redis_url)
    app = create_app(context=dataclasses.replace(hub_ctx, settings=settings))
    health = app.test_client().get("/healthz").json
    assert (health["replay_store"], health["redis"]) == ("redis", "ok")
