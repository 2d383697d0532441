"""``hub demo seed``: a synthetic data set that passes every rule."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import context, utcnow
from hub.services import demo

group = AppGroup("demo", help="Demo data.")


@group.command("seed", help="Import N synthetic subjects, then a little history.")
@click.option("--subjects", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--seed", "seed_value", default=2016, show_default=True, type=int,
              help="Same seed, same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when listings already exist.")
def seed_cmd(subjects: int, seed_value: int, if_empty: bool) -> None:
    ctx = context()
    if if_empty and not demo.is_empty(ctx.sessions):
        click.echo("demo seed skipped: the registry already has listings")
        return
    report = demo.seed(ctx.sessions, subjects=subjects, seed=seed_value, now=utcnow())
    click.echo(f"seeded {report.listings.added} listings, {report.restrictions.added} "
               f"restrictions, {report.history_events} later changes")


def register(cli: FlaskGroup) -> None:
    cli.add_command(group)
