"""A broken partner file: the CLI still starts (to report it), partner requests get 503."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask

from hub.api.setup import preload_partners
from hub.app import create_app
from hub.context import HubContext
from hub.errors import ConfigError
from tests.api.conftest import problem


def test_broken_partner_file(hub_ctx: HubContext, tmp_path: Path) -> None:
    instance = tmp_path / "broken-instance"
    (instance / "partners").mkdir(parents=True)
    (instance / "partners" / "ndrc.toml").write_text('format = "json"\n')
    settings = dataclasses.replace(hub_ctx.settings, instance_path=instance)
    app = create_app(context=dataclasses.replace(hub_ctx, settings=settings))  # no raise
    body = problem(app.test_client().get("/api/v1/changes",
                                         headers={"Authorization": "Bearer x"}))
    assert body["status"] == 503
    # The operator's monitor sees it too: not "ok" while no partner can be answered.
    health = app.test_client().get("/healthz")
    assert health.status_code == 503
    assert health.json["status"] == "failing"
    assert health.json["partners"].startswith("unreadable, every partner request is refused")
    assert "ndrc.toml" in health.json["partners"]
    with pytest.raises(ConfigError, match="format"):
        preload_partners(app)


def test_healthz_says_the_partner_files_load(app: Flask) -> None:
    health = app.test_client().get("/healthz")
    assert health.status_code == 200
    assert (health.json["status"], health.json["partners"]) == ("ok", "ok")
