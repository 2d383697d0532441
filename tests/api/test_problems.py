"""Each hub error a view lets through becomes the problem a caller can act on."""

from __future__ import annotations

import orjson
import pytest
from flask import Flask

from hub.api.problems import hub_error_problem
from hub.errors import (
    AuthError,
    Conflict,
    FieldProblem,
    HubError,
    InvalidRecord,
    InvalidValue,
    NotFound,
    PermissionDenied,
)


@pytest.mark.parametrize(("error", "status"), [
    (AuthError("kid: unknown kid 'x'"), 401), (InvalidValue("not a date"), 422),
    (NotFound("no listing L-1"), 404), (Conflict("already removed"), 409),
    (PermissionDenied("another court's record"), 403), (HubError("unexpected"), 500),
])
def test_status_of_each_error(app: Flask, error: HubError, status: int) -> None:
    with app.app_context():
        response = hub_error_problem(error)
    body = orjson.loads(response.get_data())
    assert (response.status_code, body["status"]) == (status, status)
    assert response.mimetype == "application/problem+json"
    # A 500 says nothing of what went wrong inside.
    assert body.get("detail") == (str(error) if status != 500 else "internal error")


def test_invalid_record_names_every_field(app: Flask) -> None:
    error = InvalidRecord([FieldProblem("id_number", "check digit is wrong"),
                           FieldProblem("listed_on", "is before decided_on")])
    with app.app_context():
        body = orjson.loads(hub_error_problem(error).get_data())
    assert body["errors"] == {"id_number": ["check digit is wrong"],
                              "listed_on": ["is before decided_on"]}
