"""NDRC's national credit sharing platform: everything, as JSON Lines, codes with labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hub.core.codes import BEHAVIOUR_LABELS, CATEGORY_LABELS
from hub.partners.base import PartnerAdapter
from hub.partners.projection import Row


class NdrcAdapter(PartnerAdapter):
    """The platform republishes to every unit and to Credit China, so codes travel
    with their Chinese labels: the units downstream of it do not know the hub's codes."""

    formats: ClassVar[frozenset[str] | None] = frozenset({"jsonl"})

    def project(self, kind: str, state: Mapping[str, Any]) -> list[Row]:
        rows = super().project(kind, state)
        for row in rows:
            if row.get("behaviours"):
                row["behaviours"] = [f"{c} {BEHAVIOUR_LABELS[c].zh}" for c in row["behaviours"]]
            if row.get("categories"):
                row["categories"] = [f"{c} {CATEGORY_LABELS[c].zh}" for c in row["categories"]]
        return rows
