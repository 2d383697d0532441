"""The PostgreSQL fast path of full snapshots writes the very bytes of the reference path
(the change log projected and exported in Python), for every partner that takes it."""

from __future__ import annotations

import io
import random
import threading
import time
from datetime import timedelta
from itertools import pairwise

import orjson
import pytest
from sqlalchemy import text

from hub.config.partners import adapter_for, default_partners_dir, load_partners
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.exporters import BatchHeader, CsvExporter, Exporter, JsonlExporter, XmlExporter
from hub.exporters.csv import cell, quote
from hub.exporters.xml import escape
from hub.exporters.xsd import validate_xml
from hub.partners.base import PartnerAdapter
from hub.services import fast_snapshot, registry
from hub.services.demo import seed
from hub.services.snapshots import full_rows, write_full_snapshot
from tests.conftest import NOW
from tests.samples import org_listing, org_restriction, person_listing, person_restriction
from tests.services.test_replay import ACTOR

CONFIGS = load_partners(default_partners_dir())
# Values every format must escape, quote or guard somehow; each one is a court
# name of every kind of record and a bound person's name, so it reaches every file.
# (C0 controls other than TAB, LF and CR are refused when a record is written:
# tests/core/test_rules.py; DEL and the C1 controls are kept.)
TRICKY = ['He said "hi", then left', "line\nbreak\r\ttab", "=1+2", "+86", "-5", "@home",
          "𠀀𠀁 GB18030 only 䶮", "back\\slash \u0085 nel \u007f \u009f apc", "'quoted'",
          "a, b; c", "<b>&amp; 'x'</b> & >", "line\u2028sep\u2029 para \ufeff bom",
          "tab\tinside", "cr\ronly"]


def _header(seq: int) -> BatchHeader:
    return BatchHeader(partner="x", kind="full", from_seq=0, to_seq=seq, batch_id="b",
                       created_at="2026-11-25T04:00:00Z")


def _tricky_world(ctx: HubContext) -> None:
    seed(ctx.sessions, subjects=60, seed=5, now=NOW)
    today = (NOW + timedelta(hours=8)).date()
    with session_scope(ctx.sessions) as s:
        for i, name in enumerate(TRICKY):
            registry.add_listing(s, person_listing(listing_id=f"L-T-{i}", obligation=name,
                                                   basis_issuer=name, court_name=name),
                                 actor=ACTOR, now=NOW)
            registry.add_listing(s, org_listing(listing_id=f"L-TO-{i}", name=name,
                                                court_name=name, filed_on="2026-02-10",
                                                decided_on="2026-05-20", listed_on="2026-05-21",
                                                legal_representative={"name": name}),
                                 actor=ACTOR, now=NOW)
            registry.issue_restriction(s, org_restriction(
                order_id=f"R-TO-{i}", listing_id=f"L-TO-{i}", court_name=name,
                bound_persons=[{"name": name, "id_number": "320102197907040241",
                                "role": "legal_representative"}]), actor=ACTOR, now=NOW)
            registry.issue_restriction(s, person_restriction(order_id=f"R-TP-{i}",
                                                             listing_id=f"L-T-{i}",
                                                             court_name=name),
                                       actor=ACTOR, now=NOW)
        # A person whose name only GB18030 (not GBK) encodes, for the railway's file.
        registry.add_listing(s, person_listing(listing_id="L-TN", name="𠀀𠀁䶮"), actor=ACTOR,
                             now=NOW)
        registry.add_listing(s, person_listing(listing_id="L-TF", name='=1+2,"x"'),
                             actor=ACTOR, now=NOW)
        registry.add_listing(s, person_listing(listing_id="L-TR", name="removed"), actor=ACTOR,
                             now=NOW)
        registry.remove_listing(s, "L-TR", reason="performed", actor=ACTOR, now=NOW)
        registry.release_person(s, "R-TO-1", "320102197907040241",
                                reason="representative_replaced", actor=ACTOR, now=NOW)
        registry.lift_restriction(s, "R-TP-2", reason="performed", actor=ACTOR, now=NOW)
        for order, days in (("R-TP-3", 5), ("R-TP-4", 1)):
            registry.grant_exemption(s, order, {
                "person": "110105198503150019", "categories": ["C1"],
                "from": today.isoformat(), "until": (today + timedelta(days=days)).isoformat(),
                "reason": "illness"}, actor=ACTOR, now=NOW)
        # Liftings of rail alone: an airline gets neither (nor their reasons).
        for order, person in (("R-TP-5", "110105198503150019"),
                              ("R-TO-5", "320102197907040241")):
            registry.grant_exemption(s, order, {
                "person": person, "categories": ["C9"], "from": today.isoformat(),
                "until": (today + timedelta(days=5)).isoformat(), "reason": "funeral"},
                actor=ACTOR, now=NOW)
    from hub.services.expiry import run_expiry

    run_expiry(ctx.sessions, now=NOW + timedelta(days=2))  # ends R-TP-4's exemption


