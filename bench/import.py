"""Benchmark: `hub listings import` vs PostgreSQL's own COPY FROM of the same rows.

Generates N listing records (deterministic), imports them through the real
CLI into a fresh PostgreSQL database, then, in the same run, reloads the very
rows the import produced with `COPY listings FROM STDIN` into the same table
(indexes in place) and prints records/s for both and the ratio.

    .venv/bin/python bench/import.py --records 1000000
"""

from __future__ import annotations

import argparse
import os
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

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench"


def fresh_database(url: str) -> str:
    u = make_url(url)
    admin = u.set(database="postgres").render_as_string(hide_password=False)
    dsn = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')
    return u.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")


def write_listings(path: Path, n: int) -> None:
    today = court_date(datetime.now(UTC))
    written = 0
    with path.open("wb") as f:
        for kind, record in demo.generate(n * 2, seed=1, today=today):
            if kind != "listing":
                continue
            f.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            written += 1
            if written == n:
                return
    raise SystemExit(f"generator gave only {written} listings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("HUB_BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    args = parser.parse_args()
    dsn = fresh_database(args.database_url)
    env = {**os.environ, "HUB_DATABASE_URL": args.database_url}
    hub = str(Path(sys.executable).with_name("hub"))
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        src = Path(tmp) / "listings.jsonl"
        print(f"generating {args.records:,} listings ...", flush=True)
        write_listings(src, args.records)
        subprocess.run([hub, "db", "upgrade"], env=env, check=True, capture_output=True)

        start = time.perf_counter()
        subprocess.run([hub, "listings", "import", str(src)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ours = time.perf_counter() - start

        dump = Path(tmp) / "listings.copy"
        with psycopg.connect(dsn) as conn:
            with conn.cursor() as cur, dump.open("wb") as f, cur.copy(
                "COPY listings TO STDOUT"
            ) as copy:
                for block in copy:
                    f.write(block)
            count = conn.execute("SELECT count(*) FROM listings").fetchone()[0]  # type: ignore[index]
            conn.execute("TRUNCATE listings CASCADE")
            conn.commit()
            conn.execute("CHECKPOINT")
            start = time.perf_counter()
            with conn.cursor() as cur, dump.open("rb") as f, cur.copy(
                "COPY listings FROM STDIN"
            ) as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
            conn.commit()
            baseline = time.perf_counter() - start
    if count != args.records:
        raise SystemExit(f"imported {count} rows, expected {args.records}")
    print(f"records: {args.records:,} (PostgreSQL, listings table with its indexes)")
    print(f"hub listings import : {ours:8.1f} s  {args.records / ours:10,.0f} records/s "
          "(parse + validate + rows + change events + audit)")
    print(f"COPY FROM (baseline): {baseline:8.1f} s  {args.records / baseline:10,.0f} records/s")
    print(f"ratio: our import takes {ours / baseline:.2f}x the time of COPY (target <= 3x)")


if __name__ == "__main__":
    main()
