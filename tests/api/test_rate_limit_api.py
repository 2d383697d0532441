"""Per-partner rate limits (the partner file's ``[api] rate_limit``): 429 with Retry-After."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jwt
import orjson
import pytest
from flask import Flask

from hub.app import create_app
from hub.context import HubContext
from hub.db.models import SeenToken
from tests.api.conftest import SignedClient, on_database_since_a_minute, problem
from tests.api_auth.keys import PartnerKeyPair

CHECKS = "/api/v1/checks"
BODY = orjson.dumps({"subjects": [{"id_number": "110105198503150019"}]})


def limited_app(ctx: HubContext, tmp_path: Path, redis_url: str | None) -> Flask:
    instance = tmp_path / "limited-instance"
    (instance / "partners").mkdir(parents=True)
    (instance / "partners" / "ndrc.toml").write_text('[api]\nrate_limit = "3/minute"\n')
    settings = dataclasses.replace(ctx.settings, instance_path=instance, redis_url=redis_url)
    app = create_app(context=dataclasses.replace(ctx, settings=settings))
    app.config["TESTING"] = True
    return app


def exhaust(app: Flask, keys: dict[str, PartnerKeyPair]) -> None:
    ndrc = SignedClient(app.test_client(), keys["ndrc"])
    for _ in range(3):
        assert ndrc.post(CHECKS, body=BODY).status_code == 200
    response = ndrc.post(CHECKS, body=BODY)
    body = problem(response)
    assert body["status"] == 429
    assert "3 per 1 minute" in body["detail"]
    # The window is a minute; the store rounds its reset time up to the next second.
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    # Another partner has its own budget.
    assert SignedClient(app.test_client(), keys["pbc"]).post(CHECKS, body=BODY).status_code \
        == 200


def test_limit_in_memory(hub_ctx: HubContext, tmp_path: Path,
                         partner_keys_registered: dict[str, PartnerKeyPair]) -> None:
    exhaust(limited_app(hub_ctx, tmp_path, None), partner_keys_registered)


@pytest.mark.redis
def test_limit_on_redis_is_shared_by_every_worker(
        hub_ctx: HubContext, tmp_path: Path, redis_url: str,
        partner_keys_registered: dict[str, PartnerKeyPair]) -> None:
    first = limited_app(hub_ctx, tmp_path / "a", redis_url)
    exhaust(first, partner_keys_registered)
    # A second app (another gunicorn worker) sees the same count.
    second = limited_app(hub_ctx, tmp_path / "b", redis_url)
    response = SignedClient(second.test_client(), partner_keys_registered["ndrc"]).post(
        CHECKS, body=BODY)
    assert response.status_code == 429


def test_snapshots_are_limited_to_a_few_an_hour(
        hub_ctx: HubContext, partner_keys_registered: dict[str, PartnerKeyPair]) -> None:
    app = create_app(context=hub_ctx)
    ndrc = SignedClient(app.test_client(), partner_keys_registered["ndrc"])
    for _ in range(6):
        assert ndrc.get("/api/v1/snapshot").status_code == 200
    response = ndrc.get("/api/v1/snapshot")
    assert problem(response)["status"] == 429
    assert int(response.headers["Retry-After"]) > 60
    # Only the snapshot: the feed is still open.
    assert ndrc.get("/api/v1/changes").status_code == 200


def _jti(token: str | None) -> str:
    assert token is not None
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def test_a_refused_snapshot_keeps_its_jti(
        hub_ctx: HubContext, partner_keys_registered: dict[str, PartnerKeyPair]) -> None:
    app = create_app(context=hub_ctx)
    ndrc = SignedClient(app.test_client(), partner_keys_registered["ndrc"])
    for _ in range(6):
        assert ndrc.get("/api/v1/snapshot").status_code == 200
    with hub_ctx.sessions() as s:
        assert s.get(SeenToken, ("ndrc", _jti(ndrc.last_token))) is not None
    assert ndrc.get("/api/v1/snapshot").status_code == 429
    with hub_ctx.sessions() as s:
        assert s.get(SeenToken, ("ndrc", _jti(ndrc.last_token))) is None


DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_budgets_count_in_memory_while_redis_is_down(
        hub_ctx: HubContext, partner_keys_registered: dict[str, PartnerKeyPair]) -> None:
    settings = dataclasses.replace(hub_ctx.settings, redis_url=DEAD_REDIS)
    app = create_app(context=dataclasses.replace(hub_ctx, settings=settings))
    client = app.test_client()
    # A staff login: the failure budget counts in memory, the answer is the usual 401.
    login = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x" * 12})
    assert login.status_code == 401, login.data
    # A partner's snapshots, with the replay store on the database since a minute ago.
    on_database_since_a_minute(app, hub_ctx, DEAD_REDIS)
    ndrc = SignedClient(client, partner_keys_registered["ndrc"])
    for _ in range(6):
        response = ndrc.get("/api/v1/snapshot")
        assert response.status_code == 200, response.data
    assert problem(ndrc.get("/api/v1/snapshot"))["status"] == 429
