"""Helpers every command uses: the hub context, the CLI actor, the clock."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime

from hub.context import HubContext
from hub.current import hub_context
from hub.services.actors import Actor


def context() -> HubContext:
    return hub_context()


def cli_actor() -> Actor:
    """The courts' case systems import through the CLI for every court."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        # A container's user with no name (no USER, LOGNAME or passwd entry): the
        # audit still needs one, so it is the numeric uid.
        user = f"uid{os.getuid()}"
    return Actor(f"cli:{user}")


def utcnow() -> datetime:
    return datetime.now(UTC)
