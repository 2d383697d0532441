"""Production entry point: ``gunicorn wsgi:app`` (settings in gunicorn.conf.py)."""

from hub.api.setup import preload_partners, require_public_url
from hub.app import create_app
from hub.current import hub_context

app = create_app()
with app.app_context():
    require_public_url(hub_context())
# A broken partner file stops the server at boot, where the operator sees it.
preload_partners(app)
