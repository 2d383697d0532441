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
from tests.api.conftest import SignedClient, on_database_since_a_minute, problem
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
    exp = switch + timedelta(minutes=10)
    # Signed before the switch: it may have been accepted through Redis already.
    with pytest.raises(AuthError, match=r"^jti: the replay store switched at 04:00:00Z; "
                       r"a token signed before 04:00:32Z"):
        store.remember("old", "ndrc", exp, issued_at=switch - timedelta(seconds=5))
    assert store.on_fallback
    # Signed more than the skew (and the workers' lag) after it: checked by the database.
    clock[0] = switch + timedelta(seconds=40)
    fresh = switch + timedelta(seconds=35)
    assert store.remember("new", "ndrc", exp, issued_at=fresh) is True
    assert store.remember("new", "ndrc", exp, issued_at=fresh) is False
    # Served all along, a token lifetime later the rule is off: all that is old expired.
    for seconds in range(60, 421, 60):
        clock[0] = switch + timedelta(seconds=seconds)
        assert store.remember(f"t{seconds}", "ndrc", exp, issued_at=clock[0]) is True
    assert store.remember("later", "ndrc", exp, issued_at=switch) is True


def test_a_fallback_worker_idle_past_a_token_lifetime_switches_again(
        hub_ctx: HubContext) -> None:
    """Its fallback row lapsed, so the workers on Redis stopped writing the database:
    tokens they took since are unknown here, and the window starts over."""
    clock = [datetime(2026, 11, 25, 4, 0, tzinfo=UTC)]
    store = FallbackReplayStore(RedisReplayStore.from_url(DEAD_REDIS),
                                DatabaseReplayStore(hub_ctx.sessions), clock=lambda: clock[0])
    exp = clock[0] + timedelta(hours=1)
    with pytest.raises(AuthError):
        store.remember("a", "ndrc", exp, issued_at=clock[0])
    clock[0] += timedelta(minutes=7)
    with pytest.raises(AuthError, match="switched at 04:07:00Z"):
        store.remember("b", "ndrc", exp, issued_at=clock[0])


@pytest.mark.redis
def test_a_worker_started_during_an_outage_joins_it_without_refusing_tokens(
        hub_ctx: HubContext, redis_url: str) -> None:
    """A restart (gunicorn's max_requests, a deploy, a new machine) of a worker that
    cannot reach Redis, while another such worker serves: no new 30 s of refusals
    for every partner, and still no token twice, whichever worker took it."""
    clock = [datetime.now(UTC)]
    first, live = _worker(hub_ctx, DEAD_REDIS, clock), _worker(hub_ctx, redis_url, clock)
    t0 = clock[0]
    exp = t0 + timedelta(minutes=10)
    with pytest.raises(AuthError):  # the outage starts: its window
        first.remember("probe", "ndrc", exp, issued_at=t0)
    for minute in range(1, 7):  # past the window, the first worker serving
        clock[0] = t0 + timedelta(minutes=minute)
        assert first.remember(f"m{minute}", "ndrc", exp, issued_at=clock[0]) is True
    signed = clock[0]
    assert first.remember("on-db", "ndrc", exp, issued_at=signed) is True
    assert live.remember("on-redis", "ndrc", exp, issued_at=signed) is True
    restarted = _worker(hub_ctx, DEAD_REDIS, clock)
    assert restarted.remember("fresh", "ndrc", exp, issued_at=signed) is True
    assert restarted.remember("on-db", "ndrc", exp, issued_at=signed) is False
    assert restarted.remember("on-redis", "ndrc", exp, issued_at=signed) is False
    assert live.remember("fresh", "ndrc", exp, issued_at=signed) is False


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
    # The token accepted through the database while Redis was down cannot pass again:
    # while the database holds live rows, Redis and the database are both asked.
    assert store.remember("db", "ndrc", exp, issued_at=t0 + timedelta(seconds=60)) is False
    assert not store.on_fallback
    assert store.remember("redis", "ndrc", exp, issued_at=clock[0])
    assert live.remember("redis", "ndrc", exp) is False  # it went to Redis


def _worker(ctx: HubContext, redis_url: str, clock: list[datetime]) -> FallbackReplayStore:
    return FallbackReplayStore(RedisReplayStore.from_url(redis_url),
                               DatabaseReplayStore(ctx.sessions), clock=lambda: clock[0])


@pytest.mark.redis
def test_workers_that_disagree_about_redis_never_take_one_token_twice(
        hub_ctx: HubContext, redis_url: str) -> None:
    """One worker (or machine) lost Redis, the other did not: each token passes once,
    whichever worker sees it first."""
    clock = [datetime.now(UTC)]
    cut_off, live = _worker(hub_ctx, DEAD_REDIS, clock), _worker(hub_ctx, redis_url, clock)
    t0 = clock[0]
    exp = t0 + timedelta(minutes=10)
    assert live.remember("before", "ndrc", exp, issued_at=t0) is True
    with pytest.raises(AuthError):  # the cut-off worker's switch
        cut_off.remember("probe", "ndrc", exp, issued_at=t0)
    # What the live worker took just before the switch cannot be checked on either
    # (once it has read the switch: within a second).
    clock[0] = t0 + timedelta(seconds=1.5)
    for worker in (cut_off, live):
        with pytest.raises(AuthError, match="switched"):
            worker.remember("before", "ndrc", exp, issued_at=t0)
    clock[0] = t0 + timedelta(seconds=40)
    fresh = clock[0]
    assert live.remember("on-redis", "ndrc", exp, issued_at=fresh) is True
    assert cut_off.remember("on-redis", "ndrc", exp, issued_at=fresh) is False
    assert cut_off.remember("on-db", "ndrc", exp, issued_at=fresh) is True
    assert live.remember("on-db", "ndrc", exp, issued_at=fresh) is False
    # A worker started later (a restart) knows of the outage from the database.
    fresh_worker = _worker(hub_ctx, redis_url, clock)
    assert fresh_worker.remember("on-db", "ndrc", exp, issued_at=fresh) is False


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
    # A store that switched a minute ago: fresh tokens pass, checked against the
    # database, and replays do not.
    on_database_since_a_minute(app, hub_ctx, DEAD_REDIS)
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
        "partners": "ok", "replay_store": "redis", "redis": "unreachable"}
    SignedClient(client, partner_keys_registered["ndrc"]).post("/api/v1/checks", body=BODY)
    assert client.get("/healthz").json["replay_store"] == "database (Redis down)"


@pytest.mark.redis
def test_healthz_with_redis_up(hub_ctx: HubContext, redis_url: str) -> None:
    settings = dataclasses.replace(hub_ctx.settings, redis_url=redis_url)
    app = create_app(context=dataclasses.replace(hub_ctx, settings=settings))
    health = app.test_client().get("/healthz").json
    assert (health["replay_store"], health["redis"]) == ("redis", "ok")


def test_the_database_stays_in_use_while_a_token_it_took_can_still_pass(
        hub_ctx: HubContext) -> None:
    """A token is accepted until exp + 30 s of clock skew: while one the database took
    could still be replayed, workers on Redis must keep asking the database too."""
    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    store = DatabaseReplayStore(hub_ctx.sessions, clock=lambda: now)
    assert store.remember("lapsed", "ndrc", now - timedelta(seconds=40)) is True
    assert store.shared(now).in_use is False  # past exp + skew: it cannot pass any more
    assert store.remember("in-skew", "ndrc", now - timedelta(seconds=10)) is True
    assert store.shared(now).in_use is True  # expired, but within the skew
