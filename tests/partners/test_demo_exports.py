"""Every partner's export of the demo data: valid (libxml2's xmllint too), digests and
counts as the manifest says, signature verified by joserfc against the served JWKS."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from lxml import etree

from hub.app import create_app
from hub.config.partners import adapter_for, default_partners_dir, load_partners
from hub.context import HubContext
from hub.db.migrate import upgrade
from hub.exporters.xsd import schema_path, validate_xml
from hub.keystore import KeyStore
from hub.services.actors import Actor
from hub.services.batches import export_batch
from hub.services.demo import seed
from hub.settings import Settings

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
CONFIGS = load_partners(default_partners_dir())


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubContext]:
    tmp = tmp_path_factory.mktemp("demo-exports")
    ctx = HubContext.build(Settings.from_env({
        "HUB_DATABASE_URL": f"sqlite:///{tmp / 'hub.sqlite3'}",
        "HUB_INSTANCE_PATH": str(tmp / "instance")}))
    upgrade(ctx.engine)
    seed(ctx.sessions, subjects=150, seed=11, now=NOW)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def served_jwks(demo_world: HubContext) -> dict[str, Any]:
    KeyStore(demo_world.settings.instance_path).ensure_active(NOW)
    response = create_app(context=demo_world).test_client().get("/.well-known/jwks.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json(force=True)
    return body


def _records_in(path: Path, encoding: str) -> int:
    if path.suffix == ".jsonl":
        return len(path.read_bytes().splitlines())
    if path.suffix == ".csv":
        import csv

        with path.open(encoding=encoding, newline="") as f:
            return sum(1 for _ in csv.reader(f)) - 1
    tree = etree.parse(str(path))
    return len(tree.getroot())


def _xmllint(path: Path, schema: str) -> None:
    if shutil.which("xmllint") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("xmllint is required in CI (.ci/run installs libxml2-utils)")
        pytest.skip("xmllint not installed")
    done = subprocess.run(["xmllint", "--noout", "--schema", str(schema_path(schema)),
                           str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("partner", sorted(CONFIGS))
def test_demo_export(partner: str, demo_world: HubContext, served_jwks: dict[str, Any],
                     tmp_path: Path) -> None:
    config = CONFIGS[partner]
    result = export_batch(demo_world.engine, demo_world.sessions, adapter_for(config),
                          KeyStore(demo_world.settings.instance_path), out_dir=tmp_path,
                          full=True, actor=Actor("cli:test"), now=NOW)
    body = result.manifest_path.read_bytes()
    manifest = orjson.loads(body)
    [entry] = manifest["files"]
    data = (tmp_path / entry["name"]).read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["bytes"] == len(data)
    assert entry["records"] == manifest["counts"]["records"] == _records_in(
        tmp_path / entry["name"], config.encoding)
    assert manifest["counts"]["records"] > 0
    if entry["name"].endswith(".xml"):
        assert validate_xml(tmp_path / entry["name"], entry["schema"]) == []
        _xmllint(tmp_path / entry["name"], entry["schema"])
    token = result.manifest_path.with_suffix(".jws").read_text()
    # joserfc flags "EdDSA" as superseded by RFC 9864's "Ed25519"; DESIGN.md fixes EdDSA.
    with pytest.warns(SecurityWarning):
        verified = jws.deserialize_compact(token, KeySet.import_key_set(served_jwks),
                                           algorithms=["EdDSA"], payload=body)
    assert verified.payload == body
