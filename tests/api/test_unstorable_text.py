"""Text the database cannot store (NUL, other C0 controls) is a 422 naming the field at
every API entry, a lone surrogate (no well-formed JSON holds one) a 400, and a body no
parser should follow a 4xx: never a 500 from PostgreSQL, an encoder or a recursion."""

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
    if bad == r"\ud800":
        assert (found["status"], found["detail"]) == (400, "_schema: Invalid JSON body.")
        return
    assert found["status"] == 422
    assert "subjects.1.id_number" in found["errors"]
    assert "control character" in found["detail"]


@pytest.mark.parametrize("bad", BAD)
def test_an_acked_batch_id_that_cannot_be_stored_is_422(signed: Signed, records: HubContext,
                                                        bad: str) -> None:
    body = f'{{"batch_id": "ndrc_full{bad}"}}'
    found = problem(signed("ndrc").post("/api/v1/acks", body=body.encode()))
    if bad == r"\ud800":  # not JSON: what /checks answers for it, the same parser
        assert (found["status"], found["detail"]) == (400, "_schema: Invalid JSON body.")
        return
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
    assert found["status"] == (422 if bad != r"\ud800" else 400)
    assert (field if bad != r"\ud800" else "_schema") in found["errors"]


@pytest.mark.parametrize("bad", ["%00", "L-1%1B"])
def test_a_listing_id_that_cannot_be_stored_is_no_listing(app: Flask, hub_ctx: HubContext,
                                                          bad: str) -> None:
    response = app.test_client().get(f"/api/v1/listings/{bad}",
                                     headers=bearer(staff_token(hub_ctx)))
    assert problem(response)["status"] == 404


#: Nested past any schema's depth; 200 kB, well under the body limit.
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/api/v1/checks", b'{"subjects": ' + DEEP + b"}", 400),
    ("/api/v1/acks", b'{"batch_id": ' + DEEP + b"}", 400),
    ("/api/v1/checks", b"\xff\xfe{}", 400),
    ("/api/v1/acks", b'{"through_seq": NaN}', 400),
])
def test_a_body_no_parser_should_follow_is_a_client_error(
        signed: Signed, path: str, body: bytes, status: int) -> None:
    found = problem(signed("ndrc").post(path, body=body))
    assert found["status"] == status
    assert "_schema" in found["errors"]
