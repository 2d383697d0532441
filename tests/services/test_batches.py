"""Batches: files, manifest and signature, chained deltas, and the release gate."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from hub.app import create_app
from hub.config.partners import adapter_for, default_partners_dir, load_partners
from hub.context import HubContext
from hub.core.signing import verify_detached
from hub.db.engine import session_scope
from hub.db.models import AuditEntry, PartnerBatch
from hub.errors import Conflict
from hub.keystore import KeyStore
from hub.partners.base import PartnerAdapter
from hub.partners.model import ReleaseGate
from hub.services import batch_files, batches, registry
from hub.services.acks import acknowledge
from hub.services.actors import Actor
from hub.services.batches import _export_lock, export_batch, release_batch
from tests.conftest import NOW, invoke
from tests.samples import person_listing

ACTOR = Actor("cli:test")


def _adapter(pid: str, gate: ReleaseGate | None = None) -> PartnerAdapter:
    config = load_partners(default_partners_dir())[pid]
    if gate is not None:
        config = dataclasses.replace(config, release_gate=gate)
    return adapter_for(config)


def _add(ctx: HubContext, first: int, count: int) -> None:
    with session_scope(ctx.sessions) as s:
        for n in range(first, first + count):
            registry.add_listing(s, person_listing(listing_id=f"L-B-{n:05d}",
                                                   case_number=f"（2024）京0105执{n}号"),
                                 actor=ACTOR, now=NOW)


def test_full_then_deltas_chain_and_empty_delta_is_written(
    hub_ctx: HubContext, tmp_path: Path
) -> None:
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc")
    _add(hub_ctx, 1, 3)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                         full=False, actor=ACTOR, now=NOW)
    assert (first.kind, first.from_seq, first.to_seq) == ("full", 0, 3)  # nothing before: full
    with session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-B-00002", reason="performed", actor=ACTOR, now=NOW)
    second = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                          full=False, actor=ACTOR, now=NOW + timedelta(minutes=5))
    assert (second.kind, second.from_seq, second.to_seq) == ("delta", 3, 4)
    [row] = [orjson.loads(line) for line in second.data_path.read_bytes().splitlines()]
    assert (row["record_key"], row["status"], row["status_reason"]) == (
        "L-B-00002", "removed", "performed")
    third = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                         full=False, actor=ACTOR, now=NOW + timedelta(minutes=10))
    assert third.counts["records"] == 0
    assert third.data_path.exists()
    assert third.data_path.read_bytes() == b""  # "nothing changed" is still a file
    body = third.manifest_path.read_bytes()
    manifest = orjson.loads(body)
    assert manifest["previous_batch_id"] == second.batch_id
    verify_detached(third.manifest_path.with_suffix(".jws").read_text(), body, keys.jwks())
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind


def test_mass_removal_is_held_until_released(
    hub_ctx: HubContext, tmp_path: Path, runner: FlaskCliRunner
) -> None:
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc", ReleaseGate(max_removed_share=0.2, max_added_share=1.0,
                                           min_records=5))
    _add(hub_ctx, 1, 10)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path, full=True,
                 actor=ACTOR, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        for n in (1, 2, 3):  # 30 % of what the partner holds
            registry.remove_listing(s, f"L-B-{n:05d}", reason="performed", actor=ACTOR, now=NOW)
    held = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                        full=False, actor=ACTOR, now=NOW + timedelta(minutes=1))
    assert held.status == "held"
    assert held.held_reason is not None
    assert "would remove 3 of the 10" in held.held_reason
    listing = invoke(runner, "batches", "list", "ndrc")
    assert "held: would remove 3 of the 10" in listing.output
    release_batch(hub_ctx.sessions, held.batch_id, keys, actor=Actor("cli:operator"))
    with pytest.raises(Conflict):
        release_batch(hub_ctx.sessions, held.batch_id, keys, actor=Actor("cli:operator"))
    with hub_ctx.sessions() as s:
        batch = s.get(PartnerBatch, held.batch_id)
        assert batch is not None
        assert (batch.status, batch.released_by) == ("released", "cli:operator")
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-3:] == ["batch.exported", "batch.held", "batch.released"]


def test_export_command(hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path) -> None:
    _add(hub_ctx, 1, 2)
    result = invoke(runner, "export", "railway", "--full", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "full batch" in result.output
    assert len(list(tmp_path.glob("railway_full_0-2_*.csv"))) == 1
    result = invoke(runner, "export", "nobody")
    assert result.exit_code == 2
    assert "no partner 'nobody'" in result.output


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_two_exports_of_one_partner_at_once_make_one_chain(
    hub_ctx: HubContext, tmp_path: Path
) -> None:
    """An operator's export beside the nightly job: the second waits for the first and
    follows it, so no two batches share a parent and no range is sent twice."""
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc")
    _add(hub_ctx, 1, 3)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                 full=True, actor=ACTOR, now=NOW)
    _add(hub_ctx, 4, 2)
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def export(minute: int) -> None:
        try:
            start.wait()
            results.append(export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys,
                                        out_dir=tmp_path, full=False, actor=ACTOR,
                                        now=NOW + timedelta(minutes=minute)))
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=export, args=(m,)) for m in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with hub_ctx.sessions() as s:
        batches = list(s.scalars(select(PartnerBatch).where(PartnerBatch.partner == "ndrc")
                                 .order_by(PartnerBatch.from_seq, PartnerBatch.to_seq)))
    parents = [b.previous_batch_id for b in batches]
    assert len(set(parents)) == len(parents), "two batches share a parent"
    assert [b.previous_batch_id for b in batches[1:]] == [b.batch_id for b in batches[:-1]]
    assert [(b.from_seq, b.to_seq) for b in batches[1:]] == [(3, 5), (5, 5), (5, 5), (5, 5)]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_an_ack_does_not_wait_for_an_export_of_its_partner(
    hub_ctx: HubContext, tmp_path: Path
) -> None:
    """An export holds its partner's export lock for as long as it writes (a minute for
    a full snapshot of millions); the partner's acknowledgements go on meanwhile."""
    keys = KeyStore(tmp_path / "instance")
    _add(hub_ctx, 1, 3)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=tmp_path, full=True, actor=ACTOR, now=NOW)
    exporting = hub_ctx.sessions()
    exporting.begin()
    _export_lock(exporting, "ndrc")  # as an export in progress holds it
    try:
        done = threading.Event()

        def ack() -> None:
            with session_scope(hub_ctx.sessions) as s:
                acknowledge(s, "ndrc", batch_id=first.batch_id, now=NOW)
            done.set()

        threading.Thread(target=ack, daemon=True).start()
        assert done.wait(10), "the ack waited for the export"
    finally:
        exporting.rollback()
        exporting.close()


