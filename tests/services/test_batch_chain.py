"""The batch chain under the release gate: what a held batch holds back, what the gate
counts, and files that are never replaced or left half-recorded."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from hub.config.partners import adapter_for, default_partners_dir, load_partners
from hub.context import HubContext
from hub.core.signing import verify_detached
from hub.db.engine import session_scope
from hub.db.models import AuditEntry, PartnerBatch, PartnerProgress
from hub.errors import ConfigError, Conflict
from hub.keystore import KeyStore
from hub.partners.base import PartnerAdapter
from hub.partners.model import ReleaseGate
from hub.services import registry
from hub.services.actors import Actor
from hub.services.batches import BatchResult, export_batch, release_batch
from hub.services.feed import high_water
from hub.services.snapshots import delta_rows
from tests.conftest import NOW, invoke
from tests.samples import org_restriction, person_listing

ACTOR = Actor("cli:test")
OPERATOR = Actor("cli:operator")
#: Removing more than 2 of 10 is held.
GATE = ReleaseGate(max_removed_share=0.2, max_added_share=1.0, min_records=5)


def _adapter(pid: str, gate: ReleaseGate | None = None) -> PartnerAdapter:
    config = load_partners(default_partners_dir())[pid]
    if gate is not None:
        config = dataclasses.replace(config, release_gate=gate)
    return adapter_for(config)


def _add(ctx: HubContext, numbers: range) -> None:
    with session_scope(ctx.sessions) as s:
        for n in numbers:
            registry.add_listing(s, person_listing(listing_id=f"L-C-{n:05d}",
                                                   case_number=f"（2024）京0105执{n}号"),
                                 actor=ACTOR, now=NOW)


def _remove(ctx: HubContext, numbers: range | tuple[int, ...]) -> None:
    with session_scope(ctx.sessions) as s:
        for n in numbers:
            registry.remove_listing(s, f"L-C-{n:05d}", reason="performed", actor=ACTOR, now=NOW)


def _export(ctx: HubContext, adapter: PartnerAdapter, keys: KeyStore, out: Path,
            minute: float, full: bool = False) -> BatchResult:
    return export_batch(ctx.engine, ctx.sessions, adapter, keys, out_dir=out, full=full,
                        actor=ACTOR, now=NOW + timedelta(minutes=minute))


def _status(ctx: HubContext, batch_id: str) -> str:
    with ctx.sessions() as s:
        batch = s.get(PartnerBatch, batch_id)
        assert batch is not None
        return batch.status


def _records(ctx: HubContext, partner: str) -> int:
    with ctx.sessions() as s:
        progress = s.get(PartnerProgress, partner)
        assert progress is not None
        return progress.records


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "instance")


def _ten_sent(ctx: HubContext, adapter: PartnerAdapter, keys: KeyStore, out: Path) -> None:
    """Ten listings, and the partner's first full batch of them."""
    _add(ctx, range(1, 11))
    _export(ctx, adapter, keys, out, 0, full=True)


def _held_removal(ctx: HubContext, adapter: PartnerAdapter, keys: KeyStore,
                  out: Path) -> BatchResult:
    _ten_sent(ctx, adapter, keys, out)
    _remove(ctx, (1, 2, 3))  # 30 %
    held = _export(ctx, adapter, keys, out, 1)
    assert held.status == "held"
    return held


