"""People's Bank of China credit reference centre: its own XML schema."""

from __future__ import annotations

from hub.partners.base import PartnerAdapter


class PbcAdapter(PartnerAdapter):
    """Credit reporting of persons and organisations."""
