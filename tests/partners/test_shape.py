"""A partner's shape digest: the same for the same file, another for any change of what
the partner receives (a changed digest makes its next batch a full snapshot, held)."""

from __future__ import annotations

import dataclasses

import pytest

from hub.config.partners import adapter_for, default_partners_dir, load_partners


def test_the_same_files_give_the_same_digests() -> None:
    first, second = (load_partners(default_partners_dir()) for _ in range(2))
    assert {p: adapter_for(c).shape_digest() for p, c in first.items()} == \
        {p: adapter_for(c).shape_digest() for p, c in second.items()}


@pytest.mark.parametrize("change", ["fields", "subjects", "measures", "encoding"])
def test_a_change_of_what_the_partner_receives_changes_its_digest(change: str) -> None:
    config = load_partners(default_partners_dir())["railway"]
    scope = config.scope
    changed = {
        "fields": dataclasses.replace(config, scope=dataclasses.replace(
            scope, fields=scope.fields[:-1])),
        "subjects": dataclasses.replace(config, scope=dataclasses.replace(
            scope, subjects=(*scope.subjects, "organisation"))),
        "measures": dataclasses.replace(config, measures=(*config.measures, "flight")),
        "encoding": dataclasses.replace(config, encoding="utf-8"),
    }[change]
    assert adapter_for(changed).shape_digest() != adapter_for(config).shape_digest()


def test_the_xml_vocabulary_shapes_xml_partners_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A change of the hub's XML names reaches XML partners' files only: a JSON Lines or
    CSV partner is not given a held full snapshot for it."""
    from hub.partners.base import PartnerAdapter
    configs = load_partners(default_partners_dir())
    mps, moe = (PartnerAdapter(configs[p]) for p in ("mps", "moe"))  # xml, csv
    before = mps.shape_digest(), moe.shape_digest()
    monkeypatch.setattr(PartnerAdapter, "xml_dialect", dataclasses.replace(
        PartnerAdapter.xml_dialect, root="renamedList"))
    assert mps.shape_digest() != before[0]
    assert moe.shape_digest() == before[1]
