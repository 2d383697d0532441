"""Loading partner files: every mistake of every file reported at once, overrides merged."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hub.config.partners import load_partner_files, load_partners, resolve_adapter
from hub.errors import ConfigError
from hub.partners.base import PartnerAdapter
from hub.partners.model import PartnerConfigError
from tests.config.helpers import HOST_KEY, broken, good, write


class CsvOnlyAdapter(PartnerAdapter):
    """An adapter that cannot write XML, for the format check."""

    formats = frozenset({"csv"})


NOT_AN_ADAPTER = 42

#: case -> (old text, new text, key, words of the reason)
BROKEN = {
    "unknown field in scope.fields": (
        '"travel_documents",', '"travel_documentz",', "scope.fields",
        '"travel_documentz" is not a known field (did you mean "travel_documents"?)'),
    "misspelt scope key": ("fields = [", "feilds = [", "scope.feilds", "unknown key"),
    "unknown top-level key": ('format = "csv"', 'format = "csv"\nformt = "csv"', "formt",
                              "unknown key"),
    "unknown measure": ('["rail"]', '["rail", "teleport"]', "measures",
                        '"teleport" is not a known measure'),
    "duplicate measure": ('["rail"]', '["rail", "rail"]', "measures", "listed twice"),
    "measures of the wrong type": ('["rail"]', "5", "measures",
                                   "expected a list of strings, got int"),
    "bad format name": ('format = "csv"', 'format = "json"', "format",
                        '"json" is not one of ["jsonl", "xml", "csv"]'),
    "bad encoding": ('"gb18030"', '"gbk"', "encoding", '"gbk" is not one of'),
    "adapter module that does not import": (
        "hub.partners.railway:", "hub.partners.nowhere:", "adapter",
        'cannot import "hub.partners.nowhere"'),
    "adapter class that does not exist": (
        ":RailwayAdapter", ":RailAdapter", "adapter",
        'module "hub.partners.railway" has no attribute "RailAdapter"'),
    "adapter that is not a class": (
        "hub.partners.railway:RailwayAdapter", "tests.config.test_loader:NOT_AN_ADAPTER",
        "adapter", "is not a class"),
    "adapter class not a PartnerAdapter": (
        "hub.partners.railway:RailwayAdapter", "hub.partners.model:Scope", "adapter",
        "is not a subclass of hub.partners.base.PartnerAdapter"),
    "adapter path syntax": (
        "hub.partners.railway:RailwayAdapter", "hub.partners.railway.RailwayAdapter",
        "adapter", "is not of the form package.module:Class"),
    "adapter that cannot write the format": (
        'adapter = "hub.partners.railway:RailwayAdapter"\nformat = "csv"',
        'adapter = "tests.config.test_loader:CsvOnlyAdapter"\nformat = "xml"', "format",
        '"xml" is not written by tests.config.test_loader:CsvOnlyAdapter'),
    "field not justified by the measures": (
        '"case_number"]', '"case_number", "obligation"]', "scope.fields",
        '"obligation" is not justified by any of the measures ["rail"]'),
    "always-sent field listed": ('"case_number"]', '"case_number", "status"]', "scope.fields",
                                 '"status" is always sent'),
    "restriction field without restrictions": (
        'records = ["listing", "restriction"]\nsubjects = ["person"]\nfields = [',
        'records = ["listing"]\nsubjects = ["person"]\nfields = ["categories", ',
        "scope.fields", '"categories" is a restriction field but scope.records has no '
                        '"restriction"'),
    "empty subjects": ('["person"]', "[]", "scope.subjects", "must not be empty"),
    "TOML syntax error": ('encoding = "gb18030"', "encoding = ", "line 7", "TOML syntax"),
    "id different from the file name": ('id = "railway"', 'id = "railways"', "id",
                                        'does not match the file name "railway.toml"'),
    "id with capitals": ('id = "railway"', 'id = "Railway"', "id", "must match"),
    "missing name": ('name = "中国铁路总公司"\n', "", "name", "missing required key"),
    "inline private key": (
        '"env:HUB_SFTP_KEY_RAILWAY"',
        '"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAA\\n"',
        "sftp.private_key", "inline private key is refused"),
    "private key in options": (
        'full_every = "sunday"',
        'full_every = "sunday"\n[options]\nkey = "-----BEGIN RSA PRIVATE KEY-----"',
        "options.key", "inline private key is refused"),
    "absolute key file": ('"env:HUB_SFTP_KEY_RAILWAY"', '"file:/etc/ssh/key"',
                          "sftp.private_key", "relative path inside the instance folder"),
    "key file outside the instance": ('"env:HUB_SFTP_KEY_RAILWAY"', '"file:../keys/x"',
                                      "sftp.private_key", "relative path"),
    "key reference of unknown kind": ('"env:HUB_SFTP_KEY_RAILWAY"', '"vault:railway"',
                                      "sftp.private_key", "expected env:NAME or file:"),
    "empty host key while enabled": (HOST_KEY, "", "sftp.host_key", "must not be empty"),
    "host key of unknown type": (HOST_KEY, "ssh-dss AAAA", "sftp.host_key", "key type"),
    "host key not base64": (HOST_KEY, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...",
                            "sftp.host_key", "not valid base64"),
    "host key of another type": (HOST_KEY, HOST_KEY.replace("ssh-ed25519", "ssh-rsa"),
                                 "sftp.host_key", "not a ssh-rsa key"),
    "host name with underscore": ("sftp.railway.example", "sftp.rail_way.example",
                                  "sftp.host", "not a host name"),
    "port out of range": ("port = 22", "port = 70000", "sftp.port", "not a port number"),
    "port as a string": ("port = 22", 'port = "22"', "sftp.port",
                         "expected an integer, got string"),
    "enabled as a string": ("[api]\nenabled = true", '[api]\nenabled = "yes"', "api.enabled",
                            "expected true or false, got string"),
    "cron with 6 fields": ('"0 2 * * *"', '"0 0 2 * * *"', "sftp.schedule",
                           "expected 5 cron fields"),
    "cron hour out of range": ('"0 2 * * *"', '"0 24 * * *"', "sftp.schedule",
                               "out of range 0-23"),
    "cron garbage": ('"0 2 * * *"', '"0 2 * * funday"', "sftp.schedule", "day of week"),
    "unknown time zone": ('"Asia/Shanghai"', '"Asia/Beijing"', "sftp.timezone",
                          "not a known time zone"),
    "full_every not a day": ('"sunday"', '"sundays"', "sftp.full_every", "is not one of"),
    "inbox equals outbox": ('outbox = "/outbound"', 'outbox = "/inbound"', "sftp.outbox",
                            "must differ from sftp.inbox"),
    "algorithm HS256": ("[api]\nenabled = true", '[api]\nenabled = true\nalgorithm = "HS256"',
                        "api.algorithm", '"HS256" is not one of ["EdDSA", "ES256"]'),
    "bad rate limit": ("[api]\nenabled = true", '[api]\nenabled = true\nrate_limit = "fast"',
                       "api.rate_limit", "is not N/second"),
    "release gate share above 1": (
        'full_every = "sunday"', 'full_every = "sunday"\n[release_gate]\nmax_removed_share = 1.5',
        "release_gate.max_removed_share", "not a share in (0, 1]"),
    "release gate share of zero": (
        'full_every = "sunday"', 'full_every = "sunday"\n[release_gate]\nmax_added_share = 0',
        "release_gate.max_added_share", "not a share in (0, 1]"),
    "scope that is not a table": ("[scope]\n", "scope = 1\n[scope2]\n", "scope",
                                  "expected a table, got int"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_names_file_key_and_reason(case: str, tmp_path: Path) -> None:
    old, new, key, reason = BROKEN[case]
    path = write(tmp_path, "railway", broken(old, new))
    with pytest.raises(PartnerConfigError) as caught:
        load_partners(tmp_path)
    message = str(caught.value)
    assert f"{path}: {key}: " in message
    assert reason in message
    assert all(p.source == str(path) for p in caught.value.problems)


def test_the_good_sample_loads(tmp_path: Path) -> None:
    write(tmp_path, "railway", good())
    config = load_partners(tmp_path)["railway"]
    assert config.encoding == "gb18030"
    assert config.channels == ("api", "sftp")
    # Defaults for what the file leaves out.
    assert config.api.algorithm == "EdDSA"
    assert config.api.rate_limit == "600/minute"
    assert (config.release_gate.max_removed_share, config.release_gate.max_added_share,
            config.release_gate.min_records) == (0.05, 0.05, 1000)
    assert config.receiving_body is None
    assert dict(config.options) == {}


def test_a_disabled_channel_may_keep_an_empty_host_key(tmp_path: Path) -> None:
    text = broken("[sftp]\nenabled = true", "[sftp]\nenabled = false").replace(HOST_KEY, "")
    write(tmp_path, "railway", text)
    assert load_partners(tmp_path)["railway"].sftp.host_key == ""


def test_every_problem_of_every_file_at_once(tmp_path: Path) -> None:
    a = write(tmp_path, "a", broken('"gb18030"', '"gbk"', "a"))
    b = write(tmp_path, "b", broken("port = 22", "port = 0", "b")
              .replace('["rail"]', '["rail", "teleport"]'))
    c = write(tmp_path, "c", "id = \n")
    write(tmp_path, "d", good("d"))
    with pytest.raises(PartnerConfigError) as caught:
        load_partners(tmp_path)
    found = {(p.source, p.key) for p in caught.value.problems}
    assert {(str(a), "encoding"), (str(b), "sftp.port"), (str(b), "measures"),
            (str(c), "line 1")} <= found
    assert len(str(caught.value).splitlines()) == len(caught.value.problems)
    assert not any("d.toml" in p.source for p in caught.value.problems)


def test_an_adapter_module_that_fails_to_import_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "exploding_adapter.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.delitem(sys.modules, "exploding_adapter", raising=False)
    path = write(tmp_path / "partners", "railway",
                 broken("hub.partners.railway:RailwayAdapter", "exploding_adapter:Adapter"))
    with pytest.raises(PartnerConfigError, match="RuntimeError: boom") as caught:
        load_partners(tmp_path / "partners")
    assert caught.value.problems[0].source == str(path)
    assert caught.value.problems[0].key == "adapter"


def test_a_third_party_adapter_resolves() -> None:
    assert resolve_adapter("tests.config.test_loader:CsvOnlyAdapter") is CsvOnlyAdapter
    with pytest.raises(ConfigError, match="is not a class"):
        resolve_adapter("tests.config.test_loader:NOT_AN_ADAPTER")


def test_instance_override_changes_sftp_and_leaves_the_rest(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", "railway", good())
    override = write(tmp_path / "instance" / "partners", "railway", """
