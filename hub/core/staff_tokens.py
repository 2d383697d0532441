"""Staff bearer tokens: short-lived HS256 JWTs that no partner token can pass for.

They differ from partner tokens in every way a verifier looks at: the
algorithm (HS256 with the hub's secret, never EdDSA/ES256), the audience
(``<HUB_AUDIENCE>/staff``) and the header ``typ``, so neither kind can be
presented where the other is expected.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import jwt
from jwt.exceptions import PyJWTError

from hub.errors import AuthError

ALGORITHM: Final = "HS256"
TYPE: Final = "staff+jwt"
LIFETIME: Final = timedelta(minutes=15)
SKEW: Final = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class StaffClaims:
    username: str
    court_code: str
    role: str


def staff_audience(audience: str) -> str:
    return f"{audience}/staff"


def _key(secret: str) -> bytes:
    # HS256 wants at least 32 bytes of key; a derived key also keeps the raw
    # HUB_SECRET_KEY (which signs sessions too) out of this use.
    return hashlib.sha256(b"hub-staff-token:" + secret.encode()).digest()


def issue(claims: StaffClaims, *, secret: str, audience: str, now: datetime) -> str:
    """A signed staff token valid for :data:`LIFETIME`."""
    iat = int(now.timestamp())
    payload: dict[str, Any] = {
        "iss": audience, "sub": claims.username, "aud": staff_audience(audience),
        "iat": iat, "exp": iat + int(LIFETIME.total_seconds()), "jti": str(uuid.uuid4()),
        "court": claims.court_code, "role": claims.role,
    }
    return jwt.encode(payload, _key(secret), algorithm=ALGORITHM, headers={"typ": TYPE})


def verify(token: str, *, secret: str, audience: str, now: datetime) -> StaffClaims:
    """:raises AuthError: naming the failed check."""
    try:
        header = jwt.get_unverified_header(token)
    except PyJWTError as exc:
        raise AuthError(f"header: cannot parse the token ({exc})") from exc
    if header.get("alg") != ALGORITHM:
        raise AuthError(f"alg: {header.get('alg')!r} is not a staff token algorithm")
    if header.get("typ") != TYPE:
        raise AuthError(f"typ: {header.get('typ')!r} is not {TYPE!r}")
    try:
        payload = jwt.decode(
            token, _key(secret), algorithms=[ALGORITHM], audience=staff_audience(audience),
            issuer=audience, leeway=SKEW, options={"require": ["exp", "iat", "sub", "aud"],
                                                    "verify_iat": False, "verify_exp": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise AuthError("aud: not the staff audience") from exc
    except PyJWTError as exc:
        raise AuthError(f"signature: staff token refused ({exc})") from exc
    # Times against the caller's clock, so tests can pin it.
    ts = now.timestamp()
    if ts > payload["exp"] + SKEW.total_seconds():
        raise AuthError("exp: expired")
    if payload["iat"] > ts + SKEW.total_seconds():
        raise AuthError("iat: iat in the future")
    court, role = payload.get("court"), payload.get("role")
    if not isinstance(court, str) or not isinstance(role, str):
        raise AuthError("claims: court and role are required")
    return StaffClaims(username=str(payload["sub"]), court_code=court, role=role)
