"""Every token check of DESIGN.md §5 through HTTP, each with a real signed token."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from hub.context import HubContext
from hub.db.engine import session_scope
from hub.services import partner_keys
from tests.api.conftest import ADMIN, BASE, SignedClient, problem
from tests.api_auth.keys import claims, hs256, sign, unsigned

CHECKS = "/api/v1/checks"
BODY = orjson.dumps({"subjects": [{"id_number": "110105198503150019"}]})

Signed = Callable[[str], SignedClient]


def refused(response: object, check: str) -> dict[str, object]:
    body = problem(response)  # type: ignore[arg-type]
    assert body["status"] == 401
    assert body["check"] == check, body
    # Nothing of the data: the problem fields only.
    assert set(body) <= {"type", "title", "status", "detail", "check"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")  # type: ignore[attr-defined]
    return body


@pytest.mark.parametrize("partner", ["ndrc", "pbc"])  # EdDSA and ES256
def test_valid_request_is_answered(signed: Signed, partner: str) -> None:
    response = signed(partner).post(CHECKS, body=BODY)
    assert response.status_code == 200, response.data
    assert response.json == {"results": [{"id_number": "110105198503150019", "matches": []}]}


def test_replayed_jti_is_refused(signed: Signed) -> None:
    client = signed("ndrc")
    assert client.post(CHECKS, body=BODY).status_code == 200
    body = refused(client.post(CHECKS, body=BODY, token=client.last_token), "jti")
    assert "already used" in str(body["detail"])


def test_jti_of_another_partner_is_not_a_replay(signed: Signed) -> None:
    assert signed("ndrc").post(CHECKS, body=BODY, jti="shared-id").status_code == 200
    assert signed("pbc").post(CHECKS, body=BODY, jti="shared-id").status_code == 200


def test_expired_token_is_refused(signed: Signed) -> None:
    now = int(datetime.now(UTC).timestamp())
    refused(signed("ndrc").post(CHECKS, body=BODY, iat=now - 200, exp=now - 31), "exp")


def test_iat_in_the_future_beyond_skew_is_refused(signed: Signed) -> None:
    now = int(datetime.now(UTC).timestamp())
    refused(signed("ndrc").post(CHECKS, body=BODY, iat=now + 60, exp=now + 120), "iat")


def test_iat_within_skew_is_accepted(signed: Signed) -> None:
    now = int(datetime.now(UTC).timestamp())
    response = signed("ndrc").post(CHECKS, body=BODY, iat=now + 20, exp=now + 80)
    assert response.status_code == 200, response.data


def test_lifetime_over_300_seconds_is_refused(signed: Signed) -> None:
    now = int(datetime.now(UTC).timestamp())
    refused(signed("ndrc").post(CHECKS, body=BODY, iat=now, exp=now + 301), "lifetime")


def test_wrong_audience_is_refused(signed: Signed) -> None:
    refused(signed("ndrc").post(CHECKS, body=BODY, aud="another-hub"), "aud")


def test_alg_none_is_refused(signed: Signed) -> None:
    client = signed("ndrc")
    payload = claims(client.key, datetime.now(UTC), body=BODY, url=BASE + CHECKS)
    token = unsigned({"alg": "none", "typ": "JWT", "kid": client.key.kid}, payload)
    refused(client.post(CHECKS, body=BODY, token=token), "alg")


@pytest.mark.parametrize("partner", ["ndrc", "pbc"])
def test_hs256_signed_with_the_public_key_is_refused(signed: Signed, partner: str) -> None:
    # The classic confusion attack: the public key (known to anyone) used as an HMAC secret.
    client = signed(partner)
    payload = claims(client.key, datetime.now(UTC), body=BODY, url=BASE + CHECKS)
    token = hs256({"alg": "HS256", "typ": "JWT", "kid": client.key.kid}, payload,
                  client.key.public_pem)
    refused(client.post(CHECKS, body=BODY, token=token), "alg")


def test_es256_token_for_an_eddsa_key_is_refused(signed: Signed) -> None:
    ndrc, pbc = signed("ndrc"), signed("pbc")
    # Signed with pbc's P-256 key but naming ndrc's Ed25519 kid.
    payload = claims(ndrc.key, datetime.now(UTC), body=BODY, url=BASE + CHECKS)
    token = sign(pbc.key, payload, kid=ndrc.key.kid)
    refused(ndrc.post(CHECKS, body=BODY, token=token), "alg")


def test_unknown_kid_is_refused(signed: Signed) -> None:
    client = signed("ndrc")
    payload = claims(client.key, datetime.now(UTC), body=BODY, url=BASE + CHECKS)
    refused(client.post(CHECKS, body=BODY, token=sign(client.key, payload, kid="no-such-kid")),
            "kid")


def test_revoked_key_is_refused(signed: Signed, hub_ctx: HubContext) -> None:
    client = signed("ndrc")
    assert client.post(CHECKS, body=BODY).status_code == 200
    with session_scope(hub_ctx.sessions) as session:
        partner_keys.revoke_key(session, client.key.kid, actor=ADMIN, now=datetime.now(UTC))
    body = refused(client.post(CHECKS, body=BODY), "kid")
    assert "revoked" in str(body["detail"])


def test_htu_of_another_endpoint_is_refused(signed: Signed) -> None:
    client = signed("ndrc")
    token = client.token("POST", "/api/v1/acks", BODY)
    refused(client.post(CHECKS, body=BODY, token=token), "htu")


def test_htm_of_another_method_is_refused(signed: Signed) -> None:
    client = signed("ndrc")
    token = client.token("GET", CHECKS, BODY)
    refused(client.post(CHECKS, body=BODY, token=token), "htm")


def test_body_changed_after_signing_is_refused(signed: Signed) -> None:
    client = signed("ndrc")
    token = client.token("POST", CHECKS, BODY)
    changed = BODY.replace(b"0019", b"0027")
    refused(client.post(CHECKS, body=changed, token=token), "body_sha256")


def test_signature_of_another_key_is_refused(signed: Signed) -> None:
    ndrc, travelsky = signed("ndrc"), signed("travelsky")
    payload = claims(ndrc.key, datetime.now(UTC), body=BODY, url=BASE + CHECKS)
    token = sign(travelsky.key, payload, kid=ndrc.key.kid)  # both Ed25519
    refused(ndrc.post(CHECKS, body=BODY, token=token), "signature")


def test_iss_of_another_partner_is_refused(signed: Signed) -> None:
    refused(signed("ndrc").post(CHECKS, body=BODY, iss="pbc", sub="pbc"), "iss")


def test_missing_or_malformed_authorization_is_refused(app: object) -> None:
    client = app.test_client()  # type: ignore[attr-defined]
    refused(client.post(CHECKS, data=BODY), "authorization")
    refused(client.post(CHECKS, data=BODY, headers={"Authorization": "Bearer x.y"}), "header")


def test_partner_without_api_access_is_refused(signed: Signed) -> None:
    body = refused(signed("lao").post(CHECKS, body=BODY), "iss")
    assert "no API access" in str(body["detail"])


def test_refused_request_does_not_use_up_its_jti(signed: Signed) -> None:
    client = signed("ndrc")
    refused(client.post(CHECKS, body=BODY, jti="retry-me", aud="another-hub"), "aud")
    assert client.post(CHECKS, body=BODY, jti="retry-me").status_code == 200


def test_body_is_not_parsed_before_the_token_passes(signed: Signed) -> None:
    # A malformed body with a bad token: the answer is about the token, not the body.
    refused(signed("ndrc").post(CHECKS, body=b"{not json", aud="another-hub"), "aud")


@pytest.mark.parametrize("kid", ["\x00", "k\x1bid", "\ud800"])
def test_a_kid_no_key_can_have_is_unknown(signed: Signed, kid: str) -> None:
    """The kid is read before any signature is checked: whatever a caller puts there is
    a 401, never a lookup PostgreSQL refuses (a 500)."""
    client = signed("ndrc")
    payload = claims(client.key, datetime.now(UTC), body=BODY, url=BASE + CHECKS)
    if kid == "\ud800":  # no JSON encoder writes a lone surrogate: the header by hand
        header = base64.urlsafe_b64encode(b'{"alg":"EdDSA","kid":"\\ud800"}').rstrip(b"=")
        genuine = sign(client.key, payload)
        token = header.decode() + genuine[genuine.index("."):]
    else:
        token = sign(client.key, payload, kid=kid)
    refused(client.post(CHECKS, body=BODY, token=token), "kid")


@pytest.mark.parametrize("jti", ["\x00", "j\x1bti"])
def test_a_jti_no_store_can_keep_is_refused(signed: Signed, jti: str) -> None:
    client = signed("ndrc")
    refused(client.post(CHECKS, body=BODY, jti=jti), "jti")


def test_an_exp_at_the_end_of_time_is_a_401_not_a_500(signed: Signed) -> None:
    """A signed token whose exp is the last second a datetime holds (lifetime 9 s): the
    expiry test must not overflow computing exp + skew."""
    client = signed("ndrc")
    exp = 253402300799  # 9999-12-31T23:59:59Z
    token = client.token("GET", "/api/v1/changes", None, iat=exp - 9, exp=exp)
    response = client.get("/api/v1/changes", token=token)
    assert response.status_code == 401
    assert problem(response)["check"] == "iat"
