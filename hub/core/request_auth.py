"""Partner API bearer tokens: every check of DESIGN.md §5, pure (no database, no Flask)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import jwt
import orjson
from jwt.exceptions import InvalidSignatureError, PyJWTError

from hub.core.signing import b64url
from hub.core.text import unstorable
from hub.errors import AuthError

#: The only algorithms a partner key may have; everything else (none, HS*, RS*) is refused.
ALGORITHMS: Final = frozenset({"EdDSA", "ES256"})
#: Longest accepted token lifetime (exp - iat).
MAX_LIFETIME: Final = timedelta(seconds=300)
#: Clock skew tolerated both ways on exp and iat.
MAX_SKEW: Final = timedelta(seconds=30)
_DEFAULT_PORTS: Final[Mapping[str, int]] = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A registered partner key as the verifier needs it."""

    kid: str
    partner: str
    #: ``EdDSA`` or ``ES256``, fixed when the key was registered.
    algorithm: str
    public_jwk: Mapping[str, str] = field(repr=False)
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token tells the caller; ``jti`` still has to pass the replay store."""

    partner: str
    jti: str
    exp: datetime
    kid: str
    #: When the partner says it signed; the replay store uses it across a store switch.
    iat: datetime | None = None


def verify_partner_token(
    token: str,
    *,
    keys: Callable[[str], KeyInfo | None],
    audience: str,
    method: str,
    url: str,
    body: bytes | None,
    now: datetime,
) -> Claims:
    """Check a partner's bearer token against the request it came with.

    ``keys`` looks a kid up (revoked keys included, so the message can say so).

    :raises AuthError: whose message starts with the check that failed.
    """
    header = _header(token)
    alg = header.get("alg")
    if not alg:
        raise AuthError("alg: missing from the header")
    if not isinstance(alg, str):
        raise AuthError("alg: not a string")
    if alg not in ALGORITHMS:
        raise AuthError(f"alg: {alg!r} is not accepted (EdDSA or ES256 only)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:  # PyJWT has refused any other type
        raise AuthError("kid: missing from the header")
    # Read before any signature is checked: a kid no key can have is not looked up.
    key = None if unstorable(kid) else keys(kid)
    if key is None:
        raise AuthError(f"kid: unknown kid {kid!r}")
    if key.revoked:
        raise AuthError(f"kid: revoked key {kid!r}")
    if alg != key.algorithm:
        raise AuthError(f"alg: {alg!r} is not the algorithm of key {kid!r} ({key.algorithm})")

    payload = _decode(token, key)
    partner = key.partner
    _check_str(payload, "iss", partner, "the key's partner")
    _check_str(payload, "sub", partner, "iss (the key's partner)")
    _check_audience(payload.get("aud"), audience)
    iat, exp = _check_times(payload, now)
    jti = payload.get("jti")
    if jti is None or jti == "":
        raise AuthError("jti: missing")
    if not isinstance(jti, str):
        raise AuthError("jti: not a string")
    if len(jti) > 255:
        raise AuthError("jti: longer than 255 characters")
    if (why := unstorable(jti)) is not None:
        raise AuthError(f"jti: {why}")
    _check_str(payload, "htm", method.upper(), "the request method")
    _check_htu(payload.get("htu"), url)
    _check_body(payload.get("body_sha256"), body)
    return Claims(partner=partner, jti=jti, exp=exp, kid=kid, iat=iat)


def body_digest(body: bytes) -> str:
    """The ``body_sha256`` claim of ``body``: base64url(SHA-256), no padding."""
    return b64url(hashlib.sha256(body).digest())


def normalise_htu(url: str) -> str:
    """Scheme, host and path of ``url`` as RFC 9449 compares them (no query, no fragment).

    :raises ValueError: if ``url`` is not an absolute http(s) URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    if "@" in parts.netloc:
        # user:pass@ never reaches the server: a token naming it names no request.
        raise ValueError(f"user information in the URL: {url!r}")
    host = parts.hostname.lower()  # urlsplit lower-cases it; stated for the reader
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except PyJWTError as exc:
        raise AuthError(f"header: cannot parse the token ({exc})") from exc
    if not isinstance(header, dict):
        raise AuthError("header: not a JSON object")
    return header


