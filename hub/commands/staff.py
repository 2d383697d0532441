"""``hub staff add|disable|list``: court staff accounts for the staff API and UI."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import cli_actor, context, utcnow
from hub.db.engine import session_scope
from hub.errors import HubError
from hub.services import staff_accounts

group = AppGroup("staff", help="Court staff accounts.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, so `printf '%s\n' "$PW" | hub staff add ...` and a here-string both work.
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise click.UsageError("--password-stdin: no password on the first line of stdin")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@group.command("add", help="Add a staff account; the password is read from stdin "
                           "(--password-stdin) or prompted for twice.")
@click.argument("username")
@click.option("--court", "court_code", required=True, help="Court code, e.g. 京0105.")
@click.option("--role", required=True, type=click.Choice(staff_accounts.ROLES))
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin instead of prompting.")
def add_cmd(username: str, court_code: str, role: str, password_stdin: bool) -> None:
    password = _read_password(password_stdin)
    try:
        with session_scope(context().sessions) as session:
            account = staff_accounts.add_account(
                session, username, court_code, role, password, actor=cli_actor(), now=utcnow())
            court = account.court_code
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"staff account {username} added ({role}, court {court})")


@group.command("disable", help="Disable a staff account: it can get no new token, and the "
                               "tokens it holds stop working at once.")
@click.argument("username")
def disable_cmd(username: str) -> None:
    try:
        with session_scope(context().sessions) as session:
            staff_accounts.disable_account(session, username, actor=cli_actor(), now=utcnow())
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"staff account {username} disabled")


@group.command("list", help="One line per staff account: username, court, role, active.")
def list_cmd() -> None:
    with context().sessions() as session:
        for account in staff_accounts.list_accounts(session):
            state = "active" if account.active else "inactive"
            click.echo(f"{account.username}\t{account.court_code}\t{account.role}\t{state}")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
