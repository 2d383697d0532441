"""Thumbprints, public JWKs and detached JWS of hub.core.signing."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.core.signing import (
    SigningKey,
    b64url,
    jwk_thumbprint,
    public_jwk,
    sign_detached,
    verify_detached,
)
from hub.errors import AuthError, InvalidValue

#: RFC 8037 appendix A.1 (private) and A.3 (thumbprint).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
PAYLOAD = b'{\n  "batch_id": "x"\n}\n'


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    return SigningKey(jwk_thumbprint(public_jwk(private, "")), private)


def _jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


def test_thumbprint_matches_rfc8037() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert jwk_thumbprint(jwk) == RFC8037_THUMBPRINT
    # Members outside the RFC 7638 set (kid, alg, use) do not change it.
    assert jwk_thumbprint({**jwk, "kid": "k", "alg": "EdDSA", "use": "sig"}) == RFC8037_THUMBPRINT


def test_public_jwk_of_the_rfc8037_key() -> None:
    private = Ed25519PrivateKey.from_private_bytes(_b64decode(RFC8037_D))
    assert public_jwk(private, RFC8037_THUMBPRINT) == {
        "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X,
        "kid": RFC8037_THUMBPRINT, "alg": "EdDSA", "use": "sig",
    }


@pytest.mark.parametrize(("jwk", "reason"), [
    ({"kty": "XYZ"}, "unsupported JWK key type 'XYZ'"),
    ({"kty": "EC", "crv": "P-256", "x": "a"}, "JWK lacks y"),
])
def test_thumbprint_refuses_unknown_or_incomplete_keys(jwk: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason):
        jwk_thumbprint(jwk)


def test_detached_jws_has_an_empty_payload_and_a_fixed_header(key: SigningKey) -> None:
    jws = key.sign_detached(PAYLOAD)
    protected, middle, _ = jws.split(".")
    assert middle == ""
    assert json.loads(_b64decode(protected)) == {"alg": "EdDSA", "kid": key.kid, "typ": "JOSE"}
    assert verify_detached(jws, PAYLOAD, _jwks(key))["kid"] == key.kid


def test_pyjwt_verifies_it_once_the_payload_is_put_back(key: SigningKey) -> None:
    # A second implementation agrees on the signing input of RFC 7515 appendix F.
    protected, _, signature = sign_detached(PAYLOAD, key.private_key, key.kid).split(".")
    attached = f"{protected}.{b64url(PAYLOAD)}.{signature}"
    jwk = jwt.PyJWK(key.public_jwk())
    assert jwt.PyJWS().decode(attached, jwk, algorithms=["EdDSA"]) == PAYLOAD


def test_tampered_payload_fails(key: SigningKey) -> None:
    jws = key.sign_detached(PAYLOAD)
    with pytest.raises(AuthError, match="bad signature"):
        verify_detached(jws, PAYLOAD.replace(b"x", b"y"), _jwks(key))


def test_unknown_kid_fails(key: SigningKey) -> None:
    other = SigningKey("other", Ed25519PrivateKey.generate())
    with pytest.raises(AuthError, match="unknown kid"):
        verify_detached(key.sign_detached(PAYLOAD), PAYLOAD, _jwks(other))


def test_wrong_key_under_the_right_kid_fails(key: SigningKey) -> None:
    impostor = SigningKey(key.kid, Ed25519PrivateKey.generate())
    with pytest.raises(AuthError, match="bad signature"):
        verify_detached(impostor.sign_detached(PAYLOAD), PAYLOAD, _jwks(key))


def _forge(header: dict[str, Any], signature: bytes = b"sig") -> str:
    return f"{b64url(json.dumps(header).encode())}..{b64url(signature)}"


@pytest.mark.parametrize(("header", "reason"), [
    ({"alg": "none", "kid": "k"}, "alg 'none' is not EdDSA"),
    ({"alg": "HS256", "kid": "k"}, "alg 'HS256' is not EdDSA"),
    ({"kid": "k"}, "alg None is not EdDSA"),
    ({"alg": "EdDSA", "kid": "k", "b64": False, "crit": ["b64"]}, "crit/b64"),
    ({"alg": "EdDSA"}, "header has no kid"),
])
def test_forged_headers_fail(key: SigningKey, header: dict[str, Any], reason: str) -> None:
    with pytest.raises(AuthError, match=reason):
        verify_detached(_forge(header), PAYLOAD, _jwks(key))


def test_hmac_with_the_public_key_as_secret_fails(key: SigningKey) -> None:
    # The classic alg confusion: an HS256 MAC keyed with the published x.
    secret = key.public_jwk()["x"].encode()
    token = jwt.PyJWS().encode(PAYLOAD, secret, "HS256", headers={"kid": key.kid})
    protected, _, signature = token.split(".")
    with pytest.raises(AuthError, match="alg 'HS256'"):
        verify_detached(f"{protected}..{signature}", PAYLOAD, _jwks(key))


@pytest.mark.parametrize(("jws", "reason"), [
    ("a.b", "three segments"),
    ("a.b.c", "payload segment is not empty"),
    ("!!..c", "protected header is not base64url"),
    ("A..c", "protected header is not base64url"),  # a length no encoder makes
    (f"{b64url(b'[1]')}..c", "not a JSON object"),
    (f"{b64url(b'{')}..c", "not JSON"),
])
def test_malformed_jws_fails(key: SigningKey, jws: str, reason: str) -> None:
    with pytest.raises(AuthError, match=reason):
        verify_detached(jws, PAYLOAD, _jwks(key))


def test_signature_with_stray_characters_fails(key: SigningKey) -> None:
    jws = key.sign_detached(PAYLOAD)
    with pytest.raises(AuthError, match="signature is not base64url"):
        verify_detached(jws + "*", PAYLOAD, _jwks(key))


@pytest.mark.parametrize(("jwk", "reason"), [
    ({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}, "not an Ed25519 EdDSA key"),
    ({"kty": "OKP", "crv": "Ed25519", "alg": "Ed448"}, "not an Ed25519 EdDSA key"),
    ({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, "not a valid Ed25519 public key"),
])
def test_unusable_jwks_entries_fail(key: SigningKey, jwk: dict[str, str], reason: str) -> None:
    jwks = {"keys": [{**jwk, "kid": key.kid}]}
    with pytest.raises(AuthError, match=reason):
        verify_detached(key.sign_detached(PAYLOAD), PAYLOAD, jwks)


def test_signing_key_repr_hides_the_private_key(key: SigningKey) -> None:
    assert "private" not in repr(key)


def test_a_signature_has_one_spelling(key: SigningKey) -> None:
    """64 bytes take 86 characters, the last with 4 unused bits: another character there
    decodes to the same bytes, and must still be refused."""
    jws = sign_detached(PAYLOAD, key.private_key, key.kid)
    head, _, signature = jws.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = alphabet[alphabet.index(signature[-1]) ^ 1]
    respelled = f"{head}..{signature[:-1]}{other}"
    assert _b64decode(respelled.split(".")[2]) == _b64decode(signature)
    with pytest.raises(AuthError, match="signature is not canonical base64url"):
        verify_detached(respelled, PAYLOAD, _jwks(key))
