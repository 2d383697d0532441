"""``hub restrictions``: bulk import and lifting of consumption-restriction orders."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import cli_actor, context, utcnow
from hub.commands.imports import import_command
from hub.core.codes import LIFT_REASONS
from hub.db.engine import session_scope
from hub.errors import HubError
from hub.services import registry

group = AppGroup("restrictions", help="High-consumption restriction orders.")
group.add_command(import_command("restriction"))


@group.command("lift", help="Lift a restriction order.")
@click.argument("order_id")
@click.option("--reason", required=True, type=click.Choice(LIFT_REASONS))
def lift(order_id: str, reason: str) -> None:
    try:
        with session_scope(context().sessions) as session:
            event = registry.lift_restriction(
                session, order_id, reason=reason, actor=cli_actor(), now=utcnow()
            )
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restriction {order_id} lifted ({reason}), event {event.seq}")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
