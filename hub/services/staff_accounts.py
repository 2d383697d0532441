"""Staff accounts: adding one (audited) and checking a username and password."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.identifiers import parse_court_code
from hub.core.passwords import dummy_hash, hash_password, verify_password
from hub.db.models import StaffAccount
from hub.errors import AuthError, Conflict, FieldProblem, InvalidRecord, InvalidValue, NotFound
from hub.services import audit
from hub.services.actors import Actor

ROLES: Final = ("clerk", "judge", "admin")
USERNAME_RE: Final = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD: Final = 12
#: Long enough for any passphrase; a bound so a login body cannot be made costly.
MAX_PASSWORD: Final = 1024
#: One message for an unknown user, a wrong password and a disabled account,
#: so a caller cannot learn which usernames exist.
BAD_CREDENTIALS: Final = "credentials: unknown user or wrong password"


def normalise_username(username: str) -> str:
    """The form an account's username is stored in: accounts are lowercase
    (:data:`USERNAME_RE`), so ``WANG`` at a login is ``wang``."""
    return username.lower()


def check_password_rules(password: str) -> None:
    """:raises InvalidValue: the password is too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidValue(f"must be at most {MAX_PASSWORD} characters")


def _validate(username: str, court_code: str, role: str, password: str) -> str:
    """Every problem at once; returns the normalised court code."""
    problems: list[FieldProblem] = []
    if USERNAME_RE.fullmatch(username) is None:
        problems.append(FieldProblem(
            "username", "must be 3 to 64 of a-z, 0-9, '.', '_' and '-'"))
    code = court_code.strip()
    if not code:
        problems.append(FieldProblem("court_code", "is required"))
    else:
        try:
            code = parse_court_code(code)
        except InvalidValue as exc:
            problems.append(FieldProblem("court_code", str(exc)))
    if role not in ROLES:
        problems.append(FieldProblem("role", f"must be one of {', '.join(ROLES)}"))
    try:
        check_password_rules(password)
    except InvalidValue as exc:
        problems.append(FieldProblem("password", str(exc)))
    if problems:
        raise InvalidRecord(problems)
    return code


def add_account(
    session: Session, username: str, court_code: str, role: str, password: str, *,
    actor: Actor, now: datetime,
) -> StaffAccount:
    """Create an active staff account in the caller's transaction.

    :raises InvalidRecord: naming every bad field. :raises Conflict: the username exists.
    """
    code = _validate(username, court_code, role, password)
    if session.scalar(select(StaffAccount.id).where(StaffAccount.username == username)):
        raise Conflict(f"staff account {username!r} already exists")
    account = StaffAccount(username=username, court_code=code, role=role,
                           password_hash=hash_password(password), active=True, created_at=now)
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:  # added by someone else since the check above
        raise Conflict(f"staff account {username!r} already exists") from exc
    # The password and its hash stay out of the audit log.
    audit.record(session, actor=actor.name, action="staff.add", target=username,
                 detail={"court_code": code, "role": role}, at=now)
    return account


def authenticate(session: Session, username: str, password: str) -> StaffAccount:
    """The active account ``username`` (in any case) if ``password`` is its password.

    :raises AuthError: :data:`BAD_CREDENTIALS`, the same for an unknown user, a
        wrong password and an inactive account, after the same scrypt work.
    """
    account = session.scalar(select(StaffAccount)
                             .where(StaffAccount.username == normalise_username(username)))
    if account is None:
        verify_password(password, dummy_hash())
        raise AuthError(BAD_CREDENTIALS)
    if not verify_password(password, account.password_hash) or not account.active:
        raise AuthError(BAD_CREDENTIALS)
    return account


def disable_account(session: Session, username: str, *, actor: Actor,
                    now: datetime) -> StaffAccount:
    """Disable ``username``: no new token, and its unexpired tokens stop working at once.

    :raises NotFound: no such account. :raises Conflict: already disabled.
    """
    account = session.scalar(select(StaffAccount).where(StaffAccount.username == username)
                             .with_for_update())
    if account is None:
        raise NotFound(f"no staff account {username!r}")
    if not account.active:
        raise Conflict(f"staff account {username!r} is already disabled")
    account.active = False
    audit.record(session, actor=actor.name, action="staff.disable", target=username,
                 detail={}, at=now)
    return account


def is_active(session: Session, username: str) -> bool:
    """Whether a staff token's account may still act (a primary-key-sized lookup)."""
    return bool(session.scalar(select(StaffAccount.active)
                               .where(StaffAccount.username == username)))


def list_accounts(session: Session) -> Sequence[StaffAccount]:
    return session.scalars(select(StaffAccount).order_by(StaffAccount.username)).all()
