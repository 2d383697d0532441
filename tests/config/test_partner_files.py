"""The repo's partner files: all 45 load, and each keeps to the domain's rules."""

from __future__ import annotations

import pytest

from hub.config.partners import default_partners_dir, load_partners
from hub.errors import ConfigError
from hub.partners.fields import FIELDS_BY_MEASURE
from hub.partners.model import PartnerConfig
from hub.settings import Settings

#: DOMAIN.md §3, plus TravelSky under the 2014 memorandum.
PARTNER_IDS = frozenset({
    "ndrc", "spc", "pbc", "org_dept", "publicity_dept", "scopsr", "civilization_office", "spp",
    "moe", "miit", "mps", "mss", "mca", "moj", "mof", "mohrss", "mlr", "mep", "mohurd", "mot",
    "moa", "mofcom", "moc", "nhfpc", "sasac", "customs", "sat", "saic", "aqsiq", "sawsa",
    "cfda", "forestry", "sipo", "cnta", "lao", "cac", "cbrc", "csrc", "circ", "scsa", "safe",
    "cyl", "acfic", "railway", "travelsky",
})


@pytest.fixture(scope="module")
def partners() -> dict[str, PartnerConfig]:
    return load_partners(default_partners_dir())


def test_every_unit_has_a_file_that_loads(partners: dict[str, PartnerConfig]) -> None:
    assert len(PARTNER_IDS) == 45
    assert set(partners) == PARTNER_IDS


def test_settings_default_to_the_repo_folder() -> None:
    assert Settings.from_env({}).partners_path == default_partners_dir()
    assert default_partners_dir().is_dir()


def test_settings_take_the_folder_from_the_environment(tmp_path: object) -> None:
    settings = Settings.from_env({"HUB_PARTNERS_PATH": str(tmp_path)})
    assert str(settings.partners_path) == str(tmp_path)


def test_quirky_partners_name_their_adapters(partners: dict[str, PartnerConfig]) -> None:
    railway, pbc, ndrc = partners["railway"], partners["pbc"], partners["ndrc"]
    assert (railway.adapter, railway.format, railway.encoding) == (
        "hub.partners.railway:RailwayAdapter", "csv", "gb18030")
    assert railway.scope.subjects == ("person",)
    assert railway.scope.records == ("listing", "restriction")
    assert (pbc.adapter, pbc.format) == ("hub.partners.pbc:PbcAdapter", "xml")
    assert set(pbc.scope.subjects) == {"person", "organisation"}
    assert (ndrc.adapter, ndrc.format) == ("hub.partners.ndrc:NdrcAdapter", "jsonl")
    assert set(ndrc.scope.records) == {"listing", "restriction"}


def test_travelsky_gets_persons_restrictions_for_flights(
    partners: dict[str, PartnerConfig],
) -> None:
    travelsky = partners["travelsky"]
    assert travelsky.measures == ("flight",)
    assert travelsky.scope.subjects == ("person",)
    assert travelsky.scope.records == ("restriction",)
    assert travelsky.format in ("csv", "jsonl")


def test_formats_are_mixed(partners: dict[str, PartnerConfig]) -> None:
    config_only = [p for p in partners.values() if p.adapter is None]
    assert sum(p.format == "xml" for p in config_only) >= 5
    assert sum(p.format == "csv" for p in config_only) >= 5


def test_batch_partners_have_sftp(partners: dict[str, PartnerConfig]) -> None:
    for pid in ("ndrc", "pbc", "railway", "travelsky", "mps"):
        assert partners[pid].sftp.enabled, pid
        assert partners[pid].sftp.host_key


@pytest.mark.parametrize("pid", sorted(PARTNER_IDS))
def test_file_is_safe_and_minimal(pid: str, partners: dict[str, PartnerConfig]) -> None:
    p = partners[pid]
    # Placeholders only: real hosts and keys come from the instance folder.
    assert p.sftp.host.endswith(".example.invalid")
    assert p.sftp.private_key == f"env:HUB_SFTP_KEY_{pid.upper()}"
    assert p.sftp.timezone == "Asia/Shanghai"
    assert p.receiving_body
    justified = frozenset().union(*(FIELDS_BY_MEASURE[m] for m in p.measures))
    assert set(p.scope.fields) <= justified


def test_files_comment_every_measure() -> None:
    for path in sorted(default_partners_dir().glob("*.toml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# "), path
        start = lines.index("measures = [")
        end = lines.index("]", start)
        for i in range(start + 1, end):
            if not lines[i].lstrip().startswith("#"):
                assert lines[i - 1].lstrip().startswith("#"), f"{path.name}: {lines[i]}"


@pytest.mark.parametrize("value", ["hub.example.cn", "ftp://hub.example.cn", "https://",
                                   "https://hub.example.cn:99999", "https://hub.example.cn/?x=1",
                                   "https://hub.example.cn?", "https://hub.example.cn#"])
def test_a_public_url_partners_could_not_call_is_refused_at_start(value: str) -> None:
    """htu is compared with HUB_PUBLIC_URL: a value without scheme or host would refuse
    every partner request as the partner's fault; the process refuses it instead."""
    with pytest.raises(ConfigError, match="HUB_PUBLIC_URL="):
        Settings.from_env({"HUB_PUBLIC_URL": value})


def test_a_public_url_with_a_path_prefix_is_kept() -> None:
    url = "https://gateway.example.cn/hub"
    assert Settings.from_env({"HUB_PUBLIC_URL": url}).public_url == url
