"""The benchmark scripts still import and their baseline app still answers (mypy checks
their names; this, that they run, as a bench run would otherwise find out first)."""

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


def test_api_bench_judges_each_endpoint_against_its_own_rounds_bare_run(
        bench_path: None, capsys: pytest.CaptureFixture[str]) -> None:
    api = importlib.import_module("api")
    figure = importlib.import_module("api_load").Figure

    def fig(name: str, rps: float, p99: float) -> object:
        return figure(name, 1000, rps, 5.0, p99, 0, 1.0, 1.0, 0.1, 0.1)

    # Round by round 25 %, 52 %, 53 % of bare: the median ratio is 52 %, although the
    # median req/s (160) is only 40 % of the median bare (400).
    api.summary([{"bare": fig("bare", 400, 10), "checks": fig("checks", 100, 60)},
                 {"bare": fig("bare", 500, 10), "checks": fig("checks", 260, 40)},
                 {"bare": fig("bare", 300, 10), "checks": fig("checks", 160, 45)}])
    checks = next(line for line in capsys.readouterr().out.splitlines()
                  if line.startswith("| checks"))
    assert "25% / 52% / 53% | 52%" in checks
    assert checks.endswith("p99 < 50 ms and >= 50% of bare: met |")
    assert api.verdict("checks", 0.60, 50.0).endswith("not met")  # p99 not under 50 ms
    assert api.verdict("checks", 0.49, 20.0).endswith("not met")
    assert api.verdict("changes", 0.25, 999.0).endswith(": met")
    assert api.verdict("changes", 0.24, 1.0).endswith("not met")
    # A floor (an empty page, one ID) is no endpoint of the issue: no target, met or not.
    assert api.verdict("changes-empty", 0.54, 12.0) == "floor: no target"
    assert api.verdict("checks-1", 0.35, 16.0) == "floor: no target"