@pytest.mark.parametrize("full", [True, False], ids=["full", "delta"])
def test_a_batch_replacing_half_the_list_is_held_full_or_delta(
        hub_ctx: HubContext, tmp_path: Path, full: bool) -> None:
    """Ten of twenty records revoked and ten others added: half of what the partner holds
    goes. A full snapshot keeps the count (20) yet is held like the delta, the gate
    counting what the file does to the partner's list row by row."""
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc", ReleaseGate(0.05, 0.05, 10))
    _add(hub_ctx, 1, 20)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                         full=True, actor=ACTOR, now=NOW)
    assert first.status == "ready"
    with session_scope(hub_ctx.sessions) as s:
        for n in range(1, 11):
            registry.revoke_listing(s, f"L-B-{n:05d}", reason="wrongly_listed", actor=ACTOR,
                                    now=NOW)
    _add(hub_ctx, 101, 10)
    second = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                          full=full, actor=ACTOR, now=NOW + timedelta(minutes=5))
    # The full file holds the 20 records now listed; the delta, 10 new ones and 10 exits.
    assert (second.counts["active"], second.counts["exits"]) == ((20, 0) if full else (10, 10))
    assert second.status == "held"
    assert second.held_reason is not None
    assert "remove 10 of the 20" in second.held_reason


def test_revocation_after_removal_reaches_delta_partner(hub_ctx: HubContext,
                                                       tmp_path: Path) -> None:
    """DOMAIN.md: exits are distinct so a partner can tell "never valid" (revoked) from
    "no longer valid" (removed); registry.revoke_listing allows a revocation after a
    removal for exactly that. A partner that got the removal in one delta must get the
    revocation in the next one."""
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc")
    _add(hub_ctx, 1, 3)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                 full=True, actor=ACTOR, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-B-00002", reason="performed", actor=ACTOR, now=NOW)
    d1 = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                      full=False, actor=ACTOR, now=NOW + timedelta(minutes=5))
    [row] = [orjson.loads(x) for x in d1.data_path.read_bytes().splitlines()]
    assert row["status"] == "removed"
    with session_scope(hub_ctx.sessions) as s:
        registry.revoke_listing(s, "L-B-00002", actor=ACTOR, now=NOW)
    d2 = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                      full=False, actor=ACTOR, now=NOW + timedelta(minutes=10))
    rows = [orjson.loads(x) for x in d2.data_path.read_bytes().splitlines()]
    assert [(r["record_key"], r["status"]) for r in rows] == [("L-B-00002", "revoked")]


