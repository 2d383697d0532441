"""The hub's Ed25519 signatures: JWK thumbprints, public JWKs and detached JWS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.errors import AuthError, InvalidValue

#: The one algorithm the hub signs with and accepts for its own keys; pinned so
#: a forged header can never pick ``none`` or an HMAC with the public key as secret.
ALGORITHM: Final = "EdDSA"

_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")

#: RFC 7638 §3.2: the members that make up the thumbprint of each key type.
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "oct": ("k", "kty"),
}


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key and the ``kid`` it is published under."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key, self.kid)

    def sign_detached(self, payload: bytes) -> str:
        return sign_detached(payload, self.private_key, self.kid)


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, what: str) -> bytes:
    # The stdlib decoder skips characters outside the alphabet and ignores the
    # unused low bits of the last character; a signature must have exactly one
    # spelling, so the alphabet is checked first and the bytes must encode back to it.
    if not _B64URL.fullmatch(text):
        raise AuthError(f"{what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise AuthError(f"{what} is not base64url") from exc
    if b64url(raw) != text:
        raise AuthError(f"{what} is not canonical base64url (unused bits set)")
    return raw


def jwk_thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url): the ``kid`` of a key."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty", ""))
    if members is None:
        raise InvalidValue(f"unsupported JWK key type {jwk.get('kty')!r}")
    missing = [m for m in members if not isinstance(jwk.get(m), str)]
    if missing:
        raise InvalidValue(f"JWK lacks {', '.join(missing)}")
    # Lexicographic member order, no whitespace: the RFC's canonical form.
    canonical = orjson.dumps({m: jwk[m] for m in members}, option=orjson.OPT_SORT_KEYS)
    return b64url(hashlib.sha256(canonical).digest())


def public_jwk(private_key: Ed25519PrivateKey, kid: str) -> dict[str, str]:
    """The public half of ``private_key`` as an RFC 8037 JWK."""
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(raw),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


def sign_detached(payload: bytes, private_key: Ed25519PrivateKey, kid: str) -> str:
    """Compact JWS over ``payload`` with the payload segment left empty (RFC 7515 app. F).

    Built by hand: pyjwt's ``is_payload_detached`` switches to RFC 7797
    (``b64: false`` plus ``crit``), which many partners' JOSE stacks refuse.
    """
    header = orjson.dumps(
        {"alg": ALGORITHM, "kid": kid, "typ": "JOSE"}, option=orjson.OPT_SORT_KEYS
    )
    protected = b64url(header)
    signature = private_key.sign(f"{protected}.{b64url(payload)}".encode("ascii"))
    return f"{protected}..{b64url(signature)}"


def verify_detached(jws: str, payload: bytes, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Check a detached JWS made by :func:`sign_detached`; return its protected header.

    :raises AuthError: naming the check that failed.
    """
    parts = jws.strip().split(".")
    if len(parts) != 3:
        raise AuthError("not a compact JWS (expected three segments)")
    protected, attached, signature = parts
    if attached:
        raise AuthError("payload segment is not empty: not a detached JWS")
    header = _header(protected)
    if header.get("alg") != ALGORITHM:
        raise AuthError(f"alg {header.get('alg')!r} is not {ALGORITHM}")
    if "crit" in header or "b64" in header:
        # Only the plain appendix F form is produced; an extension we do not
        # implement must be refused (RFC 7515 §4.1.11), not ignored.
        raise AuthError("crit/b64 extensions are not accepted")
    kid = header.get("kid")
    key = _find_key(jwks, kid)
    try:
        key.verify(
            _b64url_decode(signature, "signature"),
            f"{protected}.{b64url(payload)}".encode("ascii"),
        )
    except InvalidSignature as exc:
        raise AuthError(f"bad signature for kid {kid!r}") from exc
    return header


def _header(protected: str) -> dict[str, Any]:
    try:
        header = orjson.loads(_b64url_decode(protected, "protected header"))
    except orjson.JSONDecodeError as exc:
        raise AuthError("protected header is not JSON") from exc
    if not isinstance(header, dict):
        raise AuthError("protected header is not a JSON object")
    return header


def _find_key(jwks: Mapping[str, Any], kid: object) -> Ed25519PublicKey:
    if not isinstance(kid, str) or not kid:
        raise AuthError("header has no kid")
    keys = jwks.get("keys")
    candidates = keys if isinstance(keys, list) else []
    jwk = next((k for k in candidates if isinstance(k, Mapping) and k.get("kid") == kid), None)
    if jwk is None:
        raise AuthError(f"unknown kid {kid!r}")
    if (jwk.get("kty"), jwk.get("crv"), jwk.get("alg", ALGORITHM)) != ("OKP", "Ed25519", ALGORITHM):
        raise AuthError(f"key {kid!r} is not an Ed25519 {ALGORITHM} key")
    raw = _b64url_decode(str(jwk.get("x", "")), f"key {kid!r} x")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise AuthError(f"key {kid!r} is not a valid Ed25519 public key") from exc
