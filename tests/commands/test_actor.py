"""Who the audit names for a command-line change."""

from __future__ import annotations

import os

import pytest

from hub.commands.common import cli_actor


def test_a_user_with_no_name_is_named_by_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's uid with no passwd entry and no USER or LOGNAME, where getuser()
    raises. (Running as such a uid here is not possible: the interpreter lives under
    /root.) The audit then names the uid instead of the command failing."""
    def nameless() -> str:
        raise KeyError("getpwuid(): uid not found: 54321")

    monkeypatch.setattr("getpass.getuser", nameless)
    assert cli_actor().name == f"cli:uid{os.getuid()}"
    monkeypatch.undo()
    import getpass

    assert cli_actor().name == f"cli:{getpass.getuser()}"