def test_a_full_snapshot_after_a_held_batch_waits_with_it(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    """It carries the held removals (the partner still has all 10 records)."""
    adapter = _adapter("ndrc", GATE)
    held = _held_removal(hub_ctx, adapter, keys, tmp_path)
    full = _export(hub_ctx, adapter, keys, tmp_path, 2, full=True)
    assert (full.status, full.held_reason) == ("held", f"follows held batch {held.batch_id}")


def test_the_batches_after_a_held_one_go_out_when_it_is_released(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path, runner: FlaskCliRunner
) -> None:
    adapter = _adapter("ndrc", GATE)
    held = _held_removal(hub_ctx, adapter, keys, tmp_path)
    _add(hub_ctx, range(20, 21))
    child = _export(hub_ctx, adapter, keys, tmp_path, 2)
    grandchild = _export(hub_ctx, adapter, keys, tmp_path, 3)
    assert child.status == grandchild.status == "held"
    # Held batches wait in the outbox's held folder: nothing in the outbox to take.
    outbox = sorted(p.name for p in tmp_path.glob("ndrc_*.manifest.json"))
    assert len(outbox) == 1  # the first full batch only
    for batch in (held, child, grandchild):
        assert batch.manifest_path.parent == tmp_path / "held"
        assert batch.manifest_path.exists()
        assert batch.data_path.parent == tmp_path / "held"
    # Alone, the child would leave the held removals out of the partner's chain.
    with pytest.raises(Conflict, match=f"follows held batch {held.batch_id}"):
        release_batch(hub_ctx.sessions, child.batch_id, keys, actor=OPERATOR)
    assert _status(hub_ctx, child.batch_id) == "held"
    result = invoke(runner, "batches", "release", held.batch_id)
    assert result.exit_code == 0, result.output
    assert [_status(hub_ctx, b.batch_id) for b in (held, child, grandchild)] == [
        "released"] * 3
    for batch in (held, child, grandchild):
        for path in (batch.data_path, batch.manifest_path,
                     batch.manifest_path.with_suffix(".jws")):
            assert not path.exists()
            assert (tmp_path / path.name).exists()
        body = (tmp_path / batch.manifest_path.name).read_bytes()
        # Signed again on release, by the releasing hub's active key: its JWKS verifies.
        verify_detached((tmp_path / batch.manifest_path.with_suffix(".jws").name).read_text(),
                        body, KeyStore(hub_ctx.settings.instance_path).jwks())
    assert f"its files are in {tmp_path}" in result.output
    with hub_ctx.sessions() as s:
        released = [e.detail for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action == "batch.released")
            .order_by(AuditEntry.id))]
    assert [d["batch_id"] for d in released] == [held.batch_id, child.batch_id,
                                                  grandchild.batch_id]
    assert released[2]["with"] == held.batch_id


