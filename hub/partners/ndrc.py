"""NDRC's national credit sharing platform: everything, as JSON Lines, codes with labels."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from hub.core.codes import BEHAVIOUR_LABELS, CATEGORY_LABELS
from hub.partners.base import PartnerAdapter


class NdrcAdapter(PartnerAdapter):
    """The platform republishes to every unit and to Credit China, so codes travel
    with their Chinese labels: the units downstream of it do not know the hub's codes."""

    formats: ClassVar[frozenset[str] | None] = frozenset({"jsonl"})
    code_labels: ClassVar[Mapping[str, Mapping[str, str]]] = MappingProxyType({
        "behaviours": MappingProxyType({c: f"{c} {label.zh}"
                                        for c, label in BEHAVIOUR_LABELS.items()}),
        "categories": MappingProxyType({c: f"{c} {label.zh}"
                                        for c, label in CATEGORY_LABELS.items()}),
    })