[sftp]
host = "10.20.30.40"
port = 2222
host_key = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA=="
""")
    loaded = load_partner_files(tmp_path / "repo", tmp_path / "instance")["railway"]
    sftp = loaded.config.sftp
    assert (sftp.host, sftp.port) == ("10.20.30.40", 2222)
    assert sftp.host_key.startswith("ecdsa-sha2-nistp256 ")
    assert (sftp.username, sftp.private_key, sftp.schedule) == (
        "hub", "env:HUB_SFTP_KEY_RAILWAY", "0 2 * * *")
    assert loaded.config.scope.fields[0] == "name"
    assert loaded.config.encoding == "gb18030"
    assert loaded.files == (repo, override)
    assert loaded.config.source == f"{repo} + {override}"
    assert loaded.origins["sftp.port"] == str(override)
    assert loaded.origins["sftp.username"] == str(repo)


def test_a_problem_in_an_override_names_the_override(tmp_path: Path) -> None:
    write(tmp_path / "repo", "railway", good())
    override = write(tmp_path / "instance" / "partners", "railway", "[sftp]\nport = 0\n")
    with pytest.raises(PartnerConfigError) as caught:
        load_partners(tmp_path / "repo", tmp_path / "instance")
    assert str(caught.value) == f"{override}: sftp.port: 0 is not a port number (1-65535)"


def test_an_override_without_a_repo_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "repo", "railway", good())
    orphan = write(tmp_path / "instance" / "partners", "raliway", "[sftp]\nport = 2222\n")
    with pytest.raises(PartnerConfigError, match="overrides no partner") as caught:
        load_partners(tmp_path / "repo", tmp_path / "instance")
    assert caught.value.problems[0].source == str(orphan)


def test_an_instance_without_overrides_is_fine(tmp_path: Path) -> None:
    write(tmp_path / "repo", "railway", good())
    (tmp_path / "instance").mkdir()
    assert list(load_partners(tmp_path / "repo", tmp_path / "instance")) == ["railway"]


def test_an_empty_or_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PartnerConfigError, match="no partner files"):
        load_partners(tmp_path)
    with pytest.raises(PartnerConfigError, match="no such folder"):
        load_partners(tmp_path / "nowhere")


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "railway.toml").write_bytes(good().encode("gb18030"))
    with pytest.raises(PartnerConfigError, match="not UTF-8"):
        load_partners(tmp_path)


def test_loading_one_partner_ignores_the_others(tmp_path: Path) -> None:
    write(tmp_path, "railway", good())
    write(tmp_path, "broken", "id = \n")
    assert load_partner_files(tmp_path, only="railway")["railway"].config.id == "railway"
    with pytest.raises(PartnerConfigError, match='no partner "nope"'):
        load_partner_files(tmp_path, only="nope")
