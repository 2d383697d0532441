"""``hub partners list|show|check`` against the repo's files and broken copies."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from hub.app import create_app
from hub.config.partners import default_partners_dir
from hub.settings import Settings
from tests.config.helpers import broken, good, write
from tests.conftest import invoke


def make_runner(tmp_path: Path, partners: Path) -> FlaskCliRunner:
    # No database is touched: a plain app over a throwaway instance folder is enough,
    # and cheaper than the `app` fixture, which runs on SQLite and PostgreSQL.
    settings = Settings.from_env({
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_PARTNERS_PATH": str(partners),
    })
    return create_app(settings).test_cli_runner()


@pytest.fixture
def repo_runner(tmp_path: Path) -> FlaskCliRunner:
    return make_runner(tmp_path, default_partners_dir())


def test_check_passes_on_the_repo(repo_runner: FlaskCliRunner) -> None:
    result = invoke(repo_runner, "partners", "check")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "45 partner files OK"


def test_check_fails_with_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    a = write(folder, "railway", broken('format = "csv"', 'format = "json"'))
    b = write(folder, "moe", broken("port = 22", "port = 0", "moe"))
    write(folder, "mps", good("mps"))
    result = invoke(make_runner(tmp_path, folder), "partners", "check")
    assert result.exit_code == 1
    assert f'{a}: format: "json" is not one of ["jsonl", "xml", "csv"]' in result.stderr
    assert f"{b}: sftp.port: 0 is not a port number (1-65535)" in result.stderr
    assert "OK" not in result.stdout


def test_check_reads_instance_overrides(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    write(folder, "railway", good())
    override = write(tmp_path / "instance" / "partners", "railway", "[sftp]\nhost_key = \"x\"\n")
    result = invoke(make_runner(tmp_path, folder), "partners", "check")
    assert result.exit_code == 1
    assert f"{override}: sftp.host_key: expected '<type> <base64>'" in result.stderr


def test_list_shows_one_row_per_partner(repo_runner: FlaskCliRunner) -> None:
    result = invoke(repo_runner, "partners", "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["ID", "NAME", "FORMAT", "CHANNELS", "MEASURES"]
    assert len(rows) == 45
    railway = next(r for r in rows if r.startswith("railway "))
    assert railway.split() == ["railway", "中国铁路总公司", "csv/gb18030", "api,sftp", "rail"]


def test_show_prints_the_merged_config(repo_runner: FlaskCliRunner) -> None:
    result = invoke(repo_runner, "partners", "show", "railway")
    assert result.exit_code == 0, result.output
    assert 'encoding = "gb18030"' in result.output
    assert f"# from {default_partners_dir() / 'railway.toml'}" in result.output
    assert "[sftp]" in result.output
    # Values the file leaves out are marked as defaults.
    assert "max_removed_share = 0.05  # default" in result.output


def test_show_names_the_override_of_each_value(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    repo = write(folder, "railway", good())
    override = write(tmp_path / "instance" / "partners", "railway", "[sftp]\nport = 2222\n")
    result = invoke(make_runner(tmp_path, folder), "partners", "show", "railway")
    assert result.exit_code == 0, result.output
    assert f"port = 2222  # {override}" in result.output
    assert f"# from {repo}" in result.output
    assert f"# overridden by {override}" in result.output
    assert 'username = "hub"\n' in result.output


def test_show_unknown_partner_fails(repo_runner: FlaskCliRunner) -> None:
    result = invoke(repo_runner, "partners", "show", "nobody")
    assert result.exit_code == 1
    assert 'no partner "nobody"; `hub partners list` names them all' in result.stderr
    assert "problem(s) in partner configuration" not in result.output
