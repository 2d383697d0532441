"""Real partner keys and tokens for the API auth tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from hub.core.request_auth import KeyInfo, body_digest
from hub.core.signing import jwk_thumbprint
from hub.services.partner_keys import public_key_jwk

AUDIENCE = "joint-sanction-hub"
URL = "https://hub.example.cn/api/v1/checks"


@dataclass(frozen=True)
class PartnerKeyPair:
    partner: str
    private_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    algorithm: str
    jwk: dict[str, str]
    kid: str

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())

    def info(self, *, revoked: bool = False) -> KeyInfo:
        return KeyInfo(kid=self.kid, partner=self.partner, algorithm=self.algorithm,
                       public_jwk=self.jwk, revoked=revoked)


def make_key(partner: str, kind: str) -> PartnerKeyPair:
    private_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if kind == "Ed25519":
        private_key = Ed25519PrivateKey.generate()
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    algorithm, jwk = public_key_jwk(pem)
    return PartnerKeyPair(partner, private_key, algorithm, jwk, jwk_thumbprint(jwk))


def claims(key: PartnerKeyPair, now: datetime, *, body: bytes | None = None,
           method: str = "POST", url: str = URL, lifetime: int = 120,
           **overrides: Any) -> dict[str, Any]:
    iat = int(now.timestamp())
    payload: dict[str, Any] = {
        "iss": key.partner, "sub": key.partner, "aud": AUDIENCE,
        "iat": iat, "exp": iat + lifetime, "jti": str(uuid.uuid4()),
        "htm": method, "htu": url,
    }
    if body is not None:
        payload["body_sha256"] = body_digest(body)
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def sign(key: PartnerKeyPair, payload: dict[str, Any], *, algorithm: str | None = None,
         kid: str | None = None) -> str:
    return jwt.encode(payload, key.private_key, algorithm=algorithm or key.algorithm,
                      headers={"kid": kid or key.kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(payload))}."


def hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(payload))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"
