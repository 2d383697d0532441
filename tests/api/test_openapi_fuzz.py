"""schemathesis against /api/v1/openapi.json, every request signed: no 5xx, no off-schema answer."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth

from hub.app import create_app
from hub.context import HubContext
from hub.core import staff_tokens
from hub.core.staff_tokens import StaffClaims
from hub.db.engine import session_scope
from hub.db.migrate import upgrade
from hub.services import partner_keys, staff_accounts
from hub.settings import Settings
from tests.api.conftest import ADMIN, BASE, add_sample_records
from tests.api_auth.keys import PartnerKeyPair, claims, make_key, sign

# schemathesis reads the document when the module is collected (its pytest fixture
# loader does not work with pytest 9.2), so the app is built here; the database is
# migrated and filled by the fixture below, before the first case runs.
_FOLDER = Path(tempfile.mkdtemp(prefix="hub-fuzz-"))
_CTX = HubContext.build(Settings.from_env({
    "HUB_DATABASE_URL": f"sqlite:///{_FOLDER / 'hub.sqlite3'}",
    "HUB_INSTANCE_PATH": str(_FOLDER / "instance"),
}))
# Fuzzing sends many requests a minute: lift the partner's limit for this app only.
(_FOLDER / "instance" / "partners").mkdir(parents=True)
(_FOLDER / "instance" / "partners" / "ndrc.toml").write_text(
    '[api]\nrate_limit = "100000/minute"\n')
APP = create_app(context=_CTX)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[tuple[Flask, PartnerKeyPair]]:
    """The app on SQLite with a few records and a registered ndrc key, for every case."""
    upgrade(_CTX.engine)
    key = make_key("ndrc", "Ed25519")
    add_sample_records(_CTX)
    with session_scope(_CTX.sessions) as s:
        partner_keys.add_key(s, "ndrc", key.public_pem, known_partners={"ndrc"}, actor=ADMIN,
                             now=datetime.now(UTC))
        # The staff token below is for this account: its endpoints answer, not only 401.
        staff_accounts.add_account(s, "fuzz", "京0105", "clerk", "fuzzing password 1",
                                   actor=ADMIN, now=datetime.now(UTC))
    yield APP, key
    _CTX.engine.dispose()
    shutil.rmtree(_FOLDER, ignore_errors=True)


def _signed_kwargs(case: Any, key: PartnerKeyPair) -> dict[str, Any]:
    kwargs: dict[str, Any] = case.as_transport_kwargs()
    headers = dict(kwargs.get("headers", {}))
    if "Authorization" not in headers:
        return kwargs  # a negative case testing the missing header: send it as it is
    # Sign the exact bytes that will be sent, as a partner does.
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
    body = kwargs.get("data")
    if isinstance(body, str):
        body = kwargs["data"] = body.encode()
    security = case.operation.definition.raw.get("security") or []
    if {"staffToken": []} in security:
        token = staff_tokens.issue(StaffClaims("fuzz", "京0105", "clerk"),
                                   secret=_CTX.settings.secret_key,
                                   audience=_CTX.settings.audience, now=datetime.now(UTC))
    else:
        token = sign(key, claims(key, datetime.now(UTC), body=body or None,
                                 method=case.method.upper(), url=BASE + kwargs["path"]))
    # Where schemathesis put its made-up bearer token, a real one goes.
    kwargs["headers"] = {**headers, "Authorization": f"Bearer {token}"}
    return kwargs


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_within_its_schema(case: Any, fuzz_target: tuple[Flask, PartnerKeyPair]
                                       ) -> None:
    app, key = fuzz_target
    response = app.test_client().open(**_signed_kwargs(case, key))
    # ignored_auth would read our real signature as the "invalid" one it generated; the
    # token checks have their own tests (test_partner_tokens.py).
    case.validate_response(response, excluded_checks=[ignored_auth])


def test_document_and_docs_page_are_served(fuzz_target: tuple[Flask, PartnerKeyPair],
                                           tmp_path: Path) -> None:
    app, _key = fuzz_target
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").json
    assert document is not None
    assert set(document["paths"]) >= {"/api/v1/changes", "/api/v1/snapshot", "/api/v1/checks",
                                      "/api/v1/acks"}
    assert document["paths"]["/api/v1/checks"]["post"]["security"] == [{"partnerToken": []}]
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"swagger-ui" in page.data


def test_every_error_response_is_documented_as_a_problem(
        fuzz_target: tuple[Flask, PartnerKeyPair]) -> None:
    """A client generated from the document must know a 401 or a 409 has a body, and
    which: each error declared a description and no content."""
    app, _key = fuzz_target
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document is not None
    shared = document["components"]["responses"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if status != "default" and int(status) < 400:
                    continue
                if "$ref" in response:
                    response = shared[response["$ref"].rsplit("/", 1)[1]]
                assert list(response.get("content", {})) == ["application/problem+json"], (
                    path, method, status)


def test_the_docs_page_loads_swagger_ui_from_the_configured_copy(
        hub_ctx: HubContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """A network without the internet serves Swagger UI itself: the page names its copy."""
    monkeypatch.setenv("HUB_SWAGGER_UI_URL", "https://static.hub.internal/swagger-ui")
    monkeypatch.setenv("HUB_DATABASE_URL", hub_ctx.settings.database_url)
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(hub_ctx.settings.instance_path))
    config = Settings.from_env()
    assert config.swagger_ui_url == "https://static.hub.internal/swagger-ui/"
    page = create_app(config).test_client().get("/api/docs")
    assert page.status_code == 200
    assert b"https://static.hub.internal/swagger-ui/swagger-ui-bundle.js" in page.data
    assert b"cdn.jsdelivr.net" not in page.data
