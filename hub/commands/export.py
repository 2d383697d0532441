"""``hub export`` and ``hub batches``: write a partner's batch, review held ones."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import click
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from hub.commands.common import cli_actor, context
from hub.config.partners import load_adapters
from hub.errors import HubError
from hub.keystore import KeyStore
from hub.services.batches import export_batch, list_batches, release_batch

#: Exit status of an export whose batch the release gate held: written, not to be sent
#: until an operator releases it, which a nightly job's monitor must see.
HELD_EXIT: Final = 3


@click.command("export", help="Write PARTNER's next batch (a delta, or a full snapshot). "
               f"Exits {HELD_EXIT} when the release gate holds the batch for an operator.")
@click.argument("partner")
@click.option("--full", is_flag=True, help="A full snapshot instead of a delta.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the files (default: <instance>/outbox/PARTNER).")
@with_appcontext
def export(partner: str, full: bool, out: Path | None) -> None:
    ctx = context()
    try:
        adapters = load_adapters(ctx.settings)
        if partner not in adapters:
            raise click.BadParameter(f"no partner {partner!r}", param_hint="PARTNER")
        result = export_batch(
            ctx.engine, ctx.sessions, adapters[partner], KeyStore(ctx.settings.instance_path),
            out_dir=out or ctx.settings.instance_path / "outbox" / partner, full=full,
            actor=cli_actor(),
        )
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:  # the folder: not one, not writable, full...
        raise click.ClickException(f"cannot write the batch to {exc.filename or out}: "
                                   f"{exc.strerror or exc}") from exc
    click.echo(f"{result.kind} batch {result.batch_id}: events {result.from_seq}..{result.to_seq},"
               f" {result.counts['records']} record(s) ({result.counts['active']} active, "
               f"{result.counts['exits']} exits) -> {result.manifest_path}")
    if result.held_reason:
        click.echo(f"HELD for review: {result.held_reason}. Release it with "
                   f"`hub batches release {result.batch_id}`.", err=True)
        raise SystemExit(HELD_EXIT)


batches = AppGroup("batches", help="Batches written for partners.")


@batches.command("list", help="Batches, oldest first, with their status.")
@click.argument("partner", required=False)
def list_cmd(partner: str | None) -> None:
    for b in list_batches(context().sessions, partner):
        held = f"  held: {b.held_reason}" if b.status == "held" else ""
        click.echo(f"{b.batch_id}  {b.partner}  {b.kind}  {b.from_seq}..{b.to_seq}  "
                   f"{b.counts['records']} records  {b.status}{held}")


@batches.command("release", help="Let a held batch go out (the decision is audited).")
@click.argument("batch_id")
def release_cmd(batch_id: str) -> None:
    try:
        ctx = context()
        batch = release_batch(ctx.sessions, batch_id, KeyStore(ctx.settings.instance_path),
                              actor=cli_actor())
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot move the batch's files out of {exc.filename}: "
                                   f"{exc.strerror or exc}") from exc
    click.echo(f"batch {batch.batch_id} released: its files are in {batch.folder}")


def register(cli: FlaskGroup) -> None:
    cli.add_command(export)
    cli.add_command(batches)
