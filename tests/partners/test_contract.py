"""The contract every partner passes, config-only or with code (one test, every file).

For each partner: load, project a fixed sample history, export a full and a
delta batch, validate XML against its XSD (lxml and xmlschema), compare the
full export with the partner's golden file, check the manifest's digests and
counts, and verify the detached JWS against the hub's JWKS.

Golden files change only through the documented command:
    HUB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/partners/test_contract.py
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from hub.config.partners import adapter_for, default_partners_dir, load_partners
from hub.context import HubContext
from hub.core.signing import verify_detached
from hub.db.engine import session_scope
from hub.db.migrate import upgrade
from hub.exporters.xsd import validate_xml, validate_xml_xmlschema
from hub.keystore import KeyStore
from hub.services import registry
from hub.services.actors import Actor
from hub.services.batches import export_batch
from hub.settings import Settings
from tests.samples import (
    org_listing,
    org_restriction,
    person_listing,
    person_restriction,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("HUB_UPDATE_GOLDEN") == "1"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
ACTOR = Actor("cli:contract")
CONFIGS = load_partners(default_partners_dir())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubContext, KeyStore]]:
    """A fixed history on SQLite: the contract is about formats, not backends."""
    tmp = tmp_path_factory.mktemp("contract")
    ctx = HubContext.build(Settings.from_env({
        "HUB_DATABASE_URL": f"sqlite:///{tmp / 'hub.sqlite3'}", "HUB_INSTANCE_PATH": str(tmp)}))
    upgrade(ctx.engine)
    with session_scope(ctx.sessions) as s:
        registry.add_listing(s, person_listing(travel_documents=[
            {"type": "passport", "number": "E12345678"}]), actor=ACTOR, now=T0)
        registry.add_listing(s, org_listing(decided_on="2025-06-01", listed_on="2025-06-02"),
                             actor=ACTOR, now=T0)
        registry.add_listing(s, person_listing(listing_id="L-2024-000003",
                                               id_number="11010519491231002X", name="赵强",
                                               case_number="（2024）京0105执77号"),
                             actor=ACTOR, now=T0)
        registry.issue_restriction(s, org_restriction(), actor=ACTOR, now=T0)
        registry.issue_restriction(s, person_restriction(), actor=ACTOR, now=T0)
        registry.grant_exemption(s, "R-2024-000001", {
            "person": "110105198503150019", "categories": ["C1", "C9"], "from": "2026-11-25",
            "until": "2026-12-10", "reason": "funeral"}, actor=ACTOR, now=T0)
        registry.remove_listing(s, "L-2024-000003", reason="performed", actor=ACTOR, now=T0)
    yield ctx, KeyStore(tmp / "instance-keys")
    ctx.engine.dispose()


def _check_batch(out: Path, manifest_path: Path, keys: KeyStore) -> dict[str, object]:
    body = manifest_path.read_bytes()
    manifest = orjson.loads(body)
    jws = manifest_path.with_suffix(".jws").read_text()
    verify_detached(jws, body, keys.jwks())
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        if entry["name"].endswith(".xml"):
            assert validate_xml(out / entry["name"], entry["schema"]) == []
            assert validate_xml_xmlschema(out / entry["name"], entry["schema"]) == []
    return dict(manifest)


@pytest.mark.parametrize("partner", sorted(CONFIGS))
def test_partner_contract(partner: str, world: tuple[HubContext, KeyStore],
                          tmp_path: Path) -> None:
    ctx, keys = world
    adapter = adapter_for(CONFIGS[partner])
    full = export_batch(ctx.engine, ctx.sessions, adapter, keys, out_dir=tmp_path, full=True,
                        actor=ACTOR, now=T0 + timedelta(hours=1))
    manifest = _check_batch(tmp_path, full.manifest_path, keys)
    assert manifest["partner"] == partner
    assert manifest["kind"] == "full"
    assert manifest["counts"] == full.counts
    data = full.data_path.read_bytes()
    golden = GOLDEN / f"{partner}{full.data_path.suffix}"
    if UPDATE:
        golden.write_bytes(data)
    assert golden.exists(), f"no golden file for {partner}: run with HUB_UPDATE_GOLDEN=1"
    assert data == golden.read_bytes(), f"{partner}'s export changed; see the module docstring"
    # The next batch is an (empty) delta chained to the full one.
    delta = export_batch(ctx.engine, ctx.sessions, adapter, keys, out_dir=tmp_path, full=False,
                         actor=ACTOR, now=T0 + timedelta(hours=2))
    follow = _check_batch(tmp_path, delta.manifest_path, keys)
    assert (follow["kind"], follow["previous_batch_id"]) == ("delta", full.batch_id)
    assert follow["counts"] == {"records": 0, "active": 0, "exits": 0}
