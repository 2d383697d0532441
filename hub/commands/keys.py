"""``hub keys``: rotate, list and retire the hub's own signing keys."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import context, utcnow
from hub.errors import HubError
from hub.keystore import KeyStore

group = AppGroup("keys", help="The hub's signing keys (batch manifests, /.well-known/jwks.json).")


def _store() -> KeyStore:
    return KeyStore(context().settings.instance_path)


@group.command("rotate", help="New signing key; the old one stays published. Prints the kid.")
def rotate_cmd() -> None:
    try:
        kid = _store().rotate(utcnow())
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(kid)


@group.command("list", help="One line per key: kid, created (UTC), state.")
def list_cmd() -> None:
    try:
        entries = _store().entries()
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    if not entries:
        click.echo("no signing keys yet; `hub keys rotate` makes one", err=True)
        return
    click.echo(f"{'KID':<43}  {'CREATED':<20}  STATE")
    for e in entries:
        created = e.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        click.echo(f"{e.kid:<43}  {created:<20}  {e.state}")


@group.command("retire", help="Drop a published key from the JWKS and delete its private key "
                              "(refused while batches it signed are not acknowledged).",
               # A kid is base64url and may begin with "-": take it as the argument.
               context_settings={"ignore_unknown_options": True})
@click.argument("kid")
@click.option("--force", is_flag=True,
              help="Retire it although partners may still have to verify batches it signed.")
def retire_cmd(kid: str, force: bool) -> None:
    from hub.services.batches import signed_and_pending

    with context().sessions() as session:
        pending = [b.batch_id for b in signed_and_pending(session, kid)]
    if pending and not force:
        raise click.ClickException(
            f"{len(pending)} batch(es) signed with {kid} are not acknowledged yet (the first: "
            f"{', '.join(pending[:3])}); their partners verify them against the JWKS, which "
            "would no longer hold the key. Retire it once they are acknowledged, or --force.")
    try:
        _store().retire(kid)
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"key {kid} retired")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
