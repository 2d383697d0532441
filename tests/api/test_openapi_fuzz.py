"""schemathesis against /api/v1/openapi.json, every request signed: no 5xx, no off-schema answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from hub.app import create_app
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.migrate import upgrade
from hub.services import partner_keys, registry
from hub.settings import Settings
from tests.api.conftest import ADMIN, BASE
from tests.api_auth.keys import PartnerKeyPair, claims, make_key, sign
from tests.samples import org_listing, org_restriction, person_listing, person_restriction


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> tuple[Flask, PartnerKeyPair]:
    """One app on SQLite with a few records and a registered ndrc key, for every case."""
    folder = tmp_path_factory.mktemp("fuzz")
    ctx = HubContext.build(Settings.from_env({
        "HUB_DATABASE_URL": f"sqlite:///{folder / 'hub.sqlite3'}",
        "HUB_INSTANCE_PATH": str(folder / "instance"),
    }))
    upgrade(ctx.engine)
    key = make_key("ndrc", "Ed25519")
    now = datetime.now(UTC)
    with session_scope(ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=ADMIN, now=now)
        registry.issue_restriction(s, person_restriction(), actor=ADMIN, now=now)
        registry.add_listing(s, org_listing(), actor=ADMIN, now=now)
        registry.issue_restriction(s, org_restriction(), actor=ADMIN, now=now)
        partner_keys.add_key(s, "ndrc", key.public_pem, known_partners={"ndrc"}, actor=ADMIN,
                             now=now)
    # Fuzzing sends many requests a minute: lift the partner's limit for this app only.
    (folder / "instance" / "partners").mkdir(parents=True)
    (folder / "instance" / "partners" / "ndrc.toml").write_text(
        '[api]\nrate_limit = "100000/minute"\n')
    app = create_app(context=ctx)
    return app, key


@pytest.fixture(scope="module")
def api_schema(fuzz_target: tuple[Flask, PartnerKeyPair]) -> Any:
    app, _key = fuzz_target
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


def _signed_kwargs(case: Any, key: PartnerKeyPair) -> dict[str, Any]:
    kwargs: dict[str, Any] = case.as_transport_kwargs()
    # Sign the exact bytes that will be sent, as a partner does.
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
    body = kwargs.get("data")
    if isinstance(body, str):
        body = kwargs["data"] = body.encode()
    payload = claims(key, datetime.now(UTC), body=body or None, method=case.method.upper(),
                     url=BASE + kwargs["path"])
    kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {sign(key, payload)}"}
    return kwargs


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_within_its_schema(case: Any, fuzz_target: tuple[Flask, PartnerKeyPair]
                                       ) -> None:
    app, key = fuzz_target
    response = app.test_client().open(**_signed_kwargs(case, key))
    case.validate_response(response)


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
