"""Partners with registered keys, and a test client that signs every request for real."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete
from werkzeug.test import TestResponse

from hub.api.partner_auth import EXTENSION
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import SeenToken
from hub.errors import AuthError
from hub.queue.replay import RedisReplayStore
from hub.services import partner_keys, registry
from hub.services.actors import Actor
from hub.services.replay import HUB_ROWS, DatabaseReplayStore, FallbackReplayStore
from tests.api_auth.keys import PartnerKeyPair, claims, make_key, sign
from tests.samples import org_listing, org_restriction, person_listing, person_restriction

BASE = "http://localhost"
ADMIN = Actor("cli:test")
#: Partners the API tests sign as: a JSON Lines partner, an ES256 one, a flight partner,
#: the railway, and one whose API is switched off.
KEY_KINDS = {"ndrc": "Ed25519", "pbc": "P-256", "travelsky": "Ed25519", "railway": "Ed25519",
             "lao": "Ed25519"}


@dataclass
class SignedClient:
    """Signs one fresh token per request, as a partner's system does."""

    client: FlaskClient
    key: PartnerKeyPair
    #: Changes the claims or the token of the next request, for the negative tests.
    tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    last_token: str | None = field(default=None, repr=False)

    def token(self, method: str, path: str, body: bytes | None, **overrides: Any) -> str:
        payload = claims(self.key, datetime.now(UTC), body=body, method=method,
                         url=BASE + path, **overrides)
        return sign(self.key, payload)

    def request(self, method: str, path: str, *, json: Any = None,
                query: dict[str, Any] | None = None, token: str | None = None,
                body: bytes | None = None, **overrides: Any) -> TestResponse:
        if body is None and json is not None:
            body = orjson.dumps(json)
        if token is None:
            token = self.token(method, path, body, **overrides)
        self.last_token = token
        return self.client.open(path, method=method, query_string=query, data=body,
                                headers={"Authorization": f"Bearer {token}",
                                         "Content-Type": "application/json"})

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def partner_keys_registered(hub_ctx: HubContext) -> dict[str, PartnerKeyPair]:
    keys = {p: make_key(p, kind) for p, kind in KEY_KINDS.items()}
    with session_scope(hub_ctx.sessions) as session:
        for partner, key in keys.items():
            partner_keys.add_key(session, partner, key.public_pem, known_partners=KEY_KINDS,
                                 actor=ADMIN, now=datetime.now(UTC))
    return keys


@pytest.fixture
def signed(app: Flask, partner_keys_registered: dict[str, PartnerKeyPair]
           ) -> Callable[[str], SignedClient]:
    """``signed("ndrc")``: a client signing as that partner."""
    return lambda partner: SignedClient(app.test_client(), partner_keys_registered[partner])


def add_sample_records(ctx: HubContext) -> None:
    """A person listed and restricted, an organisation listed and restricted (seqs 1-4)."""
    now = datetime.now(UTC)
    with session_scope(ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=ADMIN, now=now)
        registry.issue_restriction(s, person_restriction(), actor=ADMIN, now=now)
        registry.add_listing(s, org_listing(), actor=ADMIN, now=now)
        registry.issue_restriction(s, org_restriction(), actor=ADMIN, now=now)


@pytest.fixture
def records(hub_ctx: HubContext) -> HubContext:
    add_sample_records(hub_ctx)
    return hub_ctx


def problem(response: TestResponse) -> dict[str, Any]:
    assert response.content_type == "application/problem+json", response.data
    body: dict[str, Any] = orjson.loads(response.data)
    assert body["status"] == response.status_code
    return body


def on_database_since_a_minute(app: Flask, ctx: HubContext, redis_url: str) -> Any:
    """Give ``app`` a replay store that left the (dead) Redis at ``redis_url`` a minute ago,
    past the refusals that follow a switch; any earlier switch is forgotten."""
    clock = [datetime.now(UTC) - timedelta(minutes=1)]
    with ctx.sessions() as s, s.begin():
        s.execute(delete(SeenToken).where(SeenToken.partner == HUB_ROWS))
    gate = app.extensions[EXTENSION]
    gate.replay = FallbackReplayStore(RedisReplayStore.from_url(redis_url),
                                      DatabaseReplayStore(ctx.sessions), clock=lambda: clock[0])
    with pytest.raises(AuthError):
        gate.replay.remember("probe", "ndrc", clock[0] + timedelta(minutes=5), clock[0])
    clock[0] = datetime.now(UTC)
    return gate.replay


def client_of(app: Flask, ctx: HubContext, partner: str) -> SignedClient:
    """A signing client of a partner outside the registered few (an Ed25519 key)."""
    key = make_key(partner, "Ed25519")
    with session_scope(ctx.sessions) as s:
        partner_keys.add_key(s, partner, key.public_pem, known_partners={partner},
                             actor=ADMIN, now=datetime.now(UTC))
    return SignedClient(app.test_client(), key)
