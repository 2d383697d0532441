"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, app and CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from hub.app import create_app
from hub.cli import cli
from hub.context import HubContext
from hub.db.migrate import upgrade
from hub.db.models import Base
from hub.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get(
    "HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: A fixed instant for tests that do not care about the clock (a Wednesday, CST).
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def _unavailable(what: str, why: object) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true: {why}")
    pytest.skip(f"{what} not reachable: {why}")


@pytest.fixture(scope="session")
def pg_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubContext]:
    instance = tmp_path_factory.mktemp("pg-instance")
    settings = Settings.from_env({"HUB_DATABASE_URL": PG_URL, "HUB_INSTANCE_PATH": str(instance)})
    ctx = HubContext.build(settings)
    try:
        with ctx.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    upgrade(ctx.engine)
    yield ctx
    ctx.engine.dispose()


def reset_postgres(engine: Engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO counters (name, value) VALUES ('seq', 0), ('audit', 0)"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hub_ctx(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[HubContext]:
    """A migrated, empty database on the parametrized backend."""
    if backend == "postgres":
        ctx: HubContext = request.getfixturevalue("pg_context")
        reset_postgres(ctx.engine)
        yield ctx
        return
    settings = Settings.from_env({
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
    })
    ctx = HubContext.build(settings)
    upgrade(ctx.engine)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture
def app(hub_ctx: HubContext) -> Flask:
    app = create_app(context=hub_ctx)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def invoke(runner: FlaskCliRunner, *args: Any) -> Result:
    """Run ``hub ARGS`` against the test app."""
    return runner.invoke(cli, [str(a) for a in args])


REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis database (flushed before and after the test)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    yield REDIS_URL
    client.flushdb()
    client.close()
