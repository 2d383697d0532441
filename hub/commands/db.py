"""``hub db``: schema migrations."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import context

group = AppGroup("db", help="Database schema.")


@group.command("upgrade", help="Migrate the database to the newest schema.")
def upgrade_cmd() -> None:
    from hub.db.migrate import upgrade  # alembic: a tenth of every hub command's start-up

    ctx = context()
    upgrade(ctx.engine)
    click.echo(f"database at the newest schema ({ctx.engine.dialect.name})")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
