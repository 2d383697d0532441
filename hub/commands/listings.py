"""``hub listings``: bulk import and the court's exits for a listing."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import cli_actor, context, utcnow
from hub.commands.imports import import_command
from hub.core.codes import REMOVAL_REASONS
from hub.db.engine import session_scope
from hub.errors import HubError
from hub.services import registry

group = AppGroup("listings", help="The list of dishonest judgment defaulters.")
group.add_command(import_command("listing"))


@group.command("remove", help="Remove a listing (删除) on a ground of Art. 10.")
@click.argument("listing_id")
@click.option("--reason", required=True, type=click.Choice(REMOVAL_REASONS))
def remove(listing_id: str, reason: str) -> None:
    try:
        with session_scope(context().sessions) as session:
            event = registry.remove_listing(
                session, listing_id, reason=reason, actor=cli_actor(), now=utcnow()
            )
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"listing {listing_id} removed ({reason}), event {event.seq}")


@group.command("revoke", help="Revoke a listing (撤销): it should never have been made.")
@click.argument("listing_id")
def revoke(listing_id: str) -> None:
    try:
        with session_scope(context().sessions) as session:
            event = registry.revoke_listing(session, listing_id, actor=cli_actor(), now=utcnow())
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"listing {listing_id} revoked, event {event.seq}")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
