"""``hub audit``: prove the audit log is whole."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import context
from hub.services.audit import verify

group = AppGroup("audit", help="The hash-chained audit log.")


@group.command("verify", help="Walk the chain; exit 1 naming the first bad entry.")
def verify_cmd() -> None:
    result = verify(context().engine)
    if not result.ok:
        click.echo(f"audit log BROKEN at entry {result.bad_id}: {result.problem} "
                   f"({result.checked} entries before it are intact)", err=True)
        raise SystemExit(1)
    click.echo(f"audit log intact: {result.checked} entries")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
