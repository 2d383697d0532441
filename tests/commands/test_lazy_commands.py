"""The hub's commands load on demand: the table in hub.cli must name every one."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from importlib import import_module

from flask.cli import FlaskGroup

import hub.commands
from hub.cli import COMMANDS


def test_table_names_every_command_of_every_module() -> None:
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(hub.commands.__path__):
        module = import_module(f"hub.commands.{info.name}")
        if not hasattr(module, "register"):
            continue  # helpers (common, imports)
        group = FlaskGroup(add_default_commands=False)
        module.register(group)
        found |= dict.fromkeys(group.commands, info.name)
    assert found == COMMANDS


def test_a_command_imports_only_its_own_module() -> None:
    code = ("import sys; from hub.cli import cli; cli.get_command(None, 'export'); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('hub.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert "hub.commands.export" in out
    # What other commands need and an export does not.
    assert not {"hub.commands.demo", "hub.commands.access", "hub.services.importer",
                "hub.commands.partner_keys"} & set(out)
