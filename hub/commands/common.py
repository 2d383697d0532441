"""Helpers every command uses: the hub context, the CLI actor, the clock."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

from hub.context import HubContext
from hub.current import hub_context
from hub.services.actors import Actor


def context() -> HubContext:
    return hub_context()


def cli_actor() -> Actor:
    """The courts' case systems import through the CLI for every court."""
    return Actor(f"cli:{getpass.getuser()}")


def utcnow() -> datetime:
    return datetime.now(UTC)
