"""``hub access who-received ID``: which partners received a person's data, and when."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import context
from hub.config.partners import load_adapters
from hub.core.identifiers import normalise_id_number
from hub.services.access import who_received

group = AppGroup("access", help="The partner access record.")


@group.command("who-received",
               help="Every partner request and batch file that handed out data of the person "
                    "or organisation with this ID number: when, which channel (changes, "
                    "snapshot, checks, full or delta batch), which records and seqs.")
@click.argument("id_number")
def who_received_cmd(id_number: str) -> None:
    ctx = context()
    adapters = load_adapters(ctx.settings)
    with ctx.sessions() as session:
        found = who_received(session, id_number, adapters, ctx.subjects)
    if not found:
        click.echo(f"no partner has received data of {normalise_id_number(id_number)}")
        return
    click.echo("AT (UTC)              PARTNER          ENDPOINT  RECORDS  SEQS")
    for d in found:
        seqs = ",".join(str(s) for s in d.seqs)
        click.echo(f"{d.at:%Y-%m-%d %H:%M:%S}   {d.partner:<16} {d.endpoint:<9} "
                   f"{','.join(d.record_keys)}  {seqs}")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
