"""``/.well-known/jwks.json``: the public keys partners verify the hub's batches with."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from flask import Blueprint, Response

from hub.current import hub_context
from hub.keystore import KeyStore

bp = Blueprint("wellknown", __name__)

#: Seconds partners may cache the set. A key made by rotation signs at once, so
#: a verifier meeting an unknown kid should refetch rather than wait this out.
MAX_AGE = 300


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    store = KeyStore(hub_context().settings.instance_path)
    # A fresh install has no key yet; making one here keeps `make run` to one command.
    store.ensure_active(datetime.now(UTC))
    response = Response(orjson.dumps(store.jwks()), mimetype="application/jwk-set+json")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response
