"""Request bodies are parsed by orjson, for flask-smorest's arguments (here) and
``request.get_json`` (:class:`hub.api.json_provider.JsonProvider`) alike.

The standard library's parser recurses once per nesting level: a body of 100,000
``[`` (200 kB, well under the size limit) raised RecursionError, a 500, before
any schema saw it. orjson stops at 1024 levels with a JSONDecodeError, which
both paths already answer as a client error; it also refuses what JSON forbids
(NaN, lone surrogates), and it is faster.
"""

from __future__ import annotations

import json
from typing import Any, Final

import flask_smorest
import orjson
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from hub.api.openapi import ProblemSchema
from hub.api.problems import MEDIA_TYPE

#: What a 400 means on an endpoint with a JSON body (its OpenAPI description).
NOT_JSON: Final = "The body is not JSON (`Invalid JSON body.`)."
#: What a 415 means there.
NOT_JSON_TYPE: Final = "A body sent without `Content-Type: application/json`."


class BodyParser(FlaskParser):
    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            # Read as no body at all, a right body under another type was answered
            # "subjects: Missing data for required field": say what is wrong instead.
            if req.get_data(cache=True):
                raise UnsupportedMediaType("the body needs Content-Type: application/json")
            return core.missing
        # orjson.JSONDecodeError is json's: webargs answers it as "Invalid JSON body",
        # but takes one without its document for an empty body, and orjson gives none
        # for bytes that are not UTF-8.
        data = req.get_data(cache=True)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if data and not exc.doc:
                raise json.JSONDecodeError(exc.msg, data.decode(errors="replace"),
                                           exc.pos) from exc
            raise


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint with :class:`BodyParser` for its ``arguments``, whose
    error responses say in the document what they are: a problem document."""

    ARGUMENTS_PARSER = BodyParser()

    def alt_response(self, status_code: int, response: Any = None, **kwargs: Any) -> Any:
        if status_code >= 400 and response is None and "schema" not in kwargs:
            kwargs |= {"schema": ProblemSchema, "content_type": MEDIA_TYPE}
        return super().alt_response(status_code, response, **kwargs)
