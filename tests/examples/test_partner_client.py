"""examples/partner_client.py against the real app on a real port: every event once, then acked."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from werkzeug.serving import make_server

from hub.app import create_app
from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent, PartnerProgress
from hub.services import registry
from hub.services.actors import Actor
from hub.services.changes import changes_page
from tests.api_auth.keys import make_key
from tests.conftest import NOW, invoke
from tests.samples import org_listing, org_restriction, person_listing, person_restriction

CLIENT = Path(__file__).resolve().parents[2] / "examples" / "partner_client.py"
CLERK = Actor("staff:wang", court_code="京0105")


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` served by werkzeug on a free loopback port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def hub_url(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _write_records(ctx: HubContext) -> None:
    with session_scope(ctx.sessions) as s:
        registry.add_listing(s, person_listing(), actor=CLERK, now=NOW)
        registry.add_listing(s, org_listing(), actor=CLERK, now=NOW)
    with session_scope(ctx.sessions) as s:
        registry.issue_restriction(s, person_restriction(), actor=CLERK, now=NOW)
        registry.issue_restriction(s, org_restriction(), actor=CLERK, now=NOW)
    with session_scope(ctx.sessions) as s:
        registry.remove_listing(s, "L-2024-000001", reason="performed", actor=CLERK, now=NOW)


def _expected_seqs(ctx: HubContext, partner: str) -> list[int]:
    adapter = load_adapters(ctx.settings)[partner]
    with ctx.engine.connect() as conn:
        page = changes_page(conn, adapter, 0, 1000)
    return [e["seq"] for e in page.events]


def _run_client(url: str, partner: str, kid: str, key: Path, out: Path, cursor: Path,
                *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENT), "--hub", url, "--partner", partner,
         # --kid=: a kid (base64url) may begin with "-", which argparse takes for an option.
         f"--kid={kid}",
         "--key", str(key), "--out", str(out), "--cursor", str(cursor), *extra],
        capture_output=True, text=True, timeout=120, check=False)


def _acked(ctx: HubContext, partner: str) -> int | None:
    with ctx.sessions() as s:
        return s.scalar(select(PartnerProgress.acked_seq).where(PartnerProgress.partner == partner))


# ndrc takes every event; customs only organisations' listings, so the cursor must
# also pass over events that concern it not at all.
@pytest.mark.parametrize(("partner", "kind"), [("ndrc", "Ed25519"), ("customs", "P-256")])
def test_client_pages_every_event_once_and_acks(hub_ctx: HubContext, runner: FlaskCliRunner,
                                                hub_url: str, tmp_path: Path, partner: str,
                                                kind: str) -> None:
    _write_records(hub_ctx)
    pair = make_key(partner, kind)
    (tmp_path / "public.pem").write_bytes(pair.public_pem)
    (tmp_path / "private.pem").write_bytes(pair.private_pem)
    added = invoke(runner, "partners", "add-key", partner, tmp_path / "public.pem")
    assert added.exit_code == 0, added.output
    kid = added.output.strip()
    assert kid == pair.kid
    out, cursor = tmp_path / "events.jsonl", tmp_path / "cursor"

    # --limit 2: several pages, so the client follows next_after to high_water.
    done = _run_client(hub_url, partner, kid, tmp_path / "private.pem", out, cursor,
                       "--limit", "2")
    assert done.returncode == 0, done.stderr
    with hub_ctx.sessions() as s:
        top = max(s.scalars(select(ChangeEvent.seq)))
    expected = _expected_seqs(hub_ctx, partner)
    assert expected  # the partner gets something, and
    if partner == "customs":
        assert len(expected) < top  # ... not everything
    seqs = [orjson.loads(line)["seq"] for line in out.read_bytes().splitlines()]
    assert seqs == expected
    shape = load_adapters(hub_ctx.settings)[partner].shape_digest()
    assert cursor.read_text() == f"{top} {shape}\n"
    assert _acked(hub_ctx, partner) == top

    # Resuming from the cursor: only what came since, then the ack moves on.
    with session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-2024-000002", reason="performed", actor=CLERK, now=NOW)
    again = _run_client(hub_url, partner, kid, tmp_path / "private.pem", out, cursor)
    assert again.returncode == 0, again.stderr
    seqs = [orjson.loads(line)["seq"] for line in out.read_bytes().splitlines()]
    assert seqs == [*expected, top + 1]
    assert len(set(seqs)) == len(seqs)
    assert _acked(hub_ctx, partner) == top + 1


def test_client_reports_the_failed_check(hub_ctx: HubContext, runner: FlaskCliRunner,
                                         hub_url: str, tmp_path: Path) -> None:
    pair = make_key("ndrc", "Ed25519")
    (tmp_path / "private.pem").write_bytes(pair.private_pem)  # never registered
    done = _run_client(hub_url, "ndrc", pair.kid, tmp_path / "private.pem",
                       tmp_path / "events.jsonl", tmp_path / "cursor")
    assert done.returncode == 1
    assert "401" in done.stderr
    assert "[check: kid]" in done.stderr
    assert not (tmp_path / "cursor").exists()


def test_client_stops_on_a_cursor_beyond_the_high_water_mark(
        hub_ctx: HubContext, runner: FlaskCliRunner, hub_url: str, tmp_path: Path) -> None:
    _write_records(hub_ctx)
    pair = make_key("ndrc", "Ed25519")
    (tmp_path / "public.pem").write_bytes(pair.public_pem)
    (tmp_path / "private.pem").write_bytes(pair.private_pem)
    assert invoke(runner, "partners", "add-key", "ndrc", tmp_path / "public.pem").exit_code == 0
    done = _run_client(hub_url, "ndrc", pair.kid, tmp_path / "private.pem",
                       tmp_path / "events.jsonl", tmp_path / "cursor", "--after", "99")
    assert done.returncode == 1
    assert "409 Conflict: after 99 is beyond the high-water mark 5" in done.stderr
    assert _acked(hub_ctx, "ndrc") is None


def test_snapshot_then_changes(hub_ctx: HubContext, runner: FlaskCliRunner, hub_url: str,
                               tmp_path: Path) -> None:
    _write_records(hub_ctx)
    pair = make_key("ndrc", "Ed25519")
    (tmp_path / "public.pem").write_bytes(pair.public_pem)
    (tmp_path / "private.pem").write_bytes(pair.private_pem)
    assert invoke(runner, "partners", "add-key", "ndrc", tmp_path / "public.pem").exit_code == 0
    out, cursor, snapshot = tmp_path / "events.jsonl", tmp_path / "cursor", tmp_path / "full"
    done = _run_client(hub_url, "ndrc", pair.kid, tmp_path / "private.pem", out, cursor,
                       "--snapshot", str(snapshot))
    assert done.returncode == 0, done.stderr
    rows = [orjson.loads(line) for line in snapshot.read_bytes().splitlines()]
    assert {r["record_key"] for r in rows} >= {"L-2024-000002", "R-2024-000001"}
    assert f"snapshot of {len(rows)} records as of seq 5" in done.stderr
    assert out.read_bytes() == b""  # nothing happened since the snapshot
    # The feed came in the snapshot's shape, which the cursor keeps.
    assert cursor.read_text() == f"5 {load_adapters(hub_ctx.settings)['ndrc'].shape_digest()}\n"
    assert _acked(hub_ctx, "ndrc") == 5
    assert not list(tmp_path.glob("*.part"))


def test_client_stops_when_the_hub_changes_what_it_sends(
        hub_ctx: HubContext, runner: FlaskCliRunner, hub_url: str, tmp_path: Path) -> None:
    """A copy built in one projection is not carried on in another: rows held would
    keep fields the partner no longer receives. The client asks for a snapshot."""
    _write_records(hub_ctx)
    pair = make_key("ndrc", "Ed25519")
    (tmp_path / "public.pem").write_bytes(pair.public_pem)
    (tmp_path / "private.pem").write_bytes(pair.private_pem)
    assert invoke(runner, "partners", "add-key", "ndrc", tmp_path / "public.pem").exit_code == 0
    out, cursor = tmp_path / "events.jsonl", tmp_path / "cursor"
    assert _run_client(hub_url, "ndrc", pair.kid, tmp_path / "private.pem", out,
                       cursor).returncode == 0
    held = cursor.read_text()
    instance = tmp_path / "narrower-instance"
    (instance / "partners").mkdir(parents=True)
    (instance / "partners" / "ndrc.toml").write_text(
        '[scope]\nfields = ["subject_type", "name", "id_type", "id_number"]\n')
    settings = dataclasses.replace(hub_ctx.settings, instance_path=instance)
    narrower = create_app(context=dataclasses.replace(hub_ctx, settings=settings))
    with session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-2024-000002", reason="performed", actor=CLERK, now=NOW)
    snapshot = tmp_path / "full"
    with serving(narrower) as url:
        stopped = _run_client(url, "ndrc", pair.kid, tmp_path / "private.pem", out, cursor)
        assert stopped.returncode == 1
        assert "take a new snapshot" in stopped.stderr
        assert cursor.read_text() == held  # nothing taken in the new shape
        again = _run_client(url, "ndrc", pair.kid, tmp_path / "private.pem", out, cursor,
                            "--snapshot", str(snapshot))
    assert again.returncode == 0, again.stderr
    row = orjson.loads(snapshot.read_bytes().splitlines()[0])
    assert "court_name" not in row
    assert "name" in row
    assert cursor.read_text().split()[1] != held.split()[1]


def _limited_client(hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path,
                    rate_limit: str, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The client paging one event a page from a hub that limits ndrc to ``rate_limit``."""
    _write_records(hub_ctx)
    instance = tmp_path / "limited-instance"
    (instance / "partners").mkdir(parents=True)
    (instance / "partners" / "ndrc.toml").write_text(f'[api]\nrate_limit = "{rate_limit}"\n')
    settings = dataclasses.replace(hub_ctx.settings, instance_path=instance)
    limited = create_app(context=dataclasses.replace(hub_ctx, settings=settings))
    pair = make_key("ndrc", "Ed25519")
    (tmp_path / "public.pem").write_bytes(pair.public_pem)
    (tmp_path / "private.pem").write_bytes(pair.private_pem)
    assert invoke(runner, "partners", "add-key", "ndrc", tmp_path / "public.pem").exit_code == 0
    out = tmp_path / "events.jsonl"
    with serving(limited) as url:
        done = _run_client(url, "ndrc", pair.kid, tmp_path / "private.pem", out,
                           tmp_path / "cursor", "--limit", "1", *args)
    return done, out


