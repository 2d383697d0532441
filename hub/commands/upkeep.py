"""``hub expire``: end listings and exemptions whose time has run out."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import FlaskGroup, with_appcontext

from hub.commands.common import context, utcnow
from hub.errors import Conflict, InvalidValue
from hub.services.expiry import check_as_of, run_expiry


@click.command("expire", help="Expire listings past their term and exemptions past 'until'.")
@click.option("--at", "at", default=None, metavar="ISO-DATETIME",
              help="Act as of this instant (default now; without a zone it is UTC, so "
                   "write +08:00 for Beijing time); for catching up on missed runs: "
                   "not later than now, nor earlier than the change log's last event.")
@with_appcontext
def expire(at: str | None) -> None:
    try:
        now = utcnow() if at is None else datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter(f"{at!r} is not an ISO 8601 date and time, e.g. "
                                 "2026-12-03T00:00:00+08:00", param_hint="--at") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if at is not None:
        try:
            check_as_of(context().sessions, now, now=utcnow())
        except InvalidValue as exc:  # wrong whatever the register holds: a usage error
            raise click.BadParameter(str(exc), param_hint="--at") from None
        except Conflict as exc:  # refused given what the log holds, like other refusals
            raise click.ClickException(str(exc)) from None
    report = run_expiry(context().sessions, now=now)
    click.echo(f"{report.listings_expired} listing(s) expired, "
               f"{report.exemptions_ended} exemption(s) ended")


def register(cli: FlaskGroup) -> None:
    cli.add_command(expire)
