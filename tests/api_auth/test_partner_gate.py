"""The partner gate pins each partner to the algorithm its file names ([api] algorithm)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson
import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from hub.api.partner_auth import MAX_BODY
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.services import partner_keys
from hub.services.actors import Actor
from tests.api_auth.keys import claims, make_key, sign

URL = "http://localhost/api/v1/changes"


# customs.toml says algorithm = "ES256"; an Ed25519 key was registered for it by mistake.
@pytest.mark.parametrize(("kind", "status"), [("P-256", 200), ("Ed25519", 401)])
def test_key_must_be_of_the_partners_configured_algorithm(
        app: Flask, hub_ctx: HubContext, kind: str, status: int) -> None:
    pair = make_key("customs", kind)
    with session_scope(hub_ctx.sessions) as session:
        partner_keys.add_key(session, "customs", pair.public_pem, known_partners=["customs"],
                             actor=Actor("cli:test"), now=datetime.now(UTC))
    token = sign(pair, claims(pair, datetime.now(UTC), method="GET", url=URL))
    response = app.test_client().get("/api/v1/changes",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status, response.data
    if status == 401:
        body = orjson.loads(response.data)
        assert body["check"] == "alg"
        assert "configured for partner 'customs' (ES256)" in body["detail"]


def test_an_oversized_body_is_refused_before_it_is_read(app: Flask) -> None:
    body = b'{"subjects": [' + b" " * (MAX_BODY + 1) + b"]}"
    response = app.test_client().post("/api/v1/checks", data=body,
                                      headers={"Authorization": "Bearer x",
                                               "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("size", "status"), [(MAX_BODY + 1, 413), (MAX_BODY, 422)])
def test_a_chunked_body_over_the_limit_is_refused_not_cut(
        app: Flask, hub_ctx: HubContext, size: int, status: int) -> None:
    """Without Content-Length (chunked, as gunicorn passes it) Werkzeug stops reading at
    the limit without an error: a longer body, signed over its first MAX_BODY bytes,
    was answered as if it ended there."""
    pair = make_key("ndrc", "Ed25519")
    with session_scope(hub_ctx.sessions) as session:
        partner_keys.add_key(session, "ndrc", pair.public_pem, known_partners=["ndrc"],
                             actor=Actor("cli:test"), now=datetime.now(UTC))
    head, tail = b'{"subjects": []', b"}"  # JSON: the one of MAX_BODY bytes reaches the schema
    body = head + b" " * (size - len(head) - len(tail)) + tail
    token = sign(pair, claims(pair, datetime.now(UTC), method="POST",
                              url="http://localhost/api/v1/checks", body=body[:MAX_BODY]))
    environ = EnvironBuilder(path="/api/v1/checks", method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Transfer-Encoding": "chunked"}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    response = Response.from_app(app, environ)  # as the server calls it; no test client
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