#: One for every request, as PyJWT keeps its own: building one makes every algorithm.
_JWS: Final = jwt.PyJWS()


def _decode(token: str, key: KeyInfo) -> dict[str, Any]:
    # PyJWS, not PyJWT: the signature is verified first, on its own, so a payload that
    # is no JSON object is reported as that, not as a signature that failed. Times and
    # claims are checked below against the caller's clock.
    try:
        jwk = jwt.PyJWK(dict(key.public_jwk), algorithm=key.algorithm)
        # The allow-list is the registered key's algorithm, never the token's header.
        signed = _JWS.decode_complete(token, jwk, algorithms=[key.algorithm])
    except InvalidSignatureError as exc:
        raise AuthError(f"signature: does not verify with key {key.kid!r}") from exc
    except PyJWTError as exc:
        raise AuthError(f"signature: token refused ({exc})") from exc
    try:
        payload = orjson.loads(signed["payload"])
    except orjson.JSONDecodeError as exc:
        raise AuthError(f"payload: not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise AuthError("payload: not a JSON object")
    return payload


def _check_str(payload: Mapping[str, Any], claim: str, expected: str, what: str) -> None:
    value = payload.get(claim)
    if value is None:
        raise AuthError(f"{claim}: missing")
    if value != expected:
        raise AuthError(f"{claim}: {value!r} is not {what}")


def _check_audience(aud: object, audience: str) -> None:
    if aud is None:
        raise AuthError("aud: missing")
    # One audience only: a token for several services could be replayed at another.
    if aud != audience and aud != [audience]:
        raise AuthError(f"aud: {aud!r} is not {audience!r}")


def _numeric_date(payload: Mapping[str, Any], claim: str) -> datetime:
    value = payload.get(claim)
    if value is None:
        raise AuthError(f"{claim}: missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"{claim}: not a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise AuthError(f"{claim}: out of range") from exc


def _check_times(payload: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    iat = _numeric_date(payload, "iat")
    exp = _numeric_date(payload, "exp")
    if exp <= iat:
        raise AuthError("lifetime: exp is not after iat")
    if exp - iat > MAX_LIFETIME:
        seconds = f"{(exp - iat).total_seconds():.3f}".rstrip("0").rstrip(".")
        raise AuthError(f"lifetime: exp - iat is {seconds} s, "
                        f"over {MAX_LIFETIME.total_seconds():.0f} s")
    # now - skew, not exp + skew: an exp near the end of datetime's range (a signed
    # year 9999) must reach the checks below, not overflow into a 500.
    if now - MAX_SKEW > exp:
        raise AuthError("exp: expired")
    if iat > now + MAX_SKEW:
        raise AuthError("iat: iat in the future")
    if "nbf" in payload and _numeric_date(payload, "nbf") > now + MAX_SKEW:
        raise AuthError("nbf: not valid yet")
    return iat, exp


def _check_htu(htu: object, url: str) -> None:
    if htu is None:
        raise AuthError("htu: missing")
    if not isinstance(htu, str):
        raise AuthError("htu: not a string")
    try:
        claimed = normalise_htu(htu)
    except ValueError as exc:
        raise AuthError(f"htu: {exc}") from exc
    try:
        actual = normalise_htu(url)
    except ValueError as exc:
        raise AuthError(f"htu: request {exc}") from exc
    if claimed != actual:
        raise AuthError(f"htu: {claimed!r} is not the request URL {actual!r}")


def _check_body(claim: object, body: bytes | None) -> None:
    if body:
        if claim is None:
            raise AuthError("body_sha256: missing for a request with a body")
    elif claim is None:
        return
    if not isinstance(claim, str):
        raise AuthError("body_sha256: not a string")
    if not hmac.compare_digest(claim.encode("ascii", "replace"), body_digest(body or b"").encode()):
        raise AuthError("body_sha256: does not match the request body")
