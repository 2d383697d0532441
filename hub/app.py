"""Flask application factory."""

from __future__ import annotations

from typing import Any, Final

from flask import Flask, jsonify
from sqlalchemy import text

from hub.api.json_provider import JsonProvider
from hub.api.wellknown import bp as wellknown_bp
from hub.context import HubContext
from hub.current import hub_context
from hub.services.feed import high_water
from hub.settings import Settings

#: The largest request body outside the partner API (a staff login is a few dozen bytes).
MAX_REQUEST_BYTES: Final = 1024 * 1024


def create_app(settings: Settings | None = None, *, context: HubContext | None = None,
               api: bool = True) -> Flask:
    """Build the app; tests hand in a ``context`` to share its engine.

    ``api=False`` leaves the HTTP API out (its document, limiter and Redis client):
    the CLI's commands other than ``run`` need none of it, and it is a third of a
    command's start-up.
    """
    if context is None:
        context = HubContext.build(settings or Settings.from_env())
    settings = context.settings
    app = Flask(__name__, instance_path=str(settings.instance_path))
    # Every body is read whole before a view runs: without a cap, anyone could post
    # gigabytes to the login (the partner endpoints raise it to their own MAX_BODY).
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    app.json = JsonProvider(app)
    app.json.ensure_ascii = False  # names stay readable: 张伟
    app.extensions["hub"] = context
    app.register_blueprint(wellknown_bp)
    if api:
        from hub.api.setup import init_api  # imported only when serving

        init_api(app, context)

    @app.get("/healthz")
    def healthz() -> Any:
        ctx = hub_context()
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            seq = high_water(conn)
        extra: dict[str, str] = {}
        if api:
            from hub.api.setup import api_health

            extra = api_health(app)
        # Failing, not ok, while the partner API cannot answer anyone: a monitor that
        # reads only the status code must see it. Redis down is not failing (the
        # database's replay store answers).
        failing = extra.get("partners", "ok") != "ok"
        body = jsonify(status="failing" if failing else "ok",
                       database=ctx.engine.dialect.name, high_water=seq, **extra)
        return (body, 503) if failing else body

    return app