@pytest.fixture(scope="module")
def world(pg_context: HubContext) -> HubContext:
    from tests.conftest import reset_postgres

    reset_postgres(pg_context.engine)
    _tricky_world(pg_context)
    with pg_context.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Statistics, so the fast path cuts each kind into key ranges, as it does in
        # production: the ranges must join up to the very same bytes.
        conn.exec_driver_sql("ANALYZE")
    return pg_context


def _reference(ctx: HubContext, adapter: PartnerAdapter) -> bytes:
    out = io.BytesIO()
    with ctx.engine.connect() as conn:
        seq = int(conn.execute(text("SELECT value FROM counters WHERE name = 'seq'")).scalar_one())
        adapter.exporter().write(full_rows(conn, adapter, seq), out,  # type: ignore[arg-type]
                                 _header(seq))
    return out.getvalue()


def _encoded(exporter: Exporter, value: str) -> bytes:
    """How ``value`` looks in the exporter's file."""
    if isinstance(exporter, JsonlExporter):
        return orjson.dumps(value)[1:-1]
    if isinstance(exporter, CsvExporter):
        return quote(cell(value)).encode(exporter.encoding)
    assert isinstance(exporter, XmlExporter)
    return escape(value).encode()


@pytest.mark.postgres
@pytest.mark.parametrize("partner", sorted(CONFIGS))
def test_fast_path_bytes_equal_reference(partner: str, world: HubContext) -> None:
    adapter = adapter_for(CONFIGS[partner])
    out = io.BytesIO()
    result = write_full_snapshot(world.engine, adapter, out, _header)
    expected = _reference(world, adapter)
    assert fast_snapshot.supports(adapter)
    assert out.getvalue() == expected
    exporter = adapter.exporter()
    if isinstance(exporter, JsonlExporter):
        # Every line is one record.
        assert result.records == len(expected.splitlines()) > 0
    if isinstance(exporter, XmlExporter):
        assert validate_xml(io.BytesIO(out.getvalue()), exporter.schema) == []
        assert result.records == expected.count(b"</" + exporter.dialect.record.encode() + b">")
    # The values that need escaping did reach the file (a court name of every record).
    for value in TRICKY:
        assert _encoded(exporter, value) in expected, value
    if partner == "railway":
        assert "𠀀𠀁䶮".encode("gb18030") in expected
        assert b'"\'=1+2,""x"""' in expected  # guarded, then quoted


@pytest.mark.postgres
def test_benchmark_partners_take_the_fast_path() -> None:
    for partner in ("ndrc", "mps", "railway"):
        assert fast_snapshot.supports(adapter_for(CONFIGS[partner])), partner


