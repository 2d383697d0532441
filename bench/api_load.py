"""bench/api.py's load: client processes signing a token per request, and CPU accounting.

A module of its own so the spawned client processes import only this, not the bench.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from hub.core.request_auth import body_digest

AUDIENCE = "joint-sanction-hub"
PAGE = 1000
#: Pages a /changes client walks from one random cursor before jumping to another.
WALK = 5
CHECK_IDS = 100


@dataclass
class Job:
    kind: str  # changes | checks | bare, or a floor: changes-empty | checks-1
    port: int
    partner: str
    kid: str
    pem: bytes
    start_at: float  # time.time() at which every client starts measuring
    warmup: float
    duration: float
    seed: int
    high_water: int = 0
    listed: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)


@dataclass
class Result:
    latencies: list[float]
    errors: int
    first_error: str | None


def _token(key: Any, job: Job, method: str, path: str, body: bytes | None) -> str:
    now = int(time.time())
    claims = {"iss": job.partner, "sub": job.partner, "aud": AUDIENCE, "iat": now,
              "exp": now + 60, "jti": str(uuid.uuid4()), "htm": method,
              "htu": f"http://127.0.0.1:{job.port}{path.split('?', 1)[0]}"}
    if body:
        claims["body_sha256"] = body_digest(body)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": job.kid})


def _next_after(data: bytes) -> int:
    # orjson keeps key order: the cursor is near the end; no need to parse 1000 events.
    at = data.rfind(b'"next_after":') + len(b'"next_after":')
    return int(data[at:data.index(b",", at)])


def client(job: Job) -> Result:
    """One client process: requests back to back on one connection until the end."""
    key = load_pem_private_key(job.pem, password=None)
    rng = random.Random(job.seed)
    conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=60)
    latencies: list[float] = []
    errors, first_error = 0, None
    cursor, walked = 0, WALK
    time.sleep(max(0.0, job.start_at - time.time()))
    measure_from = time.monotonic() + job.warmup
    end = measure_from + job.duration
    while (now := time.monotonic()) < end:
        body: bytes | None = None
        if job.kind == "changes":
            if walked >= WALK:
                cursor, walked = rng.randrange(max(1, job.high_water - PAGE * WALK)), 0
            method, path = "GET", f"/api/v1/changes?after={cursor}&limit={PAGE}"
        elif job.kind == "checks":
            half = CHECK_IDS // 2
            ids = rng.sample(job.listed, half) + rng.sample(job.unlisted, CHECK_IDS - half)
            rng.shuffle(ids)
            method, path = "POST", "/api/v1/checks"
            body = orjson.dumps({"subjects": [{"id_number": i} for i in ids]})
        elif job.kind == "changes-empty":  # the feed's floor: a page with nothing in it
            method, path = "GET", f"/api/v1/changes?after={job.high_water}&limit={PAGE}"
        elif job.kind == "checks-1":  # the check's floor: one ID, not listed
            method, path = "POST", "/api/v1/checks"
            body = orjson.dumps({"subjects": [{"id_number": rng.choice(job.unlisted)}]})
        else:
            method, path = "GET", "/bare"
        headers = {"Authorization": f"Bearer {_token(key, job, method, path, body)}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            errors += 1
            first_error = first_error or f"{response.status} {data[:300]!r}"
        elif job.kind == "changes":
            cursor, walked = _next_after(data), walked + 1
        if now >= measure_from:
            latencies.append(elapsed)
    conn.close()
    return Result(latencies, errors, first_error)


@dataclass
class Figure:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    #: CPU the gunicorn workers / the database backends spent per request (ms).
    web_cpu_ms: float
    db_cpu_ms: float
    #: Cores' worth of CPU the bench's clients, and everything else on the machine, used.
    client_cores: float
    other_cores: float


_TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, bytes, float]]:
    """pid -> (ppid, command line, CPU seconds so far) of every process we may read."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_bytes().rsplit(b")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        out[int(stat.parent.name)] = (int(fields[1]), cmdline,
                                      (int(fields[11]) + int(fields[12])) / _TICK)
    return out


def cpu_split(master: int, database: str) -> tuple[float, float, float, float]:
    """CPU seconds so far: the server's workers, the database's backends, this bench's
    client processes, and the whole machine (busy time of all cores)."""
    procs = _processes()
    web = sum(cpu for ppid, _cmd, cpu in procs.values() if ppid == master)
    db = sum(cpu for _ppid, cmd, cpu in procs.values()
             if cmd.startswith(b"postgres:") and f" {database} ".encode() in cmd)
    clients = sum(cpu for pid, (ppid, _cmd, cpu) in procs.items()
                  if ppid == os.getpid() and pid != master)
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / _TICK  # all but idle and iowait
    return web, db, clients, busy


def run_load(name: str, jobs: list[Job], duration: float, master: int,
             database: str) -> Figure:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(jobs)) as pool:
        pending = pool.map_async(client, jobs)
        # CPU of the measured window only: after the warm-up, until the clients stop.
        time.sleep(max(0.0, jobs[0].start_at + jobs[0].warmup - time.time()))
        before = cpu_split(master, database)
        time.sleep(duration)
        web, db, clients, busy = (b - a for a, b in
                                  zip(before, cpu_split(master, database), strict=True))
        results = pending.get()
    latencies = sorted(x for r in results for x in r.latencies)
    errors = sum(r.errors for r in results)
    for r in results:
        if r.first_error:
            print(f"  {name}: first error: {r.first_error}", file=sys.stderr)
            break
    if not latencies:
        raise SystemExit(f"{name}: no request completed")
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    n = len(latencies)
    return Figure(name, n, n / duration, q[49] * 1000, q[98] * 1000, errors,
                  web * 1000 / n, db * 1000 / n, clients / duration,
                  max(0.0, busy - web - db - clients) / duration)
