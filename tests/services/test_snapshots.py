"""Property: a partner's deltas applied in order to its first full snapshot give its
next full snapshot, for any change history and any partner (no drift)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.config.partners import load_partners
from hub.context import HubContext
from hub.partners.base import PartnerAdapter
from hub.services.feed import high_water
from hub.services.snapshots import apply_delta, delta_rows, full_rows
from tests.services.test_replay import OPS, _apply

_examples = itertools.count()


@pytest.fixture(scope="module")
def adapters() -> list[PartnerAdapter]:
    from hub.config.partners import default_partners_dir, resolve_adapter

    configs = load_partners(default_partners_dir())
    # Persons only with code (railway), own XML (pbc), everything (ndrc), and
    # config-only partners of each kind of scope.
    chosen = ["railway", "pbc", "ndrc", "travelsky", "mohrss", "customs", "csrc"]
    out = []
    for pid in chosen:
        config = configs[pid]
        cls = resolve_adapter(config.adapter) if config.adapter else PartnerAdapter
        out.append(cls(config))
    return out


def _snapshot(ctx: HubContext, adapter: PartnerAdapter, seq: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        return {row["record_key"]: row for row in full_rows(conn, adapter, seq)}


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(st.lists(OPS, min_size=1, max_size=6), min_size=2, max_size=4))
def test_deltas_rebuild_snapshots(
    hub_ctx: HubContext, adapters: list[PartnerAdapter], rounds: list[list[tuple[Any, ...]]]
) -> None:
    prefix = f"S{next(_examples)}"
    marks = []
    for ops in rounds:
        for op in ops:
            try:
                _apply(hub_ctx, prefix, op)
            except Exception:  # noqa: S112 - refused operations are part of the history
                continue
        with hub_ctx.engine.connect() as conn:
            marks.append(high_water(conn))
    for adapter in adapters:
        held = _snapshot(hub_ctx, adapter, marks[0])
        for start, end in itertools.pairwise(marks):
            with hub_ctx.engine.connect() as conn:
                apply_delta(held, delta_rows(conn, adapter, start, end))
            assert held == _snapshot(hub_ctx, adapter, end), adapter.id


def test_write_full_snapshot_streams_what_full_rows_give(
    hub_ctx: HubContext, adapters: list[PartnerAdapter]
) -> None:
    import hashlib
    import io

    from hub.exporters import BatchHeader
    from hub.services.snapshots import write_full_snapshot

    for op in [("add_person", 0), ("add_person", 1), ("issue_person", 0),
               ("remove", 1, "performed")]:
        _apply(hub_ctx, "W", op)
    with hub_ctx.engine.connect() as conn:
        seq = high_water(conn)
    seen: list[int] = []
    total = 0

    def header(to_seq: int) -> BatchHeader:
        seen.append(to_seq)
        return BatchHeader(partner="x", kind="full", from_seq=0, to_seq=to_seq,
                           batch_id="b", created_at="2026-11-25T04:00:00Z")

    for adapter in adapters:
        out = io.BytesIO()
        result = write_full_snapshot(hub_ctx.engine, adapter, out, header)
        expected = io.BytesIO()
        with hub_ctx.engine.connect() as conn:
            rows = list(full_rows(conn, adapter, seq))
        adapter.exporter().write(rows, expected, header(seq))  # type: ignore[arg-type]
        data = out.getvalue()
        assert data == expected.getvalue(), adapter.id
        assert (result.seq, result.records, result.bytes) == (seq, len(rows), len(data))
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        total += result.records
    assert total > 0
    assert set(seen) == {seq}


def test_api_snapshot_spool_carries_its_seq_digest_and_content_type(
    hub_ctx: HubContext, adapters: list[PartnerAdapter]
) -> None:
    import hashlib

    from hub.services.partner_snapshot import spool_snapshot
    from tests.conftest import NOW

    for op in [("add_person", 0), ("issue_person", 0), ("add_person", 1),
               ("remove", 1, "performed")]:
        _apply(hub_ctx, "W", op)
    with hub_ctx.engine.connect() as conn:
        seq = high_water(conn)
    for adapter in adapters:
        snap = spool_snapshot(hub_ctx.engine, adapter, NOW)
        with snap.body:
            body = snap.body.read()
        assert snap.seq == seq
        assert hashlib.sha256(body).digest() == snap.sha256
        assert snap.size == len(body)
        assert snap.content_type.startswith(
            {"jsonl": "application/jsonl", "csv": "text/csv", "xml": "application/xml"}[
                adapter.config.format])
        # The same rows as the reference path: the removed listing is not among them.
        assert len(full_rows_of(hub_ctx, adapter, seq)) == snap.records


def full_rows_of(ctx: HubContext, adapter: PartnerAdapter, seq: int) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(full_rows(conn, adapter, seq))
