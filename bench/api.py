"""Benchmark: the partner API under gunicorn vs a bare endpoint that only checks the token.

Loads N generated records into a fresh PostgreSQL database (the import path of
bench/export.py), registers an Ed25519 key for a JSON Lines partner (ndrc) and
a flight partner (travelsky) with an instance override that lifts their rate
limits, then serves, one after the other on loopback with the same
gunicorn.conf.py:

* the hub (``wsgi:app``), measured on ``GET /api/v1/changes`` (pages of 1000
  events, each client walking a few pages from a random cursor, as ndrc) and
  ``POST /api/v1/checks`` (100 IDs, half listed, half not, as travelsky);
* with ``--only ... changes-empty checks-1``, the hub's floors: a ``/changes``
  page at the high-water mark (no events) and a ``/checks`` of one unlisted ID,
  what every request of that endpoint costs before its work grows with the page
  or the IDs;
* ``bench/bare_app.py``: the same token checks (``verify_partner_token``, the
  key looked up in the database, the database replay store) and ``{}``.

Load comes from separate client processes (bench/api_load.py), each on one keep-alive connection,
signing a fresh token per request (that is part of a real client's cost, and
it shares the machine's cores with the server: read the ratios).

    .venv/bin/python bench/api.py --records 1000000 --duration 20
    .venv/bin/python bench/api.py --reuse        # keep the loaded database
    .venv/bin/python bench/api.py --reuse --rounds 3   # interleaved; medians, ratios per round
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy.engine import make_url

from hub.core.identifiers import resident_id_check_char

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))  # there already when run as a script; not when imported
import export as export_bench  # noqa: E402 - write_files; it brings import.py's fresh_database
from api_load import Figure, Job, run_load  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_api"
INSTANCE = Path(tempfile.gettempdir()) / "hub-bench-api" / "instance"
REDIS_URL = "redis://127.0.0.1:6379/6"
#: The partners measured: a JSON Lines one for the feed, a flight one for the checks.
FEED_PARTNER, CHECK_PARTNER = "ndrc", "travelsky"
TARGETS = {"checks_p99_ms": 50.0, "checks_ratio": 0.50, "changes_ratio": 0.25}


# --- data -------------------------------------------------------------------------------

def load(n: int, url: str, hub: str, env: dict[str, str]) -> None:
    export_bench.fresh_database(url)
    with tempfile.TemporaryDirectory(prefix="hub-bench-api-") as tmp:
        listings, orders = export_bench.write_files(Path(tmp), n)
        subprocess.run([hub, "db", "upgrade"], env=env, check=True, capture_output=True)
        for kind, path in (("listings", listings), ("restrictions", orders)):
            start = time.perf_counter()
            subprocess.run([hub, kind, "import", str(path)], env=env, check=True,
                           capture_output=True)
            print(f"  imported {kind} in {time.perf_counter() - start:.0f} s", flush=True)
    # Autovacuum would analyze the fresh tables within a minute or so; until then the
    # planner's guesses are those of empty tables. Measure the steady state.
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute("ANALYZE")


def override_limits(instance: Path) -> None:
    """Instance overrides: limits far above what the bench can send."""
    folder = instance / "partners"
    folder.mkdir(parents=True, exist_ok=True)
    for partner in (FEED_PARTNER, CHECK_PARTNER):
        (folder / f"{partner}.toml").write_text('[api]\nrate_limit = "1000000/minute"\n')


def register_key(hub: str, env: dict[str, str], partner: str, folder: Path) -> tuple[str, bytes]:
    key = Ed25519PrivateKey.generate()
    pem = folder / f"{partner}.pub.pem"
    pem.write_bytes(key.public_key().public_bytes(Encoding.PEM,
                                                  PublicFormat.SubjectPublicKeyInfo))
    done = subprocess.run([hub, "partners", "add-key", partner, str(pem)], env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip(), key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                  NoEncryption())


def sample_ids(dsn: str, n: int) -> tuple[list[str], list[str], int]:
    """``n`` listed IDs (subjects and bound persons), ``n`` unlisted ones, the high-water."""
    with psycopg.connect(dsn) as conn:
        listed = [r[0] for r in conn.execute(
            "SELECT id_number FROM (SELECT id_number FROM restrictions WHERE status = 'active'"
            " UNION SELECT id_number FROM bound_persons"
            " UNION SELECT id_number FROM listings WHERE status = 'active') ids"
            " ORDER BY random() LIMIT %s", (n,))]
        top = conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
    rng = random.Random(7)
    unlisted = []
    for _ in range(n):
        born = date(1960, 1, 1).toordinal() + rng.randrange(15000)
        first17 = f"110105{date.fromordinal(born):%Y%m%d}{rng.randrange(1000):03d}"
        unlisted.append(first17 + resident_id_check_char(first17))
    return listed, sorted(set(unlisted) - set(listed)), int(top[0]) if top else 0


# --- servers ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(app: str, port: int, env: dict[str, str], workers: int,
                 threads: int) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--pythonpath",
         f"{ROOT},{BENCH}", app], cwd=ROOT,
        env={**env, "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn {app} exited: {proc.stderr.read().decode()[-2000:]}"
                             if proc.stderr else f"gunicorn {app} exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn {app} did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- main -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("HUB_BENCH_API_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database a previous run loaded")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the endpoints this many times, interleaved; report medians")
    parser.add_argument("--only", nargs="+",
                        choices=("bare", "checks", "changes", "changes-empty", "checks-1"),
                        default=["bare", "checks", "changes"])
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    hub = str(Path(sys.executable).with_name("hub"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_"))}
    env.update(HUB_DATABASE_URL=args.database_url, HUB_INSTANCE_PATH=str(INSTANCE),
               REDIS_URL=REDIS_URL)
    dsn = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    if not args.reuse:
        print(f"loading {args.records:,} records into {args.database_url}", flush=True)
        load(args.records, args.database_url, hub, env)
    else:  # a database kept from an older checkout: its schema brought up to this one's
        subprocess.run([hub, "db", "upgrade"], env=env, check=True, capture_output=True)
    if args.load_only:
        return
    override_limits(INSTANCE)
    keys = {p: register_key(hub, env, p, INSTANCE) for p in (FEED_PARTNER, CHECK_PARTNER)}
    listed, unlisted, top = sample_ids(dsn, 5000)
    with psycopg.connect(dsn) as conn:
        records = conn.execute("SELECT (SELECT count(*) FROM listings)"
                               " + (SELECT count(*) FROM restrictions)").fetchone()
    print(f"{records[0] if records else 0:,} records, {top:,} change events; "
          f"{args.clients} client processes, gunicorn {args.workers} workers x "
          f"{args.threads} threads, {args.duration:.0f} s each after {args.warmup:.0f} s "
          f"warm-up, {os.cpu_count()} cores shared by clients and server", flush=True)

    plans = {
        "bare": ("bare_app:create_app()", FEED_PARTNER),
        "checks": ("wsgi:app", CHECK_PARTNER),
        "changes": ("wsgi:app", FEED_PARTNER),
        "changes-empty": ("wsgi:app", FEED_PARTNER),
        "checks-1": ("wsgi:app", CHECK_PARTNER),
    }

    def measure(name: str) -> Figure:
        app, partner = plans[name]
        port = free_port()
        server = start_server(app, port, env, args.workers, args.threads)
        try:
            kid, pem = keys[partner]
            start_at = time.time() + 3  # the spawned clients import before they start
            jobs = [Job(name, port, partner, kid, pem, start_at, args.warmup, args.duration,
                        seed=i, high_water=top, listed=listed, unlisted=unlisted)
                    for i in range(args.clients)]
            f: Figure = run_load(name, jobs, args.duration, server.pid,
                                 make_url(args.database_url).database or "")
        finally:
            stop_server(server)
        print(f"  {name:13} {f.rps:8.1f} req/s  p50 {f.p50_ms:7.1f} ms  p99 {f.p99_ms:7.1f} ms"
              f"  CPU/request: web {f.web_cpu_ms:5.1f} ms, db {f.db_cpu_ms:5.1f} ms"
              f"  ({f.requests} requests, {f.errors} errors; clients used "
              f"{f.client_cores:.2f} cores, other processes {f.other_cores:.2f})", flush=True)
        return f

    rounds: list[dict[str, Figure]] = []
    for i in range(args.rounds):
        if args.rounds > 1:
            print(f"round {i + 1} of {args.rounds}", flush=True)
        rounds.append({name: measure(name) for name in args.only})
    if args.rounds == 1:
        report(rounds[0])
    else:
        summary(rounds)


def summary(rounds: list[dict[str, Figure]]) -> None:
    """Each endpoint's median over the rounds, its ratio taken against the bare run of
    the same round: the machine's speed drifts between phases, less within a round."""
    print("\n| endpoint | req/s (median) | p50 ms | p99 ms | req/s vs bare, each round "
          "| median | web + db CPU ms/req | target |")
    print("|---|---|---|---|---|---|---|---|")
    for name in rounds[0]:
        figs = [r[name] for r in rounds]
        med = {k: statistics.median(getattr(f, k) for f in figs)
               for k in ("rps", "p50_ms", "p99_ms", "web_cpu_ms", "db_cpu_ms")}
        ratios = [r[name].rps / r["bare"].rps for r in rounds if "bare" in r]
        ratio = statistics.median(ratios) if ratios else None
        each = " / ".join(f"{x:.0%}" for x in ratios) or "-"
        print(f"| {name} | {med['rps']:.1f} | {med['p50_ms']:.1f} | {med['p99_ms']:.1f} | "
              f"{each} | {f'{ratio:.0%}' if ratio is not None else '-'} | "
              f"{med['web_cpu_ms']:.1f} + {med['db_cpu_ms']:.1f} | "
              f"{verdict(name, ratio, med['p99_ms'])} |")


