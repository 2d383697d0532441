"""Settings of one hub process, read once from ``HUB_*`` environment variables."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from hub.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
#: The repo's ``config/partners``; computed here, not imported from hub.config,
#: because settings is the foundation layer.
_REPO_PARTNERS_PATH = Path(__file__).resolve().parent.parent / "config" / "partners"
#: Swagger UI for ``/api/docs`` when ``HUB_SWAGGER_UI_URL`` is not set.
SWAGGER_UI_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/"


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected one of true/false/1/0/yes/no/on/off")


#: Database URL schemes the hub runs on, and the SQLAlchemy URL each means: a plain
#: ``postgresql://`` would ask for psycopg2, which is not installed.
_DATABASES: Final = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg",
                     "postgresql+psycopg": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def _database_url(raw: str) -> str:
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() not in _DATABASES:
        raise ConfigError(f"HUB_DATABASE_URL={raw.split('@')[-1]!r}: the hub runs on "
                          "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB")
    return f"{_DATABASES[scheme.lower()]}://{rest}"


def _public_url(env: Mapping[str, str]) -> str | None:
    """``HUB_PUBLIC_URL`` as partners call it: tokens' ``htu`` is compared with it and
    the request's path, so a value without a scheme or host (``hub.example.cn``) would
    refuse every partner request as a wrong ``htu``, blaming the partner."""
    raw = (env.get("HUB_PUBLIC_URL") or "").strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        raise ConfigError(f"HUB_PUBLIC_URL={raw!r}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"HUB_PUBLIC_URL={raw!r}: give the scheme and host partners call, "
                          "e.g. https://hub.example.cn")
    if "?" in raw or "#" in raw:  # an empty one too: it would end the path partners sign
        raise ConfigError(f"HUB_PUBLIC_URL={raw!r}: no query or fragment; the scheme, host "
                          "and any path prefix only")
    return raw


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a process needs to know about its deployment; passed in, never global."""

    #: SQLAlchemy URL; SQLite in the instance folder unless told otherwise.
    database_url: str
    #: Redis for queues (and the replay store); ``None`` runs jobs in-process.
    redis_url: str | None
    #: Deployment folder: SQLite file, keys, partner overrides. Never in the repo.
    instance_path: Path
    #: ``aud`` that partner tokens must carry.
    audience: str
    #: Flask session signing key for the staff UI.
    secret_key: str = field(repr=False)
    #: Listing and removal need a second staff member's approval.
    four_eyes: bool
    #: ``HUB_PUBLIC_URL``: scheme and host partners call (``htu``) when a proxy sits in front.
    public_url: str | None = None
    #: Folder of ``<id>.toml`` partner files; overrides live in ``instance_path/partners``.
    partners_path: Path = _REPO_PARTNERS_PATH
    #: ``HUB_SWAGGER_UI_URL``: where ``/api/docs`` loads Swagger UI from; a network
    #: without the internet points it at its own copy of ``swagger-ui-dist``.
    swagger_ui_url: str = SWAGGER_UI_CDN
    #: ``HUB_SUBJECT_HASH_KEY``: keys the ID hashes of the partner access record; unset,
    #: a key derived from ``secret_key`` (see :meth:`subject_hash_key`).
    subject_key: str | None = field(default=None, repr=False)

    def subject_hash_key(self) -> bytes:
        """The access record's hash key. It must never change: rows hashed under another
        key no longer answer "who received this person's data". Derived from the secret
        key when not set on its own (a deployment that set only HUB_SECRET_KEY keeps its
        hashes), never the secret key itself (a leaked session key must not be it)."""
        if self.subject_key:
            return self.subject_key.encode()
        return hmac.new(self.secret_key.encode(), b"hub subject hash v1",
                        hashlib.sha256).digest()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        instance = Path(env.get("HUB_INSTANCE_PATH") or "instance").resolve()
        database_url = _database_url(env.get("HUB_DATABASE_URL")
                                     or f"sqlite:///{instance / 'hub.sqlite3'}")
        return cls(
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            instance_path=instance,
            audience=env.get("HUB_AUDIENCE") or "joint-sanction-hub",
            # A development default keeps `make run` to one command; production
            # sets HUB_SECRET_KEY (the README says so) and sessions do not
            # outlive a key change.
            secret_key=env.get("HUB_SECRET_KEY") or "dev-only-insecure-key",
            four_eyes=_flag(env, "HUB_FOUR_EYES", default=True),
            public_url=_public_url(env),
            partners_path=Path(env.get("HUB_PARTNERS_PATH") or _REPO_PARTNERS_PATH).resolve(),
            # Swagger UI appends file names to it: the folder, with its slash.
            swagger_ui_url=(env.get("HUB_SWAGGER_UI_URL") or SWAGGER_UI_CDN).rstrip("/") + "/",
            subject_key=env.get("HUB_SUBJECT_HASH_KEY") or None,
        )
