"""The hub context of the Flask app handling the current request or command."""

from __future__ import annotations

from typing import cast

from flask import current_app

from hub.context import HubContext


def hub_context() -> HubContext:
    return cast(HubContext, current_app.extensions["hub"])