def verdict(name: str, ratio: float | None, p99_ms: float) -> str:
    """The target column: ``ratio`` is the endpoint's req/s over the bare endpoint's."""
    if name == "bare":
        return "baseline"
    if name in ("changes-empty", "checks-1"):
        return "floor: no target"
    if ratio is None:
        return "-"
    if name == "checks":
        met = p99_ms < TARGETS["checks_p99_ms"] and ratio >= TARGETS["checks_ratio"]
        return f"p99 < 50 ms and >= 50% of bare: {'met' if met else 'not met'}"
    met = ratio >= TARGETS["changes_ratio"]
    return f">= 25% of bare: {'met' if met else 'not met'}"


def report(figures: dict[str, Figure]) -> None:
    bare = figures.get("bare")
    print("\n| endpoint | req/s | p50 ms | p99 ms | req/s vs bare | web + db CPU ms/req "
          "| cores used by clients / others | target |")
    print("|---|---|---|---|---|---|---|---|")
    for name, f in figures.items():
        ratio = f.rps / bare.rps if bare else None
        print(f"| {name} | {f.rps:.1f} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | "
              f"{f'{ratio:.0%}' if ratio is not None else '-'} | "
              f"{f.web_cpu_ms:.1f} + {f.db_cpu_ms:.1f} | {f.client_cores:.2f} / "
              f"{f.other_cores:.2f} | {verdict(name, ratio, f.p99_ms)} |")


if __name__ == "__main__":
    main()
