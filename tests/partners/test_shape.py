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