def _correct(ctx: HubContext, first: int, count: int) -> None:
    with session_scope(ctx.sessions) as s:
        for n in range(first, first + count):
            registry.correct_listing(s, f"L-B-{n:05d}", {"obligation": "偿还借款本金人民币1元"},
                                     reason="data_inaccurate", actor=ACTOR, now=NOW)


#: Adding or correcting more than 2 of 10 is held; removals are never held.
ADD_GATE = ReleaseGate(max_removed_share=1.0, max_added_share=0.2, min_records=5)


@pytest.mark.parametrize(("corrected", "full", "status"), [
    (3, False, "held"), (2, False, "ready"), (3, True, "held"),
], ids=["3-of-10-delta", "2-of-10-delta", "3-of-10-full"])
def test_a_mass_correction_is_held_like_a_mass_addition(
        hub_ctx: HubContext, tmp_path: Path, corrected: int, full: bool, status: str) -> None:
    """A bad import that rewrites many records must wait for an operator as one that adds
    them would: 44 partners would otherwise overwrite good data. A full snapshot keeps
    the count the same, yet rewrites the same rows, so it is held as the delta is."""
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc", ADD_GATE)
    _add(hub_ctx, 1, 10)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path, full=True,
                 actor=ACTOR, now=NOW)
    _correct(hub_ctx, 1, corrected)
    batch = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                         full=full, actor=ACTOR, now=NOW + timedelta(minutes=1))
    assert batch.status == status
    if status == "held":
        assert (batch.held_reason or "").startswith(
            f"would add or change {corrected} records against the 10")
    else:
        assert batch.held_reason is None


def test_a_mass_addition_is_held(hub_ctx: HubContext, tmp_path: Path) -> None:
    """Three new records on a partner's ten is more than its 20 % limit: held."""
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc", ADD_GATE)
    _add(hub_ctx, 1, 10)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path, full=True,
                 actor=ACTOR, now=NOW)
    _add(hub_ctx, 11, 3)
    batch = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                         full=False, actor=ACTOR, now=NOW + timedelta(minutes=1))
    assert batch.status == "held"
    assert (batch.held_reason or "").startswith("would add or change 3 records against the 10")


@pytest.mark.parametrize(("min_records", "removed", "status"), [
    (10, 2, "ready"), (10, 3, "held"), (20, 5, "ready"),
], ids=["exactly-the-limit", "at-min-records", "below-min-records"])
def test_the_removal_gate_at_its_edges(hub_ctx: HubContext, tmp_path: Path, min_records: int,
                                       removed: int, status: str) -> None:
    """The limit is a share not to exceed (2 of 10 at 20 % goes out); a partner holding
    exactly ``min_records`` is gated; a smaller list is not, however much of it goes."""
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc", ReleaseGate(0.2, 1.0, min_records=min_records))
    _add(hub_ctx, 1, 10)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path, full=True,
                 actor=ACTOR, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        for n in range(1, removed + 1):
            registry.remove_listing(s, f"L-B-{n:05d}", reason="performed", actor=ACTOR, now=NOW)
    batch = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                         full=False, actor=ACTOR, now=NOW + timedelta(minutes=1))
    assert (batch.status, batch.counts["exits"]) == (status, removed)
    if status == "held":
        assert (batch.held_reason or "").startswith(f"would remove {removed} of the 10")


def test_the_manifest_is_published_last_once_the_batch_is_recorded(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A partner (or a sync) takes a batch once its manifest is there: the data file and
    the signature must already be in place, and the batch recorded, or it takes half a
    batch, or one the hub does not know it sent."""
    published: list[tuple[str, bool]] = []
    original = batch_files.publish

    def publish(tmp: Path, path: Path) -> None:
        original(tmp, path)
        with hub_ctx.sessions() as s:
            published.append((path.name, s.scalar(select(func.count()).select_from(
                PartnerBatch)) == 1))

    monkeypatch.setattr(batch_files, "publish", publish)
    monkeypatch.setattr(batches, "publish", publish)
    _add(hub_ctx, 1, 3)
    result = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"),
                          KeyStore(tmp_path / "instance"), out_dir=tmp_path, full=True,
                          actor=ACTOR, now=NOW)
    manifest = result.manifest_path.name
    assert [name for name, _ in published] == [
        result.data_path.name, manifest.replace(".json", ".jws"), manifest]
    assert published[-1] == (manifest, True)


def test_a_delta_of_more_records_than_one_lookup_chunk_carries_each_once(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The changed records stream from the database in chunks while each chunk's earlier
    states are looked up on the same connection: none may be lost or read twice."""
    import hub.services.snapshots as snapshots
    monkeypatch.setattr(snapshots, "_LOOKUP", 3)
    keys = KeyStore(tmp_path / "instance")
    adapter = _adapter("ndrc")
    _add(hub_ctx, 1, 4)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                 full=True, actor=ACTOR, now=NOW)
    _add(hub_ctx, 5, 6)
    with session_scope(hub_ctx.sessions) as s:
        for n in (1, 3):
            registry.remove_listing(s, f"L-B-{n:05d}", reason="performed", actor=ACTOR,
                                    now=NOW)
    delta = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=tmp_path,
                         full=False, actor=ACTOR, now=NOW + timedelta(minutes=5))
    rows = [orjson.loads(x) for x in delta.data_path.read_bytes().splitlines()]
    assert sorted((r["record_key"], r["status"]) for r in rows) == sorted(
        [(f"L-B-{n:05d}", "active") for n in range(5, 11)]
        + [("L-B-00001", "removed"), ("L-B-00003", "removed")])


