"""Authenticating a staff request: a staff bearer token, never a partner token.

:func:`hub.core.staff_tokens.verify` refuses anything but an HS256 ``staff+jwt``
for the staff audience, so a partner's EdDSA/ES256 token fails its ``alg``
check here, as a staff token fails the partner gate's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, cast

from flask import Response, g, request

from hub.api.bearer import bearer_token
from hub.api.problems import auth_problem
from hub.core import staff_tokens
from hub.core.staff_tokens import StaffClaims
from hub.current import hub_context
from hub.errors import AuthError
from hub.services.staff_accounts import is_active

#: Endpoint name prefix of the staff blueprint (see hub.api.staff).
BLUEPRINT: Final = "staff_api"
#: The one staff endpoint reached without a token: the one that hands them out.
TOKEN_ENDPOINT: Final = f"{BLUEPRINT}.token"


def verify_staff_token() -> Response | None:
    """Staff blueprint ``before_request``: every view but the token endpoint needs a token."""
    if request.endpoint == TOKEN_ENDPOINT:
        return None
    ctx = hub_context()
    try:
        claims = staff_tokens.verify(
            bearer_token(), secret=ctx.settings.secret_key, audience=ctx.settings.audience,
            now=datetime.now(UTC))
        # A disabled account's tokens stop at once, not when they expire.
        with ctx.sessions() as session:
            if not is_active(session, claims.username):
                raise AuthError("sub: the staff account is disabled or no longer exists")
    except AuthError as exc:
        return auth_problem(exc)
    g.staff_claims = claims
    return None


def staff_caller() -> StaffClaims:
    return cast(StaffClaims, g.staff_claims)
