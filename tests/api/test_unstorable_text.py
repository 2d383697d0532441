"""Text the database cannot store (NUL, other C0 controls, lone surrogates) is a 422
naming the field at every API entry, never a 500 from PostgreSQL or an encoder."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from hub.context import HubContext
from tests.api.conftest import SignedClient, problem
from tests.api.test_staff_api import bearer, staff_token

Signed = Callable[[str], SignedClient]
#: JSON escapes, written into the body as they are (orjson would refuse a lone surrogate).
BAD = [r"\u0000", r"A\u001b", r"\ud800"]


@pytest.mark.parametrize("bad", BAD)
def test_a_checked_id_that_cannot_be_stored_is_422(signed: Signed, records: HubContext,
                                                   bad: str) -> None:
    body = f'{{"subjects": [{{"id_number": "110105198503150019"}}, {{"id_number": "{bad}"}}]}}'
    found = problem(signed("travelsky").post("/api/v1/checks", body=body.encode()))
    assert found["status"] == 422
    assert "subjects.1.id_number" in found["errors"]
    assert ("control character" in found["detail"]) or ("lone surrogate" in found["detail"])


@pytest.mark.parametrize("bad", BAD)
def test_an_acked_batch_id_that_cannot_be_stored_is_422(signed: Signed, records: HubContext,
                                                        bad: str) -> None:
    body = f'{{"batch_id": "ndrc_full{bad}"}}'
    found = problem(signed("ndrc").post("/api/v1/acks", body=body.encode()))
    assert found["status"] == 422
    assert "batch_id" in found["errors"]


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("bad", BAD)
def test_a_login_that_cannot_be_stored_is_422(app: Flask, field: str, bad: str) -> None:
    values = {"username": "wang", "password": "a long enough password", field: f"x{bad}"}
    body = f'{{"username": "{values["username"]}", "password": "{values["password"]}"}}'
    response = app.test_client().post("/api/v1/auth/token", data=body.encode(),
                                      content_type="application/json")
    found = problem(response)
    assert found["status"] == 422
    assert field in found["errors"]


@pytest.mark.parametrize("bad", ["%00", "L-1%1B"])
def test_a_listing_id_that_cannot_be_stored_is_no_listing(app: Flask, hub_ctx: HubContext,
                                                          bad: str) -> None:
    response = app.test_client().get(f"/api/v1/listings/{bad}",
                                     headers=bearer(staff_token(hub_ctx)))
    assert problem(response)["status"] == 404
