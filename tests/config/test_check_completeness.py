"""`hub partners check` names every problem of every file, however they combine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.helpers import broken, good, write
from tests.config.test_cli import make_runner
from tests.conftest import invoke

GENERIC = 'adapter = "hub.partners.railway:RailwayAdapter"\n'


def check(tmp_path: Path, folder: Path) -> tuple[int, str]:
    result = invoke(make_runner(tmp_path, folder), "partners", "check")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", ["jsonl", "xml"])
def test_an_encoding_the_format_cannot_have(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "partners"
    path = write(folder, "railway", good().replace(GENERIC, "").replace(
        'format = "csv"', f'format = "{fmt}"'))
    code, output = check(tmp_path, folder)
    assert code == 1
    assert f'{path}: encoding: "gb18030" is not an encoding of {fmt} files: use utf-8' in output


def test_an_adapter_problem_beside_another_problem(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    path = write(folder, "railway", broken("port = 22", "port = 0").replace(
        "railway:RailwayAdapter", "railway:NoSuchAdapter"))
    _code, output = check(tmp_path, folder)
    assert f"{path}: sftp.port:" in output
    assert f'{path}: adapter: module "hub.partners.railway" has no attribute "NoSuchAdapter"' \
        in output


def test_a_format_the_adapter_cannot_write_beside_another_problem(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    path = write(folder, "railway", broken("port = 22", "port = 0").replace(
        'format = "csv"', 'format = "xml"').replace('encoding = "gb18030"', 'encoding = "utf-8"'))
    _code, output = check(tmp_path, folder)
    assert f'{path}: format: "xml" is not written by hub.partners.railway:RailwayAdapter' in output


def test_an_overrides_adapter_that_cannot_write_the_format_names_the_override(
        tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    write(folder, "railway", good().replace(GENERIC, "").replace(
        'format = "csv"', 'format = "jsonl"').replace('encoding = "gb18030"', 'encoding = "utf-8"'))
    override = write(tmp_path / "instance" / "partners", "railway", GENERIC)
    _code, output = check(tmp_path, folder)
    assert f'{override}: adapter: "jsonl" is not written by hub.partners.railway:RailwayAdapter' \
        in output


def test_an_empty_adapter_is_refused_not_read_as_the_generic_one(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    write(folder, "railway", good())
    override = write(tmp_path / "instance" / "partners", "railway", 'adapter = ""\n')
    code, output = check(tmp_path, folder)
    assert code == 1
    assert f"{override}: adapter: empty; leave the key out for the generic adapter" in output


def test_an_unreadable_override_does_not_hide_the_repo_files_problems(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    repo = write(folder, "railway", broken("port = 22", "port = 0"))
    override = write(tmp_path / "instance" / "partners", "railway", "[sftp\n")
    _code, output = check(tmp_path, folder)
    assert f"{override}: line 1: TOML syntax" in output
    assert f"{repo}: sftp.port:" in output


def test_an_adapter_module_that_exits_while_importing(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "exits_on_import.py").write_text("raise SystemExit(0)\n")
    monkeypatch.syspath_prepend(str(modules))
    folder = tmp_path / "partners"
    write(folder, "railway", broken("hub.partners.railway:RailwayAdapter", "exits_on_import:X"))
    moe = write(folder, "moe", broken("port = 22", "port = 0", "moe"))
    code, output = check(tmp_path, folder)
    assert code == 1
    assert 'importing "exits_on_import" failed: SystemExit' in output
    assert f"{moe}: sftp.port:" in output


def test_fields_of_a_subject_the_partner_never_receives(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    person_only = write(folder, "railway", good().replace(GENERIC, "").replace(
        'measures = ["rail"]', 'measures = ["locate_and_query"]').replace(
        '"travel_documents", "court_name"', '"legal_representative", "bound_persons", '
        '"court_name"'))
    org_only = write(folder, "customs", good("customs").replace(GENERIC, "").replace(
        'measures = ["rail"]', 'measures = ["exit_control"]').replace(
        'subjects = ["person"]', 'subjects = ["organisation"]').replace(
        '"travel_documents", "court_name"', '"travel_documents", "gender", "court_name"'))
    _code, output = check(tmp_path, folder)
    for path, field, subject in ((person_only, "legal_representative", "organisation"),
                                 (person_only, "bound_persons", "organisation"),
                                 (org_only, "travel_documents", "person"),
                                 (org_only, "gender", "person")):
        assert (f'{path}: scope.fields: "{field}" belongs to a {subject} but scope.subjects '
                f'has no "{subject}"') in output


def test_a_private_key_in_a_list_of_lists(tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    path = write(folder, "railway", good() + '\n[options]\n'
                 'nested = [["-----BEGIN OPENSSH PRIVATE KEY-----"]]\n')
    _code, output = check(tmp_path, folder)
    assert f"{path}: options.nested: an inline private key is refused" in output
