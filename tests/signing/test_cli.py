"""``hub keys rotate|list|retire``."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from hub.app import create_app
from hub.db.migrate import upgrade
from hub.keystore import KeyStore
from hub.settings import Settings
from tests.conftest import invoke


@pytest.fixture
def runner(tmp_path: Path) -> FlaskCliRunner:
    # A throwaway instance folder; the database only says which batches each key signed.
    settings = Settings.from_env({
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
    })
    app = create_app(settings)
    upgrade(app.extensions["hub"].engine)
    return app.test_cli_runner()


def test_rotate_list_retire(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "keys", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "`hub keys rotate` makes one" in result.stderr

    first = invoke(runner, "keys", "rotate")
    assert first.exit_code == 0, first.output
    old = first.stdout.strip()
    new = invoke(runner, "keys", "rotate").stdout.strip()
    store = KeyStore(tmp_path / "instance")
    assert store.active().kid == new

    listing = invoke(runner, "keys", "list")
    assert listing.exit_code == 0
    header, *rows = listing.stdout.splitlines()
    assert header.split() == ["KID", "CREATED", "STATE"]
    assert [(row.split()[0], row.split()[2]) for row in rows] == [
        (old, "published"), (new, "active"),
    ]
    created = store.entries()[0].created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rows[0].split()[1] == created

    refused = invoke(runner, "keys", "retire", new)
    assert refused.exit_code == 1
    assert f"key {new} is active; run `hub keys rotate` before retiring it" in refused.stderr

    retired = invoke(runner, "keys", "retire", old)
    assert retired.exit_code == 0, retired.output
    assert retired.stdout.strip() == f"key {old} retired"
    assert [k["kid"] for k in store.jwks()["keys"]] == [new]

    unknown = invoke(runner, "keys", "retire", "nope")
    assert unknown.exit_code == 1
    assert "no signing key nope" in unknown.stderr


def test_a_damaged_keyring_is_reported(runner: FlaskCliRunner, tmp_path: Path) -> None:
    keys = tmp_path / "instance" / "keys"
    keys.mkdir(parents=True)
    (keys / "keyring.json").write_text("{")
    for args in (("list",), ("rotate",)):
        result = invoke(runner, "keys", *args)
        assert result.exit_code == 1
        assert "unreadable keyring" in result.stderr