@pytest.mark.parametrize("full", [True, False], ids=["full", "delta-asked"])
def test_after_a_partners_scope_changed_its_next_batch_is_a_full_snapshot_held(
        hub_ctx: HubContext, tmp_path: Path, full: bool) -> None:
    """mof took listings; its file now says orders. Nothing in the log changed, so a
    delta would be empty and leave it holding 20 listings it no longer gets and none
    of the 20 orders it now does: the next batch is a full snapshot, and since it
    replaces the partner's whole list, it waits for an operator."""
    import dataclasses

    from hub.config.partners import adapter_for, default_partners_dir, load_partners
    from tests.samples import person_restriction
    keys = KeyStore(tmp_path / "instance")
    config = dataclasses.replace(load_partners(default_partners_dir())["mof"],
                                 release_gate=ReleaseGate(0.05, 0.05, 10))
    listings = adapter_for(config)
    orders = adapter_for(dataclasses.replace(
        config, scope=dataclasses.replace(config.scope, records=("restriction",))))
    assert listings.shape_digest() != orders.shape_digest()
    with session_scope(hub_ctx.sessions) as s:
        for n in range(1, 21):
            registry.add_listing(s, person_listing(listing_id=f"L-S-{n:03d}",
                                                   case_number=f"（2024）京0105执{n}号"),
                                 actor=ACTOR, now=NOW)
            registry.issue_restriction(s, person_restriction(order_id=f"R-S-{n:03d}",
                                                             listing_id=None),
                                       actor=ACTOR, now=NOW)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, listings, keys, out_dir=tmp_path,
                         full=True, actor=ACTOR, now=NOW)
    assert (first.status, first.counts["active"]) == ("ready", 20)
    same = export_batch(hub_ctx.engine, hub_ctx.sessions, listings, keys, out_dir=tmp_path,
                        full=False, actor=ACTOR, now=NOW + timedelta(minutes=1))
    assert (same.kind, same.status) == ("delta", "ready")  # the same shape: a delta
    second = export_batch(hub_ctx.engine, hub_ctx.sessions, orders, keys, out_dir=tmp_path,
                          full=full, actor=ACTOR, now=NOW + timedelta(minutes=5))
    assert (second.kind, second.counts["active"]) == ("full", 20)
    assert second.status == "held"
    assert second.held_reason is not None
    assert "scope, format or names changed since batch" in second.held_reason


