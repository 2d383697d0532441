"""Benchmark: full partner exports vs PostgreSQL's own COPY ... TO STDOUT of the same rows.

Imports N generated records (listings and their restriction orders) into a
fresh PostgreSQL database through `hub listings/restrictions import`, then, in
the same run, times `hub export PARTNER --full` for a JSON Lines partner
(ndrc), an XML partner (mps, the hub's own XSD) and a CSV partner (railway,
GB18030) against `COPY (SELECT ...) TO STDOUT (FORMAT csv)` of the listings and
orders, and reports each export's peak RSS (measured on the child process).

    .venv/bin/python bench/export.py --records 100000 1000000

With ``--reuse`` each size keeps its own database (``<database>_<N>``) and a
later run with the same N skips the import when that database holds it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
from sqlalchemy.engine import make_url

from hub.core import demo
from hub.core.timeutil import court_date

sys.path.insert(0, str(Path(__file__).resolve().parent))
from importlib import import_module

fresh_database = import_module("import").fresh_database
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_export"
PARTNERS = (("jsonl", "ndrc"), ("xml", "mps"), ("csv", "railway"))


def write_files(folder: Path, n: int) -> tuple[Path, Path]:
    """About n records: each subject gives an order and (mostly) a listing."""
    listings, orders = folder / "l.jsonl", folder / "r.jsonl"
    subjects = max(1, round(n / 1.9))
    today = court_date(datetime.now(UTC))
    with listings.open("wb") as lf, orders.open("wb") as rf:
        for kind, record in demo.generate(subjects, seed=3, today=today):
            (lf if kind == "listing" else rf).write(
                orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    return listings, orders


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall time and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss // 1024


def copy_baseline(dsn: str, path: Path) -> float:
    """Seconds PostgreSQL's own COPY of the listings and orders as CSV takes to a file."""
    with psycopg.connect(dsn) as conn:
        start = time.perf_counter()
        with path.open("wb") as out:
            for table in ("listings", "restrictions"):
                with conn.cursor().copy(
                    f"COPY (SELECT * FROM {table} ORDER BY 1) TO STDOUT (FORMAT csv)"
                ) as copy:
                    for block in copy:
                        out.write(block)
        took = time.perf_counter() - start
    path.unlink()
    return took


def _imported(url: str, n: int) -> str | None:
    """The DSN of a database a previous ``--reuse`` run filled with ``n`` records."""
    u = make_url(url)
    dsn = u.render_as_string(hide_password=False).replace("postgresql+psycopg://",
                                                          "postgresql://")
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT n FROM bench_imported").fetchone()
    except psycopg.Error:
        return None
    return dsn if row is not None and row[0] == n else None


def bench(n: int, url: str, hub: str, *, reuse: bool, repeat: int) -> None:
    if reuse:
        u = make_url(url)
        url = u.set(database=f"{u.database}_{n}").render_as_string(hide_password=False)
    dsn = _imported(url, n) if reuse else None
    env = {**os.environ, "HUB_DATABASE_URL": url}
    with tempfile.TemporaryDirectory(prefix="hub-bench-export-") as tmp:
        env["HUB_INSTANCE_PATH"] = str(Path(tmp) / "instance")
        if dsn is None:
            dsn = fresh_database(url)
            listings, orders = write_files(Path(tmp), n)
            subprocess.run([hub, "db", "upgrade"], env=env, check=True, capture_output=True)
            for kind, path in (("listings", listings), ("restrictions", orders)):
                subprocess.run([hub, kind, "import", str(path)], env=env, check=True,
                               capture_output=True)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")  # the same steady state on every run
                conn.execute("CREATE TABLE bench_imported (n bigint)")
                conn.execute("INSERT INTO bench_imported VALUES (%s)", (n,))
        else:
            print(f"\nreusing {make_url(url).database} ({n:,} records imported before)")
            # A database kept from an older checkout: its schema brought up to this one's.
            subprocess.run([hub, "db", "upgrade"], env=env, check=True, capture_output=True)
        with psycopg.connect(dsn) as conn:
            records = conn.execute(
                "SELECT (SELECT count(*) FROM listings) + (SELECT count(*) FROM restrictions)"
            ).fetchone()[0]  # type: ignore[index]
        # Rounds of the baseline and every export in turn, so that a machine whose
        # speed drifts over minutes slows all of them alike; each keeps its best.
        baseline = float("inf")
        elapsed = dict.fromkeys(PARTNERS, float("inf"))
        rss = dict.fromkeys(PARTNERS, 0)
        rows = dict.fromkeys(PARTNERS, 0)
        for _ in range(repeat):
            baseline = min(baseline, copy_baseline(dsn, Path(tmp, "copy.csv")))
            for fmt, partner in PARTNERS:
                out_dir = Path(tmp) / partner
                shutil.rmtree(out_dir, ignore_errors=True)
                took, peak = run_measured(
                    [hub, "export", partner, "--full", "--out", str(out_dir)], env)
                key = (fmt, partner)
                elapsed[key], rss[key] = min(elapsed[key], took), max(rss[key], peak)
                manifest = next(out_dir.glob("*.manifest.json"))
                rows[key] = orjson.loads(manifest.read_bytes())["counts"]["records"]
                shutil.rmtree(out_dir)
        best = f", best of {repeat} rounds" if repeat > 1 else ""
        print(f"\n{records:,} records in PostgreSQL{best}")
        print(f"  COPY ... TO STDOUT csv (baseline): {baseline:7.1f} s "
              f"{records / baseline:10,.0f} rows/s")
        for key in PARTNERS:
            fmt, partner = key
            print(f"  {fmt:5} ({partner:8}) {elapsed[key]:7.1f} s "
                  f"{records / elapsed[key]:10,.0f} records/s, {rows[key]:,} rows out, "
                  f"{elapsed[key] / baseline:5.2f}x COPY, peak RSS {rss[key]} MB")
        # The machine is shared: a load above its cores slows the two-connection
        # exports more than the one-connection baseline.
        print(f"  load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", default=os.environ.get("HUB_BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true",
                        help="keep one database per N and skip the import when it is there")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the baseline and every export this many times, in rounds, "
                             "and keep each one's best (a noisy machine); peak RSS is the "
                             "highest of them")
    args = parser.parse_args()
    hub = str(Path(sys.executable).with_name("hub"))
    for n in args.records:
        bench(n, args.database_url, hub, reuse=args.reuse, repeat=args.repeat)


if __name__ == "__main__":
    main()
