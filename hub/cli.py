"""The ``hub`` command: a Flask CLI group, so ``hub run`` serves the app."""

from __future__ import annotations

import gc
from importlib import import_module
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup

from hub.app import create_app
from hub.errors import ConfigError

#: Commands that serve or inspect the HTTP app and so need the API in it.
SERVING = frozenset({"run", "routes", "shell"})

#: Each of the hub's top-level commands and the module of hub.commands that
#: defines it (its ``register`` adds it). A module is imported when one of its
#: commands is asked for: ``hub export`` does not start by importing the
#: importer, the demo generator and the access record (~0.4 s of a full export's
#: start-up on the project's machine).
COMMANDS = {
    "access": "access", "audit": "audit", "batches": "export", "db": "db", "demo": "demo",
    "expire": "upkeep", "export": "export", "keys": "keys", "listings": "listings",
    "partners": "partners", "restrictions": "restrictions", "staff": "staff",
}


def _make_app() -> Flask:
    ctx = click.get_current_context(silent=True)
    return create_app(api=ctx is None or ctx.command.name in SERVING)


class HubGroup(FlaskGroup):
    """Flask's command group, with the hub's commands loaded on demand and without
    other packages' Flask commands (flask-limiter's would import rich and its own
    CLI, a tenth of a second of every command's start-up, for nothing the hub uses)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loaded_plugin_commands = True  # FlaskGroup then looks for none

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            import_module(f"hub.commands.{COMMANDS[cmd_name]}").register(self)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:
            # An unmigrated or unreachable database is the operator's to fix: one line
            # saying how, not a traceback through SQLAlchemy (every command hits it).
            from hub.db.engine import explain_failure
            from hub.settings import Settings

            message = explain_failure(exc, Settings.from_env().database_url)
            if message is None:
                raise
            raise click.ClickException(message) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | COMMANDS.keys())


cli = HubGroup(create_app=_make_app, help="Joint-sanction data exchange hub.")


def main() -> None:
    # Everything imported so far lives as long as the process: frozen, the
    # collector stops walking it on every older-generation pass, which a full
    # export (two objects a row, a million rows) triggers again and again; a
    # quarter of ``hub export``'s own CPU went there. gunicorn.conf.py does the
    # same for the web workers.
    gc.freeze()
    cli.main(prog_name="hub")
