"""The hub's own signing keys, kept as PEM files and a keyring under the instance folder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, cast

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from hub.core.signing import SigningKey, jwk_thumbprint, public_jwk
from hub.errors import ConfigError, Conflict, NotFound

KeyState = Literal["active", "published", "retired"]
STATES: Final[tuple[KeyState, ...]] = ("active", "published", "retired")


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One line of the keyring."""

    kid: str
    created_at: datetime
    #: ``active`` signs; ``published`` only verifies (still in the JWKS);
    #: ``retired`` is gone from the JWKS and its private key is deleted.
    state: KeyState


class KeyStore:
    """``<instance>/keys``: ``keyring.json`` plus one ``<kid>.pem`` (PKCS8) per live key.

    Files are replaced by rename, so readers never take the lock and never see
    half a file; writers serialise on ``keys/.lock`` (flock), so two processes
    rotating at once both land instead of one overwriting the other.
    """

    def __init__(self, instance_path: Path) -> None:
        self.path = instance_path / "keys"
        self._keyring = self.path / "keyring.json"

    def entries(self) -> list[KeyEntry]:
        """Every key ever made, oldest first."""
        if not self._keyring.exists():
            return []
        try:
            rows = orjson.loads(self._keyring.read_bytes())
            return [
                KeyEntry(
                    kid=str(row["kid"]),
                    created_at=datetime.fromisoformat(row["created_at"]),
                    state=_state(row["state"]),
                )
                for row in rows
            ]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{self._keyring}: unreadable keyring ({exc})") from exc

    def active(self) -> SigningKey:
        """The key that signs now.

        :raises ConfigError: when there is none, with the command that makes one.
        """
        for entry in self.entries():
            if entry.state == "active":
                return SigningKey(entry.kid, self._load(entry.kid))
        raise ConfigError(f"no active signing key in {self.path}; run `hub keys rotate`")

    def signing_key(self, kid: str) -> SigningKey:
        """A key not yet retired, active or not (to sign again what it signed).

        :raises ConfigError: no such key, or retired (its private key is gone).
        """
        if not any(e.kid == kid and e.state != "retired" for e in self.entries()):
            raise ConfigError(f"no signing key {kid} in {self.path} (retired or never made)")
        return SigningKey(kid, self._load(kid))

    def ensure_active(self, now: datetime) -> SigningKey:
        """The active key, made first if this instance has none (a fresh install)."""
        if any(e.state == "active" for e in self.entries()):
            return self.active()
        with self._locked():
            # Another process may have made it while this one waited for the lock.
            if not any(e.state == "active" for e in self.entries()):
                self._rotate(now)
        return self.active()

    def rotate(self, now: datetime) -> str:
        """Make a new active key; the old active one stays published. Returns the new kid."""
        with self._locked():
            return self._rotate(now)

    def retire(self, kid: str) -> None:
        """Drop a published key from the JWKS and delete its private key.

        :raises NotFound: no such kid.
        :raises Conflict: the key is the active one, or already retired.
        """
        with self._locked():
            entries = self.entries()
            entry = next((e for e in entries if e.kid == kid), None)
            if entry is None:
                raise NotFound(f"no signing key {kid}")
            if entry.state == "active":
                raise Conflict(f"key {kid} is active; run `hub keys rotate` before retiring it")
            if entry.state == "retired":
                raise Conflict(f"key {kid} is already retired")
            self._save([
                KeyEntry(e.kid, e.created_at, "retired") if e.kid == kid else e for e in entries
            ])
            # After the keyring: a crash in between leaves a stray file, never a
            # published kid without its key.
            (self.path / f"{kid}.pem").unlink(missing_ok=True)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys partners verify batches with: the active one first, then published."""
        live = [e for e in self.entries() if e.state != "retired"]
        live.sort(key=lambda e: (e.state != "active", -e.created_at.timestamp()))
        return {"keys": [public_jwk(self._load(e.kid), e.kid) for e in live]}

    def _rotate(self, now: datetime) -> str:
        if now.tzinfo is None:
            raise ValueError("KeyStore.rotate needs an aware datetime")
        key = Ed25519PrivateKey.generate()
        kid = jwk_thumbprint(public_jwk(key, ""))
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        # The PEM lands before the keyring names it, so a reader never finds a kid without a key.
        self._write(self.path / f"{kid}.pem", pem)
        created = now.astimezone(UTC).replace(microsecond=0)
        entries = [
            KeyEntry(e.kid, e.created_at, "published") if e.state == "active" else e
            for e in self.entries()
        ]
        self._save([*entries, KeyEntry(kid, created, "active")])
        return kid

    def _load(self, kid: str) -> Ed25519PrivateKey:
        path = self.path / f"{kid}.pem"
        try:
            key = load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"{path}: cannot load signing key ({exc})") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path}: not an Ed25519 private key")
        return key

    def _save(self, entries: list[KeyEntry]) -> None:
        rows = [
            {"kid": e.kid, "created_at": _iso(e.created_at), "state": e.state} for e in entries
        ]
        options = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        self._write(self._keyring, orjson.dumps(rows, option=options))

    def _write(self, target: Path, data: bytes) -> None:
        """Write ``target`` whole or not at all: a temp file (0600), fsync, rename."""
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # Persist the rename too: losing the active key after a crash would
        # leave batches signed with a key no JWKS publishes.
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            # Private keys live here: nobody else may list or read the folder.
            self.path.chmod(0o700)
            fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot write signing keys ({exc})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _state(value: Any) -> KeyState:
    if value not in STATES:
        raise ValueError(f"unknown key state {value!r}")
    return cast(KeyState, value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
