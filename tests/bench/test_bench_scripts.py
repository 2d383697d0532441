"""The benchmark scripts still import and their baseline app still answers (they are not
type-checked with the package, and a moved name would otherwise surface only on a bench run)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.context import HubContext

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench_path() -> Iterator[None]:
    sys.path.insert(0, str(BENCH))
    yield
    sys.path.remove(str(BENCH))


@pytest.mark.parametrize("name", ["api", "api_load", "export", "import", "bare_app"])
def test_bench_module_imports(bench_path: None, name: str) -> None:
    assert importlib.import_module(name).__doc__


def test_bare_app_checks_a_token(bench_path: None, hub_ctx: HubContext,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", hub_ctx.settings.database_url)
    app = importlib.import_module("bare_app").create_app()
    response = app.test_client().get("/bare", headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 401
    assert b"header" in response.data
