"""Registering, revoking and looking up partner keys; the database replay store; the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from hub.context import HubContext
from hub.core.request_auth import verify_partner_token
from hub.db.engine import session_scope
from hub.db.models import AuditEntry, PartnerKey, SeenToken
from hub.errors import Conflict, InvalidValue, NotFound
from hub.services import partner_keys
from hub.services.actors import Actor
from hub.services.replay import DatabaseReplayStore
from tests.api_auth.keys import AUDIENCE, URL, claims, make_key, sign
from tests.conftest import NOW, invoke

ACTOR = Actor("cli:test")
PARTNERS = ("pbc", "cac")


def _pem(private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | Ed448PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("kind", ["Ed25519", "P-256"])
def test_add_lookup_verify_revoke(hub_ctx: HubContext, kind: str) -> None:
    pair = make_key("pbc", kind)
    with session_scope(hub_ctx.sessions) as session:
        key = partner_keys.add_key(session, "pbc", pair.public_pem, known_partners=PARTNERS,
                                   actor=ACTOR, now=NOW)
        assert (key.kid, key.algorithm) == (pair.kid, pair.algorithm)
    token = sign(pair, claims(pair, NOW, method="GET"))
    with hub_ctx.sessions() as session:
        result = verify_partner_token(token, keys=lambda kid: partner_keys.lookup(session, kid),
                                      audience=AUDIENCE, method="GET", url=URL, body=None,
                                      now=NOW)
    assert (result.partner, result.kid) == ("pbc", pair.kid)
    with session_scope(hub_ctx.sessions) as session:
        partner_keys.revoke_key(session, pair.kid, actor=ACTOR, now=NOW)
    with hub_ctx.sessions() as session:
        info = partner_keys.lookup(session, pair.kid)
        assert info is not None
        assert info.revoked
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["partner_key.add", "partner_key.revoke"]


def test_add_refusals(hub_ctx: HubContext) -> None:
    pair = make_key("pbc", "Ed25519")
    with session_scope(hub_ctx.sessions) as session:
        with pytest.raises(NotFound, match="nosuch"):
            partner_keys.add_key(session, "nosuch", pair.public_pem, known_partners=PARTNERS,
                                 actor=ACTOR, now=NOW)
        with pytest.raises(InvalidValue, match="private key"):
            partner_keys.add_key(session, "pbc", pair.private_pem, known_partners=PARTNERS,
                                 actor=ACTOR, now=NOW)
        for bad in (_pem(rsa.generate_private_key(65537, 2048)),
                    _pem(ec.generate_private_key(ec.SECP384R1())),
                    _pem(Ed448PrivateKey.generate()), b"not a pem"):
            with pytest.raises(InvalidValue):
                partner_keys.add_key(session, "pbc", bad, known_partners=PARTNERS,
                                     actor=ACTOR, now=NOW)
        partner_keys.add_key(session, "pbc", pair.public_pem, known_partners=PARTNERS,
                             actor=ACTOR, now=NOW)
        with pytest.raises(Conflict):
            partner_keys.add_key(session, "cac", pair.public_pem, known_partners=PARTNERS,
                                 actor=ACTOR, now=NOW)
    with session_scope(hub_ctx.sessions) as session:
        with pytest.raises(NotFound):
            partner_keys.revoke_key(session, "nope", actor=ACTOR, now=NOW)
        partner_keys.revoke_key(session, pair.kid, actor=ACTOR, now=NOW)
        with pytest.raises(Conflict, match="already revoked"):
            partner_keys.revoke_key(session, pair.kid, actor=ACTOR, now=NOW)


def test_replayed_jti_is_refused(hub_ctx: HubContext) -> None:
    store = DatabaseReplayStore(hub_ctx.sessions, clock=lambda: NOW)
    exp = NOW + timedelta(seconds=120)
    assert store.remember("jti-1", "pbc", exp) is True
    assert store.remember("jti-1", "pbc", exp) is False
    assert store.remember("jti-2", "pbc", exp) is True
    # Another partner that happens to pick the same jti is not blocked by pbc's.
    assert store.remember("jti-1", "railway", exp) is True


def test_replay_of_a_real_token(hub_ctx: HubContext) -> None:
    pair = make_key("pbc", "P-256")
    store = DatabaseReplayStore(hub_ctx.sessions, clock=lambda: NOW)
    token = sign(pair, claims(pair, NOW, method="GET"))
    seen = []
    for _ in range(2):
        c = verify_partner_token(token, keys=lambda _kid: pair.info(), audience=AUDIENCE,
                                 method="GET", url=URL, body=None, now=NOW)
        seen.append(store.remember(c.jti, c.partner, c.exp))
    assert seen == [True, False]


def test_purge_drops_only_rows_past_exp_and_skew(hub_ctx: HubContext) -> None:
    clock = [NOW]
    store = DatabaseReplayStore(hub_ctx.sessions, clock=lambda: clock[0],
                                             purge_every=1)
    store.remember("old", "pbc", NOW - timedelta(seconds=31))
    store.remember("recent", "pbc", NOW - timedelta(seconds=29))
    clock[0] = NOW + timedelta(microseconds=1)
    store.remember("new", "pbc", NOW + timedelta(seconds=60))
    with hub_ctx.sessions() as session:
        left = set(session.scalars(select(SeenToken.jti)))
    assert left == {"recent", "new"}


def test_cli_add_and_revoke(runner: FlaskCliRunner, hub_ctx: HubContext, tmp_path: Path) -> None:
    pair = make_key("ndrc", "Ed25519")
    pem = tmp_path / "ndrc.pem"
    pem.write_bytes(pair.public_pem)
    result = invoke(runner, "partners", "add-key", "ndrc", pem)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == pair.kid
    again = invoke(runner, "partners", "add-key", "ndrc", pem)
    assert again.exit_code == 1
    assert "already registered" in again.output

    revoked = invoke(runner, "partners", "revoke-key", pair.kid)
    assert revoked.exit_code == 0, revoked.output
    assert pair.kid in revoked.output
    with hub_ctx.sessions() as session:
        row = session.get(PartnerKey, pair.kid)
        assert row is not None
        assert row.revoked_at is not None
        assert row.revoked_at.tzinfo is not None
        assert row.revoked_at <= datetime.now(UTC)
    assert invoke(runner, "partners", "revoke-key", pair.kid).exit_code == 1
    assert invoke(runner, "partners", "revoke-key", "no-such-kid").exit_code == 1
    # A revoked key is not brought back: the operator is told to ask for a new pair.
    readded = invoke(runner, "partners", "add-key", "ndrc", pem)
    assert readded.exit_code == 1
    assert f"key {pair.kid} of partner ndrc was revoked at" in readded.output
    assert "makes a new key pair" in readded.output


def test_cli_lists_a_partners_keys(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert invoke(runner, "partners", "keys", "ndrc").output == \
        "no key registered for partner ndrc\n"
    pairs = [make_key("ndrc", "Ed25519") for _ in range(2)]
    for i, pair in enumerate(pairs):
        (tmp_path / f"{i}.pem").write_bytes(pair.public_pem)
        assert invoke(runner, "partners", "add-key", "ndrc", tmp_path / f"{i}.pem").exit_code == 0
    assert invoke(runner, "partners", "revoke-key", pairs[0].kid).exit_code == 0
    listed = invoke(runner, "partners", "keys", "ndrc")
    assert listed.exit_code == 0, listed.output
    first, second = listed.output.splitlines()
    assert first.startswith(f"{pairs[0].kid}  EdDSA ")
    assert "revoked" in first
    assert second.startswith(f"{pairs[1].kid}  EdDSA ")
    assert second.endswith("active")


def test_cli_refuses_a_key_of_the_other_algorithm(runner: FlaskCliRunner, hub_ctx: HubContext,
                                                  tmp_path: Path) -> None:
    pem = tmp_path / "pbc.pem"
    pem.write_bytes(make_key("pbc", "Ed25519").public_pem)  # pbc's file says ES256
    result = invoke(runner, "partners", "add-key", "pbc", pem)
    assert result.exit_code == 1
    assert "signs with ES256" in result.output
    assert "P-256" in result.output
    with hub_ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PartnerKey)) == 0


def test_cli_es256_kid(runner: FlaskCliRunner, tmp_path: Path) -> None:
    pair = make_key("pbc", "P-256")
    pem = tmp_path / "pbc.pem"
    pem.write_bytes(pair.public_pem)
    result = invoke(runner, "partners", "add-key", "pbc", pem)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == pair.kid


def test_cli_refuses_private_key_and_unknown_partner(runner: FlaskCliRunner,
                                                     hub_ctx: HubContext,
                                                     tmp_path: Path) -> None:
    pair = make_key("pbc", "Ed25519")
    private = tmp_path / "private.pem"
    private.write_bytes(pair.private_pem)
    result = invoke(runner, "partners", "add-key", "pbc", private)
    assert result.exit_code == 1
    assert "private key" in result.output
    public = tmp_path / "public.pem"
    public.write_bytes(pair.public_pem)
    unknown = invoke(runner, "partners", "add-key", "nosuch", public)
    assert unknown.exit_code == 1
    assert "nosuch" in unknown.output
    missing = invoke(runner, "partners", "add-key", "pbc", tmp_path / "absent.pem")
    assert missing.exit_code == 2
    with hub_ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PartnerKey)) == 0


def test_a_kid_beginning_with_a_dash_is_an_argument(runner: FlaskCliRunner,
                                                     hub_ctx: HubContext) -> None:
    # One thumbprint in 64 begins with "-"; the command must not read it as an option.
    result = invoke(runner, "partners", "revoke-key", "-Abc_dash-kid")
    assert result.exit_code == 1
    assert "no registered key -Abc_dash-kid" in result.output


#: An SM2 public key (GB/T 32918, the national standard an agency may well send).
SM2_PUBLIC = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEcYQKuM6STqtlRh7YQAZ9B9BXDbPD
q+MtWIQ1RF4UAvSFeF6iIRlc6VTm/e0+2FTzLarExud/7Ui3OgPPDuHVEQ==
-----END PUBLIC KEY-----
"""


def test_cli_refuses_an_sm2_key_by_name(runner: FlaskCliRunner, tmp_path: Path) -> None:
    pem = tmp_path / "sm2.pem"
    pem.write_bytes(SM2_PUBLIC)
    result = invoke(runner, "partners", "add-key", "pbc", pem)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "key type not accepted" in result.output
    assert "Ed25519 or P-256 only" in result.output
