"""The bench's baseline: a Flask app that checks a partner token as the hub does, then ``{}``.

Same ``verify_partner_token``, same key lookup in the database, same replay
store as the hub's (Redis when ``REDIS_URL`` is set); no rate limit, no view,
no OpenAPI machinery. Served by the same gunicorn.conf.py as the hub:
``gunicorn --pythonpath bench 'bare_app:create_app()'``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, Response, request

from hub.api.setup import replay_store
from hub.context import HubContext
from hub.core.request_auth import verify_partner_token
from hub.errors import AuthError
from hub.services.partner_keys import lookup
from hub.settings import Settings


def create_app() -> Flask:
    ctx = HubContext.build(Settings.from_env())
    replay = replay_store(ctx)
    app = Flask(__name__)

    @app.route("/bare", methods=["GET", "POST"])
    def bare() -> Response:
        _, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            with ctx.sessions() as session:
                claims = verify_partner_token(
                    token.strip(), keys=lambda kid: lookup(session, kid),
                    audience=ctx.settings.audience, method=request.method,
                    url=request.base_url, body=request.get_data(cache=True),
                    now=datetime.now(UTC))
        except AuthError as exc:
            return Response(str(exc), status=401)
        if not replay.remember(claims.jti, claims.partner, claims.exp, claims.iat):
            return Response("replay", status=401)
        return Response(b"{}", mimetype="application/json")

    return app
