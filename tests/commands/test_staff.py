"""`hub staff add|list`: the password from stdin or a confirmed prompt, clear refusals."""

from __future__ import annotations

from click.testing import Result
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from hub.cli import cli
from hub.context import HubContext
from hub.core.passwords import verify_password
from hub.db.models import AuditEntry, StaffAccount

PASSWORD = "correct horse battery"


def add(runner: FlaskCliRunner, *args: str, input: str | None = None,
        username: str = "wang", court: str = "京0105", role: str = "clerk") -> Result:
    return runner.invoke(cli, ["staff", "add", username, "--court", court, "--role", role,
                               *args], input=input)


def accounts(ctx: HubContext) -> list[StaffAccount]:
    with ctx.sessions() as s:
        return list(s.scalars(select(StaffAccount).order_by(StaffAccount.username)))


def test_add_with_password_on_stdin(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    result = add(runner, "--password-stdin", input=PASSWORD + "\nignored second line\n")
    assert result.exit_code == 0, result.output
    assert result.output == "staff account wang added (clerk, court 京0105)\n"
    [account] = accounts(hub_ctx)
    assert (account.username, account.court_code, account.role, account.active) == (
        "wang", "京0105", "clerk", True)
    assert account.password_hash.startswith("scrypt$16384$8$1$")
    assert verify_password(PASSWORD, account.password_hash)
    assert PASSWORD not in account.password_hash
    with hub_ctx.sessions() as s:
        [entry] = s.scalars(select(AuditEntry))
    assert (entry.action, entry.target) == ("staff.add", "wang")
    assert entry.detail == {"court_code": "京0105", "role": "clerk"}


def test_add_with_prompt_asks_twice(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    result = add(runner, input=f"{PASSWORD}\n{PASSWORD}\n", role="judge")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # the prompt hides what is typed
    assert "staff account wang added (judge, court 京0105)" in result.output
    [account] = accounts(hub_ctx)
    assert verify_password(PASSWORD, account.password_hash)


def test_prompt_mismatch_asks_again(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    result = add(runner, input=f"{PASSWORD}\nsomething else!!\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert len(accounts(hub_ctx)) == 1


def test_duplicate_username_is_an_error(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    assert add(runner, "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    again = add(runner, "--password-stdin", input="another long password\n", court="沪0115")
    assert again.exit_code == 1
    assert "Error: staff account 'wang' already exists" in again.output
    [account] = accounts(hub_ctx)
    assert account.court_code == "京0105"
    assert verify_password(PASSWORD, account.password_hash)


def test_short_password_is_refused(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    result = add(runner, "--password-stdin", input="elevenchars\n")
    assert result.exit_code == 1
    assert "password: must be at least 12 characters" in result.output
    assert accounts(hub_ctx) == []


def test_every_bad_field_is_named(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    result = add(runner, "--password-stdin", input="short\n", username="Wang Wei",
                 court="nowhere")
    assert result.exit_code == 1
    for field in ("username:", "court_code:", "password:"):
        assert field in result.output
    assert accounts(hub_ctx) == []


def test_unknown_role_and_empty_stdin_are_usage_errors(
    hub_ctx: HubContext, runner: FlaskCliRunner,
) -> None:
    bad_role = add(runner, "--password-stdin", input=PASSWORD + "\n", role="janitor")
    assert bad_role.exit_code == 2
    assert "'janitor' is not one of 'clerk', 'judge', 'admin'" in bad_role.output
    empty = add(runner, "--password-stdin", input="")
    assert empty.exit_code == 2
    assert "no password on the first line of stdin" in empty.output
    assert accounts(hub_ctx) == []


def test_list(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    assert add(runner, "--password-stdin", input=PASSWORD + "\n", username="zhao",
               role="admin").exit_code == 0
    assert add(runner, "--password-stdin", input=PASSWORD + "\n", username="liu",
               court="沪0115").exit_code == 0
    result = runner.invoke(cli, ["staff", "list"])
    assert result.exit_code == 0, result.output
    assert result.output == "liu\t沪0115\tclerk\tactive\nzhao\t京0105\tadmin\tactive\n"
