"""Production entry point: ``gunicorn wsgi:app`` (settings in gunicorn.conf.py)."""

from hub.api.setup import preload_partners
from hub.app import create_app

app = create_app()
# A broken partner file stops the server at boot, where the operator sees it.
preload_partners(app)
