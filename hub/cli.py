"""The ``hub`` command: a Flask CLI group, so ``hub run`` serves the app."""

from __future__ import annotations

import gc

import click
from flask import Flask
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

#: Commands that serve or inspect the HTTP app and so need the API in it.
SERVING = frozenset({"run", "routes", "shell"})


def _make_app() -> Flask:
    ctx = click.get_current_context(silent=True)
    return create_app(api=ctx is None or ctx.command.name in SERVING)


cli = FlaskGroup(create_app=_make_app, help="Joint-sanction data exchange hub.")
for module in (db, listings, restrictions, audit, demo, upkeep, partners, keys, staff,
               access):
    module.register(cli)
export_commands.register(cli)


def main() -> None:
    # Everything imported so far lives as long as the process: frozen, the
    # collector stops walking it on every older-generation pass, which a full
    # export (two objects a row, a million rows) triggers again and again; a
    # quarter of ``hub export``'s own CPU went there. gunicorn.conf.py does the
    # same for the web workers.
    gc.freeze()
    cli.main(prog_name="hub")
