"""The partner adapter contract: small, typed, pure hooks a quirky partner overrides.

Most partners need no code: the generic adapter reads everything from their
TOML file. A partner names a subclass (``adapter = "pkg.module:Class"``) only
for what its file cannot express.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from hub.partners.model import PartnerConfig


class PartnerAdapter:
    """Decides what one partner receives and how; one instance per partner config."""

    #: Formats this adapter can write; ``None`` means any registered exporter.
    formats: ClassVar[frozenset[str] | None] = None

    def __init__(self, config: PartnerConfig) -> None:
        self.config = config
