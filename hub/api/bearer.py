"""The bearer token of the current request, for the partner and the staff checks alike."""

from __future__ import annotations

from flask import request

from hub.errors import AuthError


def bearer_token() -> str:
    """:raises AuthError: no ``Authorization: Bearer`` header."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("authorization: expected 'Authorization: Bearer <token>'")
    return token.strip()
