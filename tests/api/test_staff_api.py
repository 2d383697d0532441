"""Staff endpoints over HTTP: log in with an account added by the CLI, then read a listing.

Staff tokens and partner tokens are real, signed and verified; each kind is
refused where the other is expected.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from werkzeug.test import TestResponse

from hub.cli import cli
from hub.context import HubContext
from hub.core import staff_tokens
from hub.core.staff_tokens import StaffClaims
from hub.db.engine import session_scope
from hub.db.models import StaffAccount
from hub.services import registry, staff_accounts
from hub.services.actors import Actor
from tests.api_auth.keys import claims, make_key, sign
from tests.conftest import NOW, invoke
from tests.samples import person_listing

PASSWORD = "correct horse battery"
LISTING = "/api/v1/listings/L-2024-000001"


def add_staff(runner: FlaskCliRunner, username: str = "wang",
              password: str = PASSWORD) -> None:
    result = runner.invoke(cli, ["staff", "add", username, "--court", "京0105",
                                 "--role", "clerk", "--password-stdin"], input=password + "\n")
    assert result.exit_code == 0, result.output


def add_listing(ctx: HubContext) -> None:
    with session_scope(ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=Actor("staff:wang", "京0105"), now=NOW)


def log_in(client: FlaskClient, username: str = "wang", password: str = PASSWORD
           ) -> TestResponse:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def staff_token(ctx: HubContext, *, now: datetime | None = None, secret: str | None = None
                ) -> str:
    """A token for clerk wang, whose (active) account it creates if need be."""
    with session_scope(ctx.sessions) as session:
        if not session.scalar(select(StaffAccount.id).where(StaffAccount.username == "wang")):
            staff_accounts.add_account(session, "wang", "京0105", "clerk", PASSWORD,
                                       actor=Actor("cli:test"), now=datetime.now(UTC))
    return staff_tokens.issue(StaffClaims("wang", "京0105", "clerk"),
                              secret=secret or ctx.settings.secret_key,
                              audience=ctx.settings.audience, now=now or datetime.now(UTC))


def assert_401(response: TestResponse, check: str) -> dict[str, Any]:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["check"] == check, body
    return body


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_cli_account_logs_in_and_reads_a_listing(
    hub_ctx: HubContext, runner: FlaskCliRunner, client: FlaskClient,
) -> None:
    add_staff(runner)
    add_listing(hub_ctx)
    response = log_in(client)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    claims_ = staff_tokens.verify(body["access_token"], secret=hub_ctx.settings.secret_key,
                                  audience=hub_ctx.settings.audience, now=datetime.now(UTC))
    assert claims_ == StaffClaims("wang", "京0105", "clerk")

    got = client.get(LISTING, headers=bearer(body["access_token"]))
    assert got.status_code == 200, got.get_json()
    listing = got.get_json()
    assert listing["listing_id"] == "L-2024-000001"
    assert listing["name"] == "张伟"
    assert listing["court_code"] == "京0105"
    assert listing["status"] == "active"
    assert listing["birth_date"] == "1985-03-15"
    assert listing["decided_on"] == "2024-06-03"
    assert listing["version"] == 1


def test_unknown_listing_is_404_problem(
    hub_ctx: HubContext, client: FlaskClient,
) -> None:
    response = client.get("/api/v1/listings/L-2024-999999", headers=bearer(staff_token(hub_ctx)))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "L-2024-999999" in response.get_json()["detail"]


@pytest.mark.parametrize("typed", ["WANG", "Wang"])
def test_a_username_logs_in_in_any_case(hub_ctx: HubContext, runner: FlaskCliRunner,
                                        client: FlaskClient, typed: str) -> None:
    add_staff(runner)  # accounts are lowercase: wang
    add_listing(hub_ctx)
    response = log_in(client, username=typed)
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["access_token"]
    claims_ = staff_tokens.verify(token, secret=hub_ctx.settings.secret_key,
                                  audience=hub_ctx.settings.audience, now=datetime.now(UTC))
    assert claims_.username == "wang"
    assert client.get(LISTING, headers=bearer(token)).status_code == 200
    assert_401(log_in(client, username=typed, password="not the password at all"),
               "credentials")


def test_wrong_password_and_unknown_user_get_the_same_401(
    runner: FlaskCliRunner, client: FlaskClient,
) -> None:
    add_staff(runner)
    wrong = log_in(client, password="not the password at all")
    unknown = log_in(client, username="nobody")
    body = assert_401(wrong, "credentials")
    assert assert_401(unknown, "credentials") == body
    assert wrong.get_data() == unknown.get_data()
    assert "access_token" not in body


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_login_body_is_refused_unread(client: FlaskClient, chunked: bool) -> None:
    """Anyone may post to the login: a body of hundreds of megabytes was read and
    parsed whole (a worker's memory grew by 400 MB and stayed there)."""
    from hub.app import MAX_REQUEST_BYTES

    body = b'{"username": "wang", "password": "' + b"x" * MAX_REQUEST_BYTES + b'"}'
    headers = {"Content-Type": "application/json"}
    if chunked:  # no Content-Length: the body is read up to the cap, then cut
        response = client.post("/api/v1/auth/token", input_stream=io.BytesIO(body),
                               headers=headers)
        assert response.status_code in (400, 413)
    else:
        response = client.post("/api/v1/auth/token", data=body, headers=headers)
        assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_missing_password_is_422_naming_the_field(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "wang"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert "password" in body["errors"]
    assert "password" in body["detail"]


def test_listing_needs_a_staff_token(hub_ctx: HubContext, client: FlaskClient) -> None:
    add_listing(hub_ctx)
    assert_401(client.get(LISTING), "authorization")


def test_expired_staff_token_is_401_exp(hub_ctx: HubContext, client: FlaskClient) -> None:
    add_listing(hub_ctx)
    old = staff_token(hub_ctx, now=datetime.now(UTC) - timedelta(minutes=16))
    assert_401(client.get(LISTING, headers=bearer(old)), "exp")


def test_tampered_staff_token_is_401(hub_ctx: HubContext, client: FlaskClient) -> None:
    add_listing(hub_ctx)
    header, payload, signature = staff_token(hub_ctx).split(".")
    # Flip one character of the signature: the token parses but does not verify.
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_401(client.get(LISTING, headers=bearer(f"{header}.{payload}.{flipped}")),
               "signature")
    forged = staff_token(hub_ctx, secret="not-the-hub-secret")
    assert_401(client.get(LISTING, headers=bearer(forged)), "signature")


def test_partner_token_is_refused_on_the_staff_endpoint(
    hub_ctx: HubContext, runner: FlaskCliRunner, client: FlaskClient, tmp_path: Any,
) -> None:
    add_listing(hub_ctx)
    key = make_key("acfic", "Ed25519")
    pem = tmp_path / "acfic.pem"
    pem.write_bytes(key.public_pem)
    assert invoke(runner, "partners", "add-key", "acfic", pem).exit_code == 0
    now = datetime.now(UTC)
    # The same partner's token is good on its own endpoint ...
    good = sign(key, claims(key, now, method="GET", url="http://localhost/api/v1/changes"))
    assert client.get("/api/v1/changes", headers=bearer(good)).status_code == 200
    # ... and refused on the staff one.
    token = sign(key, claims(key, now, method="GET", url=f"http://localhost{LISTING}"))
    body = assert_401(client.get(LISTING, headers=bearer(token)), "alg")
    assert "EdDSA" in body["detail"]


def test_staff_token_is_refused_on_a_partner_endpoint(
    hub_ctx: HubContext, client: FlaskClient,
) -> None:
    response = client.get("/api/v1/changes", headers=bearer(staff_token(hub_ctx)))
    body = assert_401(response, "alg")
    assert "HS256" in body["detail"]


def test_openapi_documents_the_staff_endpoints(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    login = spec["paths"]["/api/v1/auth/token"]["post"]
    assert login["security"] == []
    assert {"200", "401", "422"} <= set(login["responses"])
    assert "requestBody" in login
    read = spec["paths"]["/api/v1/listings/{listing_id}"]["get"]
    assert read["security"] == [{"staffToken": []}]
    assert {"200", "401", "404"} <= set(read["responses"])
    schemas = spec["components"]["schemas"]
    assert {"TokenRequest", "TokenResponse", "Listing"} <= set(schemas)


def test_password_guessing_is_throttled_per_username(
    runner: FlaskCliRunner, client: FlaskClient,
) -> None:
    add_staff(runner)
    add_staff(runner, username="li.na")
    for _ in range(10):
        assert_401(log_in(client, password="guess guess guess"), "credentials")
    # The eleventh try is refused before the password is even checked, the right one too.
    throttled = log_in(client)
    assert throttled.status_code == 429
    assert throttled.mimetype == "application/problem+json"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 15 * 60 + 1
    # Another account is not affected.
    assert log_in(client, username="li.na").status_code == 200


def test_a_disabled_accounts_tokens_stop_at_once(
    hub_ctx: HubContext, client: FlaskClient, runner: FlaskCliRunner,
) -> None:
    add_listing(hub_ctx)
    token = staff_token(hub_ctx)
    assert client.get(LISTING, headers=bearer(token)).status_code == 200
    result = invoke(runner, "staff", "disable", "wang")
    assert result.exit_code == 0, result.output
    body = assert_401(client.get(LISTING, headers=bearer(token)), "sub")
    assert "disabled" in body["detail"]
    assert_401(log_in(client), "credentials")
    again = invoke(runner, "staff", "disable", "wang")
    assert again.exit_code == 1
    assert "already disabled" in again.output
    assert "no staff account" in invoke(runner, "staff", "disable", "nobody").output
