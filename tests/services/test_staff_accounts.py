"""Staff accounts: one refusal for an unknown user, a wrong password and a disabled account."""

from __future__ import annotations

import pytest

from hub.context import HubContext
from hub.db.engine import session_scope
from hub.errors import AuthError, Conflict, InvalidRecord
from hub.services.actors import Actor
from hub.services.staff_accounts import BAD_CREDENTIALS, add_account, authenticate
from tests.conftest import NOW

ADMIN = Actor("cli:test")
PASSWORD = "correct horse battery"


def test_authenticate(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        add_account(s, "wang", " 京0105 ", "clerk", PASSWORD, actor=ADMIN, now=NOW)
    with hub_ctx.sessions() as s:
        account = authenticate(s, "wang", PASSWORD)
        # Accounts are lowercase: the username typed in capitals is the same account.
        assert authenticate(s, "WANG", PASSWORD).id == account.id
    assert (account.username, account.court_code, account.role) == ("wang", "京0105", "clerk")
    assert account.created_at == NOW


@pytest.mark.parametrize(("username", "password"), [
    ("wang", "wrong password here"), ("nobody", PASSWORD), ("WANG", "wrong password here"),
])
def test_bad_credentials_one_message(hub_ctx: HubContext, username: str, password: str) -> None:
    with session_scope(hub_ctx.sessions) as s:
        add_account(s, "wang", "京0105", "clerk", PASSWORD, actor=ADMIN, now=NOW)
    with pytest.raises(AuthError) as err, hub_ctx.sessions() as s:
        authenticate(s, username, password)
    assert str(err.value) == BAD_CREDENTIALS


def test_inactive_account_gets_the_same_message(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        add_account(s, "wang", "京0105", "clerk", PASSWORD, actor=ADMIN, now=NOW).active = False
    with pytest.raises(AuthError) as err, hub_ctx.sessions() as s:
        authenticate(s, "wang", PASSWORD)
    assert str(err.value) == BAD_CREDENTIALS


def test_add_refuses_duplicates_and_bad_fields(hub_ctx: HubContext) -> None:
    with session_scope(hub_ctx.sessions) as s:
        add_account(s, "wang", "京0105", "clerk", PASSWORD, actor=ADMIN, now=NOW)
    with pytest.raises(Conflict), session_scope(hub_ctx.sessions) as s:
        add_account(s, "wang", "沪0115", "judge", PASSWORD, actor=ADMIN, now=NOW)
    with pytest.raises(InvalidRecord) as err, session_scope(hub_ctx.sessions) as s:
        add_account(s, "ab", "", "boss", "x" * 11, actor=ADMIN, now=NOW)
    assert [p.field for p in err.value.problems] == ["username", "court_code", "role",
                                                     "password"]