def test_a_batch_held_for_its_own_reason_stops_the_release_of_its_followers(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    adapter = _adapter("ndrc", GATE)
    held = _held_removal(hub_ctx, adapter, keys, tmp_path)
    _remove(hub_ctx, (4, 5, 6))  # 3 of the 7 the chain now leads to: held on its own
    own = _export(hub_ctx, adapter, keys, tmp_path, 2)
    assert (own.held_reason or "").startswith("would remove 3 of the 7")
    follower = _export(hub_ctx, adapter, keys, tmp_path, 3)
    release_batch(hub_ctx.sessions, held.batch_id, keys, actor=OPERATOR)
    assert (_status(hub_ctx, own.batch_id), _status(hub_ctx, follower.batch_id)) == (
        "held", "held")
    release_batch(hub_ctx.sessions, own.batch_id, keys, actor=OPERATOR)
    assert _status(hub_ctx, follower.batch_id) == "released"


def test_a_held_batch_whose_files_went_missing_is_not_released(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path, runner: FlaskCliRunner
) -> None:
    adapter = _adapter("ndrc", GATE)
    held = _held_removal(hub_ctx, adapter, keys, tmp_path)
    held.data_path.unlink()
    result = invoke(runner, "batches", "release", held.batch_id)
    assert result.exit_code == 1
    assert f"{held.data_path} is missing" in result.output
    assert _status(hub_ctx, held.batch_id) == "held"


def test_corrections_do_not_count_as_records_the_partner_holds(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    adapter = _adapter("ndrc", GATE)
    _ten_sent(hub_ctx, adapter, keys, tmp_path)
    with session_scope(hub_ctx.sessions) as s:
        for n in range(1, 11):
            registry.correct_listing(s, f"L-C-{n:05d}", {"obligation": "偿还借款本金人民币1元"},
                                     reason="data_inaccurate", actor=ACTOR, now=NOW)
    corrected = _export(hub_ctx, adapter, keys, tmp_path, 1)
    assert corrected.counts == {"records": 10, "active": 10, "exits": 0}
    assert _records(hub_ctx, "ndrc") == 10
    _remove(hub_ctx, (1, 2, 3))  # still 30 % of 10, not 15 % of 20
    assert _export(hub_ctx, adapter, keys, tmp_path, 2).status == "held"


def test_a_record_added_and_removed_in_one_batch_is_no_exit_of_a_held_record(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    adapter = _adapter("ndrc", GATE)
    _ten_sent(hub_ctx, adapter, keys, tmp_path)
    _add(hub_ctx, range(50, 54))
    _remove(hub_ctx, range(50, 54))
    batch = _export(hub_ctx, adapter, keys, tmp_path, 1)
    # Sent as removals (DESIGN.md §2), but the partner's 10 records are all still there,
    # so 4 "exits" of 10 must not hold the batch either.
    assert (batch.counts["exits"], batch.status) == (4, "ready")
    assert _records(hub_ctx, "ndrc") == 10


def test_a_released_person_gets_one_exit_not_another_when_the_order_is_lifted(
    hub_ctx: HubContext,
) -> None:
    adapter = _adapter("railway")  # persons only: an organisation's order reaches its people
    with session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, org_restriction(
            order_id="R-C-1", listing_id=None, bound_persons=[
                {"name": "李娜", "id_number": "320102197907040241",
                 "role": "legal_representative"},
                {"name": "王强", "id_number": "110105198503150019", "role": "actual_controller"},
            ]), actor=ACTOR, now=NOW)
    seqs = []
    with hub_ctx.engine.connect() as conn:
        seqs.append(high_water(conn))
    with session_scope(hub_ctx.sessions) as s:
        registry.release_person(s, "R-C-1", "320102197907040241",
                                reason="representative_replaced", actor=ACTOR, now=NOW)
    with hub_ctx.engine.connect() as conn:
        seqs.append(high_water(conn))
    with session_scope(hub_ctx.sessions) as s:
        registry.lift_restriction(s, "R-C-1", reason="performed", actor=ACTOR, now=NOW)
    with hub_ctx.engine.connect() as conn:
        seqs.append(high_water(conn))
        first = [(r["record_key"], r["status"]) for r in delta_rows(conn, adapter, *seqs[:2])]
        second = [(r["record_key"], r["status"]) for r in delta_rows(conn, adapter, *seqs[1:])]
    assert first == [("R-C-1#legal_representative#320102197907040241", "released")]
    assert second == [("R-C-1#actual_controller#110105198503150019", "lifted")]


def test_two_batches_in_one_second_get_two_names(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    """Two empty deltas of one range: the second must not take the first one's name."""
    adapter = _adapter("ndrc")
    _add(hub_ctx, range(1, 4))
    _export(hub_ctx, adapter, keys, tmp_path, 0, full=True)
    first = _export(hub_ctx, adapter, keys, tmp_path, 1)
    recorded = first.manifest_path.read_bytes()
    second = _export(hub_ctx, adapter, keys, tmp_path, 1)
    assert first.manifest_path.read_bytes() == recorded
    assert second.batch_id != first.batch_id
    assert second.manifest_path != first.manifest_path
    manifest = orjson.loads(second.manifest_path.read_bytes())
    assert manifest["previous_batch_id"] == first.batch_id
    assert manifest["created_at"] == (NOW + timedelta(minutes=1, seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_a_batch_that_cannot_be_signed_leaves_no_file_and_no_record(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    adapter = _adapter("ndrc")
    _add(hub_ctx, range(1, 4))
    keys.path.mkdir(parents=True)
    (keys.path / "keyring.json").write_text("not json")
    out = tmp_path / "out"
    with pytest.raises(ConfigError):
        _export(hub_ctx, adapter, keys, out, 0, full=True)
    assert sorted(p.name for p in out.iterdir()) == []
    with hub_ctx.sessions() as s:
        assert s.scalars(select(PartnerBatch)).first() is None


def test_a_batch_whose_record_fails_takes_its_files_away(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    """A name on disk that is not free: nothing of the new batch stays, the old file stays."""
    adapter = _adapter("ndrc")
    _add(hub_ctx, range(1, 4))
    out = tmp_path / "out"
    out.mkdir()
    taken = out / f"ndrc_full_0-3_{NOW:%Y%m%dT%H%M%SZ}.manifest.json"
    taken.write_bytes(b"someone else's")
    with pytest.raises(Conflict, match="already exists"):
        _export(hub_ctx, adapter, keys, out, 0, full=True)
    assert sorted(p.name for p in out.iterdir()) == [taken.name]
    assert taken.read_bytes() == b"someone else's"
    with hub_ctx.sessions() as s:
        assert s.scalars(select(PartnerBatch)).first() is None


def test_export_to_a_folder_it_cannot_make_names_it_and_why(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    _add(hub_ctx, range(1, 2))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = invoke(runner, "export", "ndrc", "--out", blocker / "sub")
    assert result.exit_code == 1
    assert f"cannot write the batch to {blocker / 'sub'}: Not a directory" in result.output


def test_after_a_full_batch_the_partner_holds_what_it_carried(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    """A full batch replaces the partner's list: the gate then measures the next batch
    against the 8 records it carried, not the 10 the partner held before it."""
    adapter = _adapter("ndrc", GATE)
    _ten_sent(hub_ctx, adapter, keys, tmp_path)
    _remove(hub_ctx, (1, 2))
    full = _export(hub_ctx, adapter, keys, tmp_path, 1, full=True)
    assert (full.status, full.counts["active"]) == ("ready", 8)
    assert _records(hub_ctx, "ndrc") == 8
    _remove(hub_ctx, (3, 4))  # 25 % of 8 (20 % of 10 would go out)
    delta = _export(hub_ctx, adapter, keys, tmp_path, 2)
    assert delta.status == "held"
    assert (delta.held_reason or "").startswith("would remove 2 of the 8")


#: An organisation's order binding two persons: the railway gets one row per person.
_KEEP = {"name": "李娜", "id_number": "320102197907040241", "role": "legal_representative"}
_DROP = {"name": "王强", "id_number": "110105198503150019", "role": "actual_controller"}


def test_a_person_released_then_corrected_off_the_order_gets_no_second_exit(
    hub_ctx: HubContext, keys: KeyStore, tmp_path: Path
) -> None:
    """The railway deleted the released person's row once; a correction that drops the
    person from the order must not send it a withdrawal of a row it no longer holds,
    nor lower the count of records it holds (the release gate measures by it)."""
    adapter = _adapter("railway")
    with session_scope(hub_ctx.sessions) as s:
        registry.issue_restriction(s, org_restriction(
            order_id="R-C-1", listing_id=None, bound_persons=[_KEEP, _DROP]),
            actor=ACTOR, now=NOW)
    full = _export(hub_ctx, adapter, keys, tmp_path, 0, full=True)
    assert full.counts["active"] == 2
    with session_scope(hub_ctx.sessions) as s:
        registry.release_person(s, "R-C-1", _DROP["id_number"],
                                reason="representative_replaced", actor=ACTOR, now=NOW)
    released = _export(hub_ctx, adapter, keys, tmp_path, 1)
    assert released.counts["exits"] == 1
    assert _records(hub_ctx, "railway") == 1
    with session_scope(hub_ctx.sessions) as s:
        registry.correct_restriction(s, "R-C-1", {"bound_persons": [_KEEP]},
                                     reason="data_inaccurate", actor=ACTOR, now=NOW)
    corrected = _export(hub_ctx, adapter, keys, tmp_path, 2)
    text = corrected.data_path.read_bytes().decode("gb18030")
    assert f"R-C-1#actual_controller#{_DROP['id_number']}" not in text
    assert _DROP["id_number"] not in text
    assert corrected.counts["exits"] == 0
    assert _records(hub_ctx, "railway") == 1
