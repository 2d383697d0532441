"""gunicorn settings for the hub: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Command-line flags override these (``--bind``, ``--workers``, ``--threads``).
Web processes are stateless (DESIGN.md §7): to scale, start more of them,
here or on other machines, against the same PostgreSQL and Redis.
"""

import os

bind = "127.0.0.1:8000"  # behind the TLS proxy; set HUB_PUBLIC_URL to what partners call
#: One process per core: token checks, projection and JSON are CPU work in Python.
workers = os.cpu_count() or 1
#: Threads overlap the database round trips (key lookup, replay store, queries).
worker_class = "gthread"
threads = 4
#: A worker silent this long is restarted. /snapshot streams a spooled file, so even a
#: large one keeps writing; 120 s only catches a stuck worker.
timeout = 120
graceful_timeout = 30
#: Partners page /changes back to back: keep their connection open between pages.
keepalive = 5
#: Recycle workers now and then so slow leaks cannot grow without bound.
max_requests = 20000
max_requests_jitter = 2000
#: Access is audited in the database (partner_access); the proxy logs requests.
accesslog = None
errorlog = "-"


def post_worker_init(worker: object) -> None:
    """Move everything the loaded app holds out of the garbage collector's sight.

    A /changes page allocates some 100k objects, so collections run several
    times per request, and each older-generation pass walked every module,
    class and schema of the app as well: a sixth of the page's CPU time.
    """
    import gc

    gc.freeze()