def test_client_waits_out_the_rate_limit(hub_ctx: HubContext, runner: FlaskCliRunner,
                                         tmp_path: Path) -> None:
    # One event a page: 6 requests against 2 a second.
    done, out = _limited_client(hub_ctx, runner, tmp_path, "2/second")
    assert done.returncode == 0, done.stderr
    assert re.search(r"hub answered 429; retrying in [12] s", done.stderr), done.stderr
    assert [orjson.loads(line)["seq"] for line in out.read_bytes().splitlines()] == [
        1, 2, 3, 4, 5]
    assert _acked(hub_ctx, "ndrc") == 5


def test_client_reports_a_long_wait_instead_of_sleeping_through_it(
        hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path) -> None:
    stopped, out = _limited_client(hub_ctx, runner, tmp_path, "2/hour")
    assert stopped.returncode == 1
    assert re.search(r"the hub asks to wait 3[0-9]{3} s: try again then", stopped.stderr), \
        stopped.stderr
    assert "retrying" not in stopped.stderr
    assert [orjson.loads(line)["seq"] for line in out.read_bytes().splitlines()] == [1, 2]


def test_a_kid_that_begins_with_a_dash(hub_ctx: HubContext, runner: FlaskCliRunner,
                                       hub_url: str, tmp_path: Path) -> None:
    _write_records(hub_ctx)
    pair = next(p for p in iter(lambda: make_key("ndrc", "Ed25519"), None)
                if p.kid.startswith("-"))  # one key in 64
    (tmp_path / "public.pem").write_bytes(pair.public_pem)
    (tmp_path / "private.pem").write_bytes(pair.private_pem)
    assert invoke(runner, "partners", "add-key", "ndrc", tmp_path / "public.pem").exit_code == 0
    done = _run_client(hub_url, "ndrc", pair.kid, tmp_path / "private.pem",
                       tmp_path / "events.jsonl", tmp_path / "cursor")
    assert done.returncode == 0, done.stderr
    assert _acked(hub_ctx, "ndrc") == 5