@pytest.mark.postgres
@pytest.mark.parametrize("partner", ["ndrc", "mps", "railway"])
def test_lines_gathered_in_small_groups_keep_their_order(
        partner: str, world: HubContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL gathers a key range's lines a thousand a row; with three a row
    every range spans several rows, whose lines must still come in key order and
    be counted once each."""
    monkeypatch.setattr(fast_snapshot, "_CHUNK_LINES", 3)
    adapter = adapter_for(CONFIGS[partner])
    out = io.BytesIO()
    result = write_full_snapshot(world.engine, adapter, out, _header)
    assert out.getvalue() == _reference(world, adapter)
    with world.engine.connect() as conn:
        seq = int(conn.execute(text("SELECT value FROM counters WHERE name = 'seq'")).scalar_one())
        records = sum(1 for _ in full_rows(conn, adapter, seq))
    assert result.records == records > 100


@pytest.mark.postgres
@pytest.mark.parametrize(("table", "column"), [("listings", "listing_id"),
                                               ("restrictions", "order_id")])
def test_key_ranges_join_up(table: str, column: str, world: HubContext) -> None:
    """The ranges a kind is cut into follow each other with neither gap nor overlap,
    in PostgreSQL's order of the keys, and hold every row once."""
    with world.engine.connect() as conn:
        raw = conn.connection.driver_connection
        ranges = fast_snapshot._ranges(raw, table, column)
        assert len(ranges) > 1  # the statistics cut it (ANALYZE in the fixture)
        assert ranges[0][0] is None
        assert ranges[-1][1] is None
        assert all(a[1] == b[0] for a, b in pairwise(ranges))
        total = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()  # noqa: S608
        counted = 0
        for low, high in ranges:
            where = " AND ".join([f"{column} >= %(low)s"] * (low is not None)
                                 + [f"{column} < %(high)s"] * (high is not None))
            sql = f"SELECT count(*) FROM {table} WHERE {where}"  # noqa: S608 - test names
            counted += conn.exec_driver_sql(sql, {"low": low, "high": high}).scalar_one()
        assert counted == total


def _slow_copies(monkeypatch: pytest.MonkeyPatch, seed: int,
                 fail_at: int | None = None) -> list[str]:
    """Queries ``"0"``, ``"1"``, ... that write their own number, a line, after a random
    pause (so the two connections finish them in any order); ``fail_at`` raises at
    once. Returns the list of the queries started, filled as they start."""
    delays = random.Random(seed)
    lock = threading.Lock()
    started: list[str] = []

    def copy_to(raw: object, query: str, out: io.BufferedIOBase) -> int:
        with lock:
            started.append(query)
            pause = delays.random() / 200
        if int(query) == fail_at:
            raise RuntimeError(f"range {query} failed")
        time.sleep(pause)
        out.write(f"{query}\n".encode())
        return 1

    monkeypatch.setattr(fast_snapshot, "_copy_to", copy_to)
    return started


def _run_two(order: fast_snapshot._InOrder) -> list[BaseException]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            order.run(None)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("seed", range(8))
def test_ranges_run_by_two_connections_come_out_in_order(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever connection finishes a range first, the file holds the ranges in
    query order, each once, and counts every line."""
    _slow_copies(monkeypatch, seed)
    out = io.BytesIO()
    order = fast_snapshot._InOrder([str(i) for i in range(20)], out)
    assert _run_two(order) == []
    order.close()
    assert out.getvalue().decode().split() == [str(i) for i in range(20)]
    assert order.count == 20
    assert order.complete()


def test_a_failed_range_stops_both_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    started = _slow_copies(monkeypatch, 1, fail_at=5)
    out = io.BytesIO()
    order = fast_snapshot._InOrder([str(i) for i in range(40)], out)
    errors = _run_two(order)
    order.close()
    assert [str(e) for e in errors] == ["range 5 failed"]
    assert not order.complete()
    # The other connection finishes the range it was running, then takes no more
    # (without the stop it would run all 40).
    assert len(started) <= 8
    written = out.getvalue().decode().split()
    assert written == [str(i) for i in range(5)]


@pytest.mark.postgres
def test_a_snapshot_fails_when_its_second_connection_does(
        world: HubContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second connection's error is the snapshot's: no file is taken as whole
    while half its ranges were never read."""
    prepare = fast_snapshot._prepare

    def second_fails(raw: object) -> None:
        if threading.current_thread().name == "hub-snapshot":
            raise RuntimeError("second connection lost")
        prepare(raw)

    monkeypatch.setattr(fast_snapshot, "_prepare", second_fails)
    with pytest.raises(RuntimeError, match="second connection lost"):
        write_full_snapshot(world.engine, adapter_for(CONFIGS["ndrc"]), io.BytesIO(), _header)