def test_a_key_is_not_retired_while_a_batch_it_signed_is_unacknowledged(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """A partner verifies a batch's JWS against /.well-known/jwks.json: with its key
    retired, a removal the batch carries would be refused as unverifiable."""
    _add(hub_ctx, 1, 2)
    exported = invoke(runner, "export", "ndrc", "--full", "--out", tmp_path)
    assert exported.exit_code == 0, exported.output
    keys = KeyStore(hub_ctx.settings.instance_path)
    signer = keys.active().kid
    (batch,) = batches.list_batches(hub_ctx.sessions, "ndrc")
    assert batch.signed_by == signer
    assert invoke(runner, "keys", "rotate").exit_code == 0
    refused = invoke(runner, "keys", "retire", signer)
    assert refused.exit_code == 1
    assert f"1 batch(es) signed with {signer} are not acknowledged yet (the first: " \
        f"{batch.batch_id})" in refused.output
    assert signer in {k["kid"] for k in keys.jwks()["keys"]}
    with session_scope(hub_ctx.sessions) as s:
        acknowledge(s, "ndrc", batch_id=batch.batch_id, now=NOW)
    retired = invoke(runner, "keys", "retire", signer)
    assert retired.exit_code == 0, retired.output
    assert signer not in {k["kid"] for k in keys.jwks()["keys"]}


def test_retire_force_lets_a_key_go_with_batches_pending(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    _add(hub_ctx, 1, 1)
    assert invoke(runner, "export", "ndrc", "--full", "--out", tmp_path).exit_code == 0
    signer = KeyStore(hub_ctx.settings.instance_path).active().kid
    assert invoke(runner, "keys", "rotate").exit_code == 0
    assert invoke(runner, "keys", "retire", signer, "--force").exit_code == 0


def _lost_reply(monkeypatch: pytest.MonkeyPatch, *, committed: bool) -> None:
    """The next commit raises as a dropped connection does: after the server committed
    (the reply was lost) or before."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    original = Session.commit

    def commit(self: Session) -> None:
        monkeypatch.setattr(Session, "commit", original)  # once
        if committed:
            original(self)
        else:
            self.rollback()
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Session, "commit", commit)


def _outbox(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_a_commit_whose_reply_is_lost_keeps_the_batch_it_recorded(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its files are not taken away from under its record: the removal it carries would
    reach no file, and the next delta starts after it."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=True, actor=ACTOR, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        registry.remove_listing(s, "L-B-00001", reason="performed", actor=ACTOR, now=NOW)
    _lost_reply(monkeypatch, committed=True)
    delta = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    assert delta.manifest_path.exists()
    assert delta.data_path.exists()
    assert [b.batch_id for b in batches.list_batches(hub_ctx.sessions, "ndrc")] == [
        first.batch_id, delta.batch_id]
    rows = [orjson.loads(line) for line in delta.data_path.read_bytes().splitlines()]
    assert [(r["record_key"], r["status"]) for r in rows if "record_key" in r] == [
        ("L-B-00001", "removed")]


def test_a_commit_that_fails_leaves_no_file(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    _lost_reply(monkeypatch, committed=False)
    with pytest.raises(Exception, match="server closed the connection"):
        export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                     out_dir=out, full=True, actor=ACTOR, now=NOW)
    assert _outbox(out) == []
    assert batches.list_batches(hub_ctx.sessions, "ndrc") == []


def _died_before_its_record(ctx: HubContext, keys: KeyStore, out: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """ndrc's full export, its commit failing with the database gone (so nothing can
    tell whether it happened); the caller undoes the failure (monkeypatch.undo())."""
    _lost_reply(monkeypatch, committed=False)

    def unreadable(*_args: Any) -> bool:
        raise ConnectionError("the database is gone")

    monkeypatch.setattr(batches, "_recorded", unreadable)
    with pytest.raises(ConnectionError):
        export_batch(ctx.engine, ctx.sessions, _adapter("ndrc"), keys,
                     out_dir=out, full=True, actor=ACTOR, now=NOW)


def test_files_of_an_export_that_died_before_its_record_are_set_aside(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill before the commit (here: a commit that fails with the database gone, so
    nothing can tell whether it happened) leaves a signed batch without its manifest.
    The next export moves it out of the outbox, audited, and writes the range again:
    one chain, no batch the hub does not know."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    _died_before_its_record(hub_ctx, keys, out, monkeypatch)
    left = _outbox(out)
    assert [n for n in left if n.endswith(".manifest.json")] == []  # not a batch
    unfinished = out / ".ndrc_full_0123456789abcdef0123456789abcdef.jsonl.part"
    unfinished.write_bytes(b"half a file")  # as a kill while writing the data leaves
    monkeypatch.undo()
    again = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=True, actor=ACTOR, now=NOW + timedelta(hours=1))
    assert _outbox(out) == sorted(
        [again.data_path.name, again.manifest_path.name,
         again.manifest_path.name.replace(".json", ".jws")])
    # Under their own names: the manifest's part is still no manifest a sync would take.
    assert sorted(p.name for p in (out / "unrecorded").iterdir()) == left
    (batch,) = batches.list_batches(hub_ctx.sessions, "ndrc")
    assert (batch.batch_id, batch.from_seq, batch.to_seq) == (again.batch_id, 0, 2)
    with hub_ctx.sessions() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "batch.unrecorded"))
        assert entry.target == "ndrc"


def test_a_batch_set_aside_in_the_same_second_never_shares_its_id(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The export run again within the second of the one that died: its batch takes
    the next second, so the set-aside files and the audit's ``batch.unrecorded`` name
    another batch than the one recorded (two different files under one id otherwise)."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    _died_before_its_record(hub_ctx, keys, out, monkeypatch)
    monkeypatch.undo()
    again = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=True, actor=ACTOR, now=NOW)
    with hub_ctx.sessions() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "batch.unrecorded"))
    assert entry.detail["batch_id"] != again.batch_id
    aside = {p.name for p in (out / "unrecorded").iterdir()}
    assert again.data_path.name not in aside
    assert again.manifest_path.name.replace(".manifest.json", "") not in {
        n.split(".")[0] for n in aside}


@contextmanager
def killed_after_commit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The body's export or release dies between its commit and its manifest's name."""

    def killed(_self: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_files.Pending, "complete", killed)
    with pytest.raises(KeyboardInterrupt):
        yield
    monkeypatch.undo()


def test_a_recorded_batch_whose_manifest_was_not_named_is_completed_next_time(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill between the commit and the manifest's name: the batch is recorded and
    whole but for that name, which the partner's next export gives it first."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)

    with killed_after_commit(monkeypatch):
        export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                     out_dir=out, full=True, actor=ACTOR, now=NOW)
    (first,) = batches.list_batches(hub_ctx.sessions, "ndrc")
    manifest = out / f"ndrc_full_0-2_{NOW:%Y%m%dT%H%M%SZ}.manifest.json"
    assert not manifest.exists()
    _add(hub_ctx, 3, 1)
    delta = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    assert manifest.exists()
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == first.manifest_sha256
    assert (delta.kind, delta.from_seq, delta.to_seq) == ("delta", 2, 3)
    assert not (out / "unrecorded").exists()


def test_an_interrupted_batch_is_completed_by_an_export_to_another_folder(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys, first_out, other = KeyStore(tmp_path / "instance"), tmp_path / "a", tmp_path / "b"
    _add(hub_ctx, 1, 2)

    with killed_after_commit(monkeypatch):
        export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                     out_dir=first_out, full=True, actor=ACTOR, now=NOW)
    export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys, out_dir=other,
                 full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    assert (first_out / f"ndrc_full_0-2_{NOW:%Y%m%dT%H%M%SZ}.manifest.json").exists()


HOLD_30_PERCENT = ReleaseGate(max_removed_share=0.2, max_added_share=1.0, min_records=5)


def _about_to_hold(hub_ctx: HubContext, keys: KeyStore, out: Path) -> PartnerAdapter:
    """ndrc's full batch of 10 listings, then 3 of them removed: its next batch is held."""
    adapter = _adapter("ndrc", HOLD_30_PERCENT)
    _add(hub_ctx, 1, 10)
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=out, full=True,
                 actor=ACTOR, now=NOW)
    with session_scope(hub_ctx.sessions) as s:
        for n in (1, 2, 3):
            registry.remove_listing(s, f"L-B-{n:05d}", reason="performed", actor=ACTOR, now=NOW)
    return adapter


