"""RFC 9457 problem responses: every API error is ``application/problem+json``."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

import orjson
from flask import Response

from hub.errors import AuthError, Conflict, InvalidRecord, InvalidValue, NotFound, PermissionDenied

MEDIA_TYPE: Final = "application/problem+json"


def problem(status: int, detail: str | None = None, *, headers: Mapping[str, str] | None = None,
            **extra: Any) -> Response:
    """A problem response; ``title`` is the status phrase, ``detail`` says what went wrong."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(orjson.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def auth_problem(error: AuthError) -> Response:
    """401 naming the failed check (the text before the first colon) and nothing else."""
    message = str(error)
    check = message.split(":", 1)[0].strip() or "token"
    # RFC 6750: the challenge tells a client to fetch a new token, not to retry this one.
    return problem(401, message, check=check,
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def hub_error_problem(error: Exception) -> Response:
    """The status a caller can act on for each :mod:`hub.errors` class."""
    if isinstance(error, AuthError):
        return auth_problem(error)
    if isinstance(error, InvalidRecord):
        return problem(422, str(error),
                       errors={p.field: [p.reason] for p in error.problems})
    if isinstance(error, InvalidValue):
        return problem(422, str(error))
    if isinstance(error, NotFound):
        return problem(404, str(error))
    if isinstance(error, Conflict):
        return problem(409, str(error))
    if isinstance(error, PermissionDenied):
        return problem(403, str(error))
    return problem(500, "internal error")
