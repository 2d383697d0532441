"""The one OpenAPI document of ``/api/v1`` (flask-smorest), and its error format."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

import marshmallow as ma
from flask import Flask, Response
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from hub.api.problems import MEDIA_TYPE, problem

PARTNER_SECURITY: Final = "partnerToken"
STAFF_SECURITY: Final = "staffToken"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    #: 401 only: the token check that failed (alg, kid, aud, exp, jti, htu, ...).
    check = ma.fields.String()
    #: 422 only: field -> reasons.
    errors = ma.fields.Dict()


def _flatten(messages: object, path: str = "") -> list[tuple[str, list[str]]]:
    if isinstance(messages, dict):
        return [pair for key, value in messages.items()
                for pair in _flatten(value, f"{path}.{key}" if path else str(key))]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(path or "_schema", list(messages))]
    return [(path or "_schema", [str(messages)])]


class HubApi(Api):  # type: ignore[misc]
    """flask-smorest's Api answering every HTTP error as ``application/problem+json``."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        if error.response is not None:  # e.g. flask-limiter's on_breach already answered
            return error.response  # type: ignore[return-value]
        data = getattr(error, "data", None) or {}
        code = error.code or 500
        # Keep what werkzeug says beside the body (Allow on a 405, WWW-Authenticate ...).
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        messages = data.get("messages")
        if messages:
            # webargs: {location: {field: reasons}}, nested per item; a caller wants
            # each failing field named by its path (subjects.0.id_number).
            errors = dict(_flatten(messages.get("json", messages.get("query", messages))))
            joined = "; ".join(f"{path}: {' '.join(reasons)}" for path, reasons in errors.items())
            return problem(code, joined, errors=errors, headers=headers)
        detail: str | None = data.get("message") or (error.description if code < 500 else None)
        return problem(code, detail, headers=headers)

    def _register_responses(self) -> None:
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def make_api(app: Flask, swagger_ui_url: str) -> HubApi:
    app.config.update(
        API_TITLE="Joint-sanction data exchange hub",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=swagger_ui_url,
    )
    api = HubApi(app, spec_kwargs={"info": {"description": (
        "Partners sign every request with their own key (see the signing guide in "
        "docs/partner-api.md); staff use a bearer token from POST /api/v1/auth/token.")}})
    api.spec.components.security_scheme(PARTNER_SECURITY, {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "EdDSA/ES256 JWT signed by the partner per request "
                       "(iss, sub, aud, iat, exp, jti, htm, htu, body_sha256)."})
    api.spec.components.security_scheme(STAFF_SECURITY, {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Staff token from POST /api/v1/auth/token (15 minutes)."})
    return api