def _held_removal(hub_ctx: HubContext, keys: KeyStore, out: Path) -> batches.BatchResult:
    adapter = _about_to_hold(hub_ctx, keys, out)
    held = export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=out,
                        full=False, actor=ACTOR, now=NOW + timedelta(minutes=1))
    assert held.status == "held"
    return held


def test_a_held_batch_is_signed_again_when_released(
        hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """It may wait longer than the key that signed it stays published: released after
    that key is retired, it still verifies against the hub's JWKS."""
    keys, out = KeyStore(hub_ctx.settings.instance_path), tmp_path / "out"
    held = _held_removal(hub_ctx, keys, out)
    old = keys.active().kid
    assert invoke(runner, "keys", "rotate").exit_code == 0
    assert invoke(runner, "keys", "retire", old, "--force").exit_code == 0
    released = release_batch(hub_ctx.sessions, held.batch_id, keys, actor=ACTOR)
    assert released.signed_by == keys.active().kid != old
    manifest = out / held.manifest_path.name
    verify_detached(manifest.with_suffix(".jws").read_text(), manifest.read_bytes(),
                    keys.jwks())
    assert sorted(p.name for p in (out / "held").iterdir()) == []


def test_a_release_killed_after_its_commit_is_completed_by_the_next_export(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    adapter = _adapter("ndrc", HOLD_30_PERCENT)
    held = _held_removal(hub_ctx, keys, out)

    with killed_after_commit(monkeypatch):
        release_batch(hub_ctx.sessions, held.batch_id, keys, actor=ACTOR)
    manifest = out / held.manifest_path.name
    assert not manifest.exists()  # released in the record, not yet whole in the outbox
    export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=out, full=False,
                 actor=ACTOR, now=NOW + timedelta(minutes=2))
    verify_detached(manifest.with_suffix(".jws").read_text(), manifest.read_bytes(),
                    keys.jwks())


def test_an_export_the_gate_holds_exits_3(hub_ctx: HubContext, tmp_path: Path) -> None:
    """Written, not to be sent: a nightly job's monitor sees it without reading stderr."""
    instance = tmp_path / "gated"
    (instance / "partners").mkdir(parents=True)
    (instance / "partners" / "ndrc.toml").write_text(
        "[release_gate]\nmax_removed_share = 0.2\nmin_records = 5\n")
    settings = dataclasses.replace(hub_ctx.settings, instance_path=instance)
    runner = create_app(context=dataclasses.replace(hub_ctx, settings=settings)
                        ).test_cli_runner()
    _add(hub_ctx, 1, 10)
    assert invoke(runner, "export", "ndrc", "--out", tmp_path / "out").exit_code == 0
    with session_scope(hub_ctx.sessions) as s:
        for n in (1, 2, 3):
            registry.remove_listing(s, f"L-B-{n:05d}", reason="performed", actor=ACTOR, now=NOW)
    held = invoke(runner, "export", "ndrc", "--out", tmp_path / "out")
    assert held.exit_code == 3
    assert "HELD for review: would remove 3 of the 10" in held.stderr


def test_a_release_killed_between_link_and_unlink_can_be_run_again(
        hub_ctx: HubContext, tmp_path: Path) -> None:
    """The data file linked into the outbox, its held name not yet removed: the same
    file under both names is a move already made, not a stranger in the way."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    held = _held_removal(hub_ctx, keys, out)
    os.link(held.data_path, out / held.data_path.name)  # as the killed release left it
    released = release_batch(hub_ctx.sessions, held.batch_id, keys, actor=ACTOR)
    assert released.status == "released"
    assert (out / held.manifest_path.name).exists()
    assert not held.data_path.exists()


def test_a_held_batch_whose_export_stopped_after_its_record_can_be_released(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    adapter = _about_to_hold(hub_ctx, keys, out)
    with killed_after_commit(monkeypatch):
        export_batch(hub_ctx.engine, hub_ctx.sessions, adapter, keys, out_dir=out,
                     full=False, actor=ACTOR, now=NOW + timedelta(minutes=1))
    held = next(b for b in batches.list_batches(hub_ctx.sessions, "ndrc") if b.status == "held")
    release_batch(hub_ctx.sessions, held.batch_id, keys, actor=ACTOR)
    assert sorted(p.name for p in (out / "held").iterdir()) == []
    assert [p.name for p in out.glob("ndrc_delta_*.manifest.json")]


def test_a_key_may_retire_once_its_batches_are_acknowledged_by_seq(
        hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path) -> None:
    _add(hub_ctx, 1, 2)
    assert invoke(runner, "export", "ndrc", "--full", "--out", tmp_path).exit_code == 0
    _add(hub_ctx, 3, 1)
    assert invoke(runner, "export", "ndrc", "--out", tmp_path).exit_code == 0
    signer = KeyStore(hub_ctx.settings.instance_path).active().kid
    assert invoke(runner, "keys", "rotate").exit_code == 0
    assert invoke(runner, "keys", "retire", signer).exit_code == 1
    with session_scope(hub_ctx.sessions) as s:
        acknowledge(s, "ndrc", through_seq=3, now=NOW)  # past both batches
    assert invoke(runner, "keys", "retire", signer).exit_code == 0


@pytest.mark.parametrize("damage", ["manifest part", "data", "signature", "data and signature"])
def test_a_recorded_batch_that_lost_files_gets_them_again(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        damage: str) -> None:
    """Its manifest part lost or damaged: rebuilt from the record. Its data file or
    signature deleted (by hand, an older backup restored): written again from the log
    and the keyring, the very bytes (the record's digests say so), audited; the chain
    goes on from it."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    with killed_after_commit(monkeypatch):
        export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys, out_dir=out,
                     full=True, actor=ACTOR, now=NOW)
    (first,) = batches.list_batches(hub_ctx.sessions, "ndrc")
    stem = f"ndrc_full_0-2_{NOW:%Y%m%dT%H%M%SZ}"
    data, jws = out / f"{stem}.jsonl", out / f"{stem}.manifest.jws"
    original = {p.name: p.read_bytes() for p in (data, jws)}
    if damage == "manifest part":
        (out / f".{stem}.manifest.json.part").write_bytes(b"{")
    if damage.startswith("data"):
        data.unlink()
    if damage.endswith("signature"):
        jws.unlink()
    _add(hub_ctx, 3, 1)
    second = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                          out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    manifest = out / f"{stem}.manifest.json"
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == first.manifest_sha256
    assert {p.name: p.read_bytes() for p in (data, jws)} == original
    verify_detached(jws.read_text(), manifest.read_bytes(), keys.jwks())
    assert second.from_seq == 2  # chained on the batch made whole
    restored = damage != "manifest part"
    with hub_ctx.sessions() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "batch.restored")))
    assert [e.detail["batch_id"] for e in entries] == ([first.batch_id] if restored else [])


