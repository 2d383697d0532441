"""The key store: first key, rotation, retirement, file modes, restarts, concurrent writers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from hub.core.signing import verify_detached
from hub.errors import ConfigError, Conflict, NotFound
from hub.keystore import KeyStore
from tests.conftest import NOW


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "instance")


def _kids(store: KeyStore) -> list[str]:
    return [k["kid"] for k in store.jwks()["keys"]]


def test_a_fresh_instance_has_no_key_and_says_how_to_make_one(store: KeyStore) -> None:
    assert store.entries() == []
    with pytest.raises(ConfigError, match="run `hub keys rotate`"):
        store.active()


def test_ensure_active_makes_the_first_key_once(store: KeyStore) -> None:
    first = store.ensure_active(NOW)
    assert store.ensure_active(NOW + timedelta(days=1)).kid == first.kid
    [entry] = store.entries()
    assert (entry.kid, entry.created_at, entry.state) == (first.kid, NOW, "active")
    assert store.jwks() == {"keys": [first.public_jwk()]}


def test_files_are_private(store: KeyStore) -> None:
    kid = store.rotate(NOW)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.path / f"{kid}.pem").stat().st_mode) == 0o600
    assert (store.path / f"{kid}.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    # Only the lock, the keyring and the PEM: no temp file is left behind.
    assert {p.name for p in store.path.iterdir()} == {".lock", f"{kid}.pem", "keyring.json"}


def test_rotation_keeps_the_old_key_published_until_retired(store: KeyStore) -> None:
    old = store.ensure_active(NOW)
    signed_before = old.sign_detached(b"manifest")
    new = store.rotate(NOW + timedelta(days=90))
    assert store.active().kid == new
    assert _kids(store) == [new, old.kid]
    assert [e.state for e in store.entries()] == ["published", "active"]
    # A batch signed before the rotation still verifies against the served set.
    verify_detached(signed_before, b"manifest", store.jwks())

    store.retire(old.kid)
    assert _kids(store) == [new]
    assert [e.state for e in store.entries()] == ["retired", "active"]
    assert not (store.path / f"{old.kid}.pem").exists()


def test_jwks_lists_active_then_published_newest_first(store: KeyStore) -> None:
    kids = [store.rotate(NOW + timedelta(days=i)) for i in range(3)]
    assert _kids(store) == [kids[2], kids[1], kids[0]]


def test_the_active_key_cannot_be_retired(store: KeyStore) -> None:
    kid = store.rotate(NOW)
    with pytest.raises(Conflict, match="is active; run `hub keys rotate`"):
        store.retire(kid)
    assert _kids(store) == [kid]


def test_retire_unknown_or_twice(store: KeyStore) -> None:
    old = store.rotate(NOW)
    store.rotate(NOW)
    with pytest.raises(NotFound, match="no signing key nope"):
        store.retire("nope")
    store.retire(old)
    with pytest.raises(Conflict, match="already retired"):
        store.retire(old)


def test_the_keyring_survives_a_restart(tmp_path: Path) -> None:
    first = KeyStore(tmp_path / "instance")
    old = first.rotate(NOW)
    new = first.rotate(NOW + timedelta(hours=1))
    again = KeyStore(tmp_path / "instance")
    assert again.entries() == first.entries()
    assert again.active().kid == new
    assert again.active().public_jwk() == first.active().public_jwk()
    assert _kids(again) == [new, old]


def test_concurrent_rotations_all_land(store: KeyStore) -> None:
    store.ensure_active(NOW)
    # flock is per open file, so threads contend like processes do; each uses
    # its own KeyStore as a separate process would.
    start = threading.Barrier(8)
    made: list[str] = []

    def rotate() -> None:
        start.wait()
        made.append(KeyStore(store.path.parent).rotate(NOW))

    threads = [threading.Thread(target=rotate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = store.entries()
    assert len(entries) == 9
    assert {e.kid for e in entries} >= set(made)
    assert [e.state for e in entries].count("active") == 1
    assert len(store.jwks()["keys"]) == 9


_ROTATE_FIVE_TIMES = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from hub.keystore import KeyStore
for _ in range(5):
    KeyStore(Path(sys.argv[1])).rotate(datetime.now(UTC))
"""


def test_concurrent_rotations_from_processes_all_land(store: KeyStore) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _ROTATE_FIVE_TIMES, str(store.path.parent)],
                         env=env)
        for _ in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    entries = store.entries()
    assert len(entries) == 20
    assert [e.state for e in entries].count("active") == 1
    assert all((store.path / f"{e.kid}.pem").exists() for e in entries)


def test_concurrent_first_use_makes_one_key(store: KeyStore) -> None:
    start = threading.Barrier(6)
    kids: list[str] = []

    def first_use() -> None:
        start.wait()
        kids.append(KeyStore(store.path.parent).ensure_active(NOW).kid)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(kids)) == 1
    assert len(store.entries()) == 1


def test_a_damaged_keyring_is_a_config_error(store: KeyStore) -> None:
    store.rotate(NOW)
    row = {"kid": "k", "created_at": "2026-11-25T04:00:00Z", "state": "lost"}
    (store.path / "keyring.json").write_bytes(orjson.dumps([row]))
    with pytest.raises(ConfigError, match=r"unreadable keyring.*unknown key state 'lost'"):
        store.entries()


def test_a_missing_pem_is_a_config_error(store: KeyStore) -> None:
    kid = store.rotate(NOW)
    (store.path / f"{kid}.pem").unlink()
    with pytest.raises(ConfigError, match="cannot load signing key"):
        store.active()


def test_a_foreign_key_type_is_a_config_error(store: KeyStore) -> None:
    kid = store.rotate(NOW)
    pem = generate_private_key(SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    (store.path / f"{kid}.pem").write_bytes(pem)
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        store.active()


def test_an_unwritable_instance_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "instance"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ConfigError, match="cannot write signing keys"):
        KeyStore(blocker).rotate(NOW)


def test_rotate_needs_an_aware_time(store: KeyStore) -> None:
    with pytest.raises(ValueError, match="aware"):
        store.rotate(NOW.replace(tzinfo=None))
