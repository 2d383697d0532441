"""The ``hub`` command: a Flask CLI group, so ``hub run`` serves the app."""

from __future__ import annotations

from flask.cli import FlaskGroup

from hub.app import create_app
from hub.commands import (
    access,
    audit,
    db,
    demo,
    keys,
    listings,
    partners,
    restrictions,
    staff,
    upkeep,
)
from hub.commands import export as export_commands

cli = FlaskGroup(create_app=lambda: create_app(), help="Joint-sanction data exchange hub.")
for module in (db, listings, restrictions, audit, demo, upkeep, partners, keys, staff,
               access):
    module.register(cli)
export_commands.register(cli)


def main() -> None:
    cli.main(prog_name="hub")