def test_a_lost_data_file_the_log_cannot_give_again_stops_the_chain(
        hub_ctx: HubContext, tmp_path: Path) -> None:
    """The partner's fields changed since: the log gives other bytes, which are not
    the batch its partner may be verifying against. Nothing is published in its
    place, and the partner's batches stop there, said plainly."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=True, actor=ACTOR, now=NOW)
    first.data_path.unlink()
    config = load_partners(default_partners_dir())["ndrc"]
    fewer = dataclasses.replace(config, scope=dataclasses.replace(
        config.scope, fields=config.scope.fields[:-1]))
    _add(hub_ctx, 3, 1)
    with pytest.raises(Conflict, match="no longer gives the same bytes"):
        export_batch(hub_ctx.engine, hub_ctx.sessions, adapter_for(fewer), keys,
                     out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    assert not first.data_path.exists()
    assert [p.name for p in out.iterdir() if p.name.endswith(".part")] == []
    assert len(batches.list_batches(hub_ctx.sessions, "ndrc")) == 1


def test_a_lost_signature_whose_key_is_retired_is_signed_by_the_active_key(
        hub_ctx: HubContext, tmp_path: Path) -> None:
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=True, actor=ACTOR, now=NOW)
    signer = keys.active().kid
    active = keys.rotate(NOW)
    keys.retire(signer)  # as `hub keys retire --force` does
    jws = first.manifest_path.with_suffix(".jws")
    jws.unlink()
    export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                 out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    verify_detached(jws.read_text(), first.manifest_path.read_bytes(), keys.jwks())
    with hub_ctx.sessions() as s:
        assert s.get(PartnerBatch, first.batch_id).signed_by == active  # type: ignore[union-attr]


def test_a_batch_whose_files_are_all_gone_is_left_gone(
        hub_ctx: HubContext, tmp_path: Path) -> None:
    """A partner pulling the API never acknowledges its batch files, and an operator
    clears them (or moves the outbox): nothing of them is written again, every export."""
    keys = KeyStore(tmp_path / "instance")
    _add(hub_ctx, 1, 2)
    first = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=tmp_path / "old", full=True, actor=ACTOR, now=NOW)
    for path in first.data_path.parent.iterdir():
        path.unlink()
    first.data_path.parent.rmdir()
    export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                 out_dir=tmp_path / "new", full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    assert not first.data_path.parent.exists()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_exports_at_once_on_sqlite_wait_for_each_other(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite has no advisory lock: without the lock file, the second export's settle
    took the first one's files, not yet named, for an interrupted export's."""
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    _add(hub_ctx, 1, 2)
    export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys, out_dir=out,
                 full=True, actor=ACTOR, now=NOW)
    _add(hub_ctx, 3, 1)
    original, writing = batch_files.write_synced, threading.Event()

    def slow(path: Path, data: bytes) -> None:
        if path.name.endswith(".manifest.json.part"):
            writing.set()
            time.sleep(1.0)  # a slow disk, just before the commit
        original(path, data)

    monkeypatch.setattr(batches, "write_synced", slow)
    errors: list[BaseException] = []

    def first() -> None:
        try:
            export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert writing.wait(10)
    second = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                          out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=2))
    thread.join(10)
    assert errors == []
    recorded = batches.list_batches(hub_ctx.sessions, "ndrc")
    assert [(b.from_seq, b.to_seq) for b in recorded] == [(0, 2), (2, 3), (3, 3)]
    assert recorded[-1].batch_id == second.batch_id
    assert len(list(out.glob("*.manifest.json"))) == 3
    assert not (out / "unrecorded").exists()


def test_an_ack_covers_every_batch_it_reaches_but_not_a_held_one(
        hub_ctx: HubContext, tmp_path: Path) -> None:
    keys, out = KeyStore(tmp_path / "instance"), tmp_path / "out"
    held = _held_removal(hub_ctx, keys, out)
    _add(hub_ctx, 20, 1)
    later = export_batch(hub_ctx.engine, hub_ctx.sessions, _adapter("ndrc"), keys,
                         out_dir=out, full=False, actor=ACTOR, now=NOW + timedelta(hours=1))
    with session_scope(hub_ctx.sessions) as s:
        acknowledge(s, "ndrc", through_seq=held.to_seq, now=NOW)
    statuses = [b.status for b in batches.list_batches(hub_ctx.sessions, "ndrc")]
    assert statuses == ["acknowledged", "held", "held"]  # the later one follows the held
    assert later.status == "held"
    release_batch(hub_ctx.sessions, held.batch_id, keys, actor=ACTOR)
    with session_scope(hub_ctx.sessions) as s:
        acknowledge(s, "ndrc", batch_id=later.batch_id, now=NOW)  # the last covers both
    assert [b.status for b in batches.list_batches(hub_ctx.sessions, "ndrc")] == [
        "acknowledged"] * 3
