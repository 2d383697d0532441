"""The staff endpoints of ``/api/v1``: a bearer token for a staff account, and listings.

Every view but ``POST /auth/token`` has passed :mod:`hub.api.staff_auth`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

from flask import Response, request

from hub.api.json_body import NOT_JSON, NOT_JSON_TYPE, Blueprint
from hub.api.openapi import STAFF_SECURITY
from hub.api.problems import auth_problem, problem
from hub.api.staff_auth import BLUEPRINT, verify_staff_token
from hub.api.staff_schemas import ListingSchema, TokenRequest, TokenResponse
from hub.api.throttle import budget
from hub.core import staff_tokens
from hub.core.records import listing_state
from hub.core.staff_tokens import StaffClaims
from hub.current import hub_context
from hub.errors import AuthError
from hub.services.registry import get_listing, listing_values
from hub.services.staff_accounts import authenticate, normalise_username

log = logging.getLogger(__name__)

bp = Blueprint(BLUEPRINT, __name__, url_prefix="/api/v1",
               description="Staff endpoints: a staff bearer token from POST /api/v1/auth/token.")
bp.before_request(verify_staff_token)

_SECURED: Final[dict[str, Any]] = {"security": [{STAFF_SECURITY: []}]}


@bp.route("/auth/token", methods=["POST"], endpoint="token")
@bp.arguments(TokenRequest)
@bp.response(200, TokenResponse)
@bp.alt_response(401, description="Unknown user, wrong password or inactive account "
                 "(one answer for all three); `check` is `credentials`.")
@bp.alt_response(429, description="Too many failed logins for this username; see "
                 "`Retry-After`.")
@bp.alt_response(400, description=NOT_JSON)
@bp.alt_response(413, description="The body is over 1 MiB.")
@bp.alt_response(415, description=NOT_JSON_TYPE)
@bp.doc(security=[])
def token(body: dict[str, str]) -> Response | dict[str, Any]:
    """A staff bearer token for a username and password, valid for 15 minutes."""
    ctx = hub_context()
    # One failure budget per account, whatever case the username is typed in.
    failures, username = budget("login"), normalise_username(body["username"])
    if not failures.allows(username):
        return problem(429, "too many failed logins for this user; wait and retry",
                       headers={"Retry-After": str(failures.retry_after(username))})
    try:
        with ctx.sessions() as session:
            account = authenticate(session, body["username"], body["password"])
            claims = StaffClaims(username=account.username, court_code=account.court_code,
                                 role=account.role)
    except AuthError as exc:
        failures.spend(username)
        log.warning("failed staff login for %r from %s", body["username"], request.remote_addr)
        return auth_problem(exc)
    access_token = staff_tokens.issue(claims, secret=ctx.settings.secret_key,
                                      audience=ctx.settings.audience, now=datetime.now(UTC))
    return {"access_token": access_token, "token_type": "Bearer",
            "expires_in": int(staff_tokens.LIFETIME.total_seconds())}


@bp.route("/listings/<listing_id>", methods=["GET"])
@bp.response(200, ListingSchema)
@bp.alt_response(401, description="The staff token is missing or failed a check; "
                 "`check` names it.")
@bp.alt_response(404, description="No such listing.")
@bp.doc(**_SECURED)
def listing(listing_id: str) -> dict[str, Any]:
    """A listing's current state."""
    with hub_context().sessions() as session:
        record = get_listing(session, listing_id)
        return {**listing_state(listing_values(record)), "version": record.version}
