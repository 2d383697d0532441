"""verify_partner_token against real EdDSA and ES256 tokens: each check, and its message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from hub.core.request_auth import Claims, KeyInfo, normalise_htu, verify_partner_token
from hub.errors import AuthError
from tests.api_auth.keys import (
    AUDIENCE,
    URL,
    PartnerKeyPair,
    claims,
    hs256,
    make_key,
    sign,
    unsigned,
)

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
BODY = b'{"subjects": [{"id_number": "110101199003077777"}]}'


@pytest.fixture(params=["Ed25519", "P-256"])
def key(request: pytest.FixtureRequest) -> PartnerKeyPair:
    return make_key("pbc", str(request.param))


def registry(*infos: KeyInfo) -> Callable[[str], KeyInfo | None]:
    table = {i.kid: i for i in infos}
    return table.get


def verify(token: str, key: PartnerKeyPair | None, *, revoked: bool = False,
           method: str = "POST", url: str = URL, body: bytes | None = BODY,
           now: datetime = NOW) -> Claims:
    keys = registry(key.info(revoked=revoked)) if key is not None else registry()
    return verify_partner_token(token, keys=keys, audience=AUDIENCE, method=method, url=url,
                                body=body, now=now)


def refused(token: str, key: PartnerKeyPair | None, check: str, **kwargs: Any) -> str:
    with pytest.raises(AuthError) as info:
        verify(token, key, **kwargs)
    message = str(info.value)
    assert check in message
    return message


def test_valid_token_gives_claims(key: PartnerKeyPair) -> None:
    payload = claims(key, NOW, body=BODY)
    result = verify(sign(key, payload), key)
    assert result == Claims(partner="pbc", jti=payload["jti"],
                            exp=datetime.fromtimestamp(payload["exp"], UTC), kid=key.kid,
                            iat=datetime.fromtimestamp(payload["iat"], UTC))
    assert key.algorithm == ("EdDSA" if key.jwk["kty"] == "OKP" else "ES256")


def test_get_without_body(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, method="GET", url=f"{URL}?after=5"))
    assert verify(token, key, method="GET", url=f"{URL}?after=5&limit=10", body=None).partner \
        == "pbc"


def test_within_skew_is_accepted(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, lifetime=60))
    verify(token, key, now=NOW + timedelta(seconds=60 + 30))
    early = sign(key, claims(key, NOW + timedelta(seconds=30), body=BODY))
    verify(early, key)


def test_expired(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, lifetime=60))
    message = refused(token, key, "expired", now=NOW + timedelta(seconds=60 + 31))
    assert message.startswith("exp:")


def test_iat_in_the_future_beyond_skew(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW + timedelta(seconds=31), body=BODY))
    refused(token, key, "iat in the future")


def test_lifetime_over_300_seconds(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, lifetime=301))
    refused(token, key, "lifetime")
    verify(sign(key, claims(key, NOW, body=BODY, lifetime=300)), key)


def test_a_token_of_no_lifetime_is_refused(key: PartnerKeyPair) -> None:
    """exp equal to iat: a token valid for no instant (its skew would make it one)."""
    token = sign(key, claims(key, NOW, body=BODY, lifetime=0))
    assert refused(token, key, "exp is not after iat").startswith("lifetime:")


def test_not_before_in_the_future_beyond_skew(key: PartnerKeyPair) -> None:
    """An nbf the partner set is honoured, with the same 30 s of skew as iat."""
    iat = int(NOW.timestamp())
    later = sign(key, claims(key, NOW, body=BODY, nbf=iat + 31))
    assert refused(later, key, "not valid yet").startswith("nbf:")
    verify(sign(key, claims(key, NOW, body=BODY, nbf=iat + 30)), key)


def test_a_jti_over_255_characters_is_refused(key: PartnerKeyPair) -> None:
    """The replay store keeps jti values in a 255-character column."""
    verify(sign(key, claims(key, NOW, body=BODY, jti="j" * 255)), key)
    token = sign(key, claims(key, NOW, body=BODY, jti="j" * 256))
    assert refused(token, key, "longer than 255").startswith("jti:")


@pytest.mark.parametrize("claim", ["iat", "exp", "jti", "aud", "iss", "sub", "htm", "htu"])
def test_missing_claim(key: PartnerKeyPair, claim: str) -> None:
    dropped: dict[str, Any] = {claim: None}
    token = sign(key, claims(key, NOW, body=BODY, **dropped))
    assert refused(token, key, claim).startswith(f"{claim}:")


@pytest.mark.parametrize(("where", "claim", "value"), [
    ("payload", "jti", 5), ("payload", "jti", ["a"]), ("header", "alg", ["EdDSA"])])
def test_a_claim_of_the_wrong_type_is_named_so_not_missing(
        key: PartnerKeyPair, where: str, claim: str, value: Any) -> None:
    """"jti: missing" for a jti that is there, as a number, sent a partner's engineer
    looking for a claim their token had."""
    payload = claims(key, NOW, body=BODY)
    header = {"alg": key.algorithm, "kid": key.kid}
    if where == "payload":
        payload[claim] = value
        token = sign(key, payload)
    else:
        header[claim] = value
        token = unsigned(header, payload)
    assert refused(token, key, claim) == f"{claim}: not a string"


def test_wrong_audience(key: PartnerKeyPair) -> None:
    refused(sign(key, claims(key, NOW, body=BODY, aud="another-hub")), key, "aud")
    refused(sign(key, claims(key, NOW, body=BODY, aud=[AUDIENCE, "x"])), key, "aud")


def test_alg_none(key: PartnerKeyPair) -> None:
    token = unsigned({"alg": "none", "kid": key.kid, "typ": "JWT"}, claims(key, NOW, body=BODY))
    refused(token, key, "alg")


def test_alg_missing(key: PartnerKeyPair) -> None:
    token = unsigned({"kid": key.kid}, claims(key, NOW, body=BODY))
    refused(token, key, "alg: missing")


@pytest.mark.parametrize("secret_kind", ["pem", "raw-jwk"])
def test_hs256_with_the_public_key_as_secret(key: PartnerKeyPair, secret_kind: str) -> None:
    secret = key.public_pem if secret_kind == "pem" else key.jwk["x"].encode()
    token = hs256({"alg": "HS256", "kid": key.kid, "typ": "JWT"},
                  claims(key, NOW, body=BODY), secret)
    refused(token, key, "alg")


def test_es256_token_for_an_eddsa_key() -> None:
    eddsa = make_key("pbc", "Ed25519")
    other = make_key("pbc", "P-256")
    # Signed by a P-256 key but naming the registered Ed25519 key's kid.
    token = sign(other, claims(eddsa, NOW, body=BODY), algorithm="ES256", kid=eddsa.kid)
    message = refused(token, eddsa, "alg")
    assert "EdDSA" in message


def test_eddsa_token_for_an_es256_key() -> None:
    es = make_key("pbc", "P-256")
    ed = make_key("pbc", "Ed25519")
    token = sign(ed, claims(es, NOW, body=BODY), algorithm="EdDSA", kid=es.kid)
    refused(token, es, "alg")


def test_signature_by_another_key_of_same_type(key: PartnerKeyPair) -> None:
    impostor = make_key("pbc", "Ed25519" if key.algorithm == "EdDSA" else "P-256")
    token = sign(impostor, claims(key, NOW, body=BODY), kid=key.kid)
    refused(token, key, "signature")


def test_tampered_payload(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY))
    head, _, sig = token.split(".")
    forged = sign(key, claims(key, NOW, body=BODY, sub="cac")).split(".")[1]
    refused(f"{head}.{forged}.{sig}", key, "signature")


@pytest.mark.parametrize(("payload", "reason"), [
    (b"[1, 2]", "not a JSON object"), (b'"pbc"', "not a JSON object"),
    (b'{"iss": "pbc"', "not JSON"), (b'{"iat": NaN}', "not JSON"),
])
def test_a_signed_payload_that_is_no_json_object(key: PartnerKeyPair, payload: bytes,
                                                 reason: str) -> None:
    """The signature holds; what fails is the payload, and the 401 says so."""
    token = jwt.PyJWS().encode(payload, key.private_key, algorithm=key.algorithm,
                               headers={"kid": key.kid})
    message = refused(token, key, "payload")
    assert message.startswith(f"payload: {reason}")


def test_a_lifetime_just_over_the_limit_says_by_how_much(key: PartnerKeyPair) -> None:
    payload = claims(key, NOW, body=BODY)
    payload["exp"] = payload["iat"] + 300.001
    assert refused(sign(key, payload), key, "lifetime") == \
        "lifetime: exp - iat is 300.001 s, over 300 s"


def test_unknown_kid(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY))
    refused(token, None, "unknown kid")


def test_missing_kid(key: PartnerKeyPair) -> None:
    token = unsigned({"alg": key.algorithm}, claims(key, NOW, body=BODY))
    refused(token, key, "kid: missing")


def test_revoked_key(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY))
    refused(token, key, "revoked key", revoked=True)


def test_htu_of_another_endpoint(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, url="https://hub.example.cn/api/v1/receipts"))
    refused(token, key, "htu")


def test_htu_other_host_or_scheme(key: PartnerKeyPair) -> None:
    for url in ("http://hub.example.cn/api/v1/checks", "https://evil.example/api/v1/checks",
                "https://hub.example.cn:8443/api/v1/checks"):
        refused(sign(key, claims(key, NOW, body=BODY, url=url)), key, "htu")


def test_htu_normalisation(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, url="HTTPS://Hub.Example.CN:443/api/v1/checks"))
    verify(token, key, url="https://hub.example.cn/api/v1/checks?x=1")


def test_normalise_htu() -> None:
    assert normalise_htu("HTTP://A.b:80/p?q#f") == "http://a.b/p"
    assert normalise_htu("https://a.b:8443") == "https://a.b:8443/"
    with pytest.raises(ValueError, match="absolute"):
        normalise_htu("/api/v1/checks")
    with pytest.raises(ValueError, match="user information"):
        normalise_htu("https://user:pass@hub.example.cn/api/v1/checks")


def test_htm_mismatch(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, method="GET"))
    refused(token, key, "htm")


def test_body_changed_after_signing(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY))
    refused(token, key, "body_sha256", body=BODY.replace(b"7777", b"7778"))


def test_body_without_claim(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW))
    refused(token, key, "body_sha256: missing")


def test_iss_not_sub(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, sub="cac"))
    assert refused(token, key, "sub").startswith("sub:")


def test_iss_of_another_partner(key: PartnerKeyPair) -> None:
    token = sign(key, claims(key, NOW, body=BODY, iss="cac", sub="cac"))
    assert refused(token, key, "iss").startswith("iss:")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "e30.e30."])
def test_unparsable_token(token: str) -> None:
    with pytest.raises(AuthError, match=r"^(header|alg)"):
        verify_partner_token(token, keys=registry(), audience=AUDIENCE, method="GET", url=URL,
                             body=None, now=NOW)
