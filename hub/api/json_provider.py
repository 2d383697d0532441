"""Flask's JSON with orjson's ``loads``: why, in :mod:`hub.api.json_body`.

A module of its own so the app can use it without importing flask-smorest (the
CLI builds the app without the HTTP API)."""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider


class JsonProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        # orjson.JSONDecodeError is a ValueError, which get_json answers as a bad body.
        return orjson.loads(s)
