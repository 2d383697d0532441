"""The ``hub`` command: a Flask CLI group, so ``hub run`` serves the app."""

from __future__ import annotations

from flask.cli import FlaskGroup

from hub.app import create_app
from hub.commands import audit, db, demo, listings, partners, restrictions, upkeep

cli = FlaskGroup(create_app=lambda: create_app(), help="Joint-sanction data exchange hub.")
for module in (db, listings, restrictions, audit, demo, upkeep, partners):
    module.register(cli)


def main() -> None:
    cli.main(prog_name="hub")
