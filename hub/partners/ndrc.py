"""NDRC's national credit sharing platform: everything, as JSON Lines."""

from __future__ import annotations

from hub.partners.base import PartnerAdapter


class NdrcAdapter(PartnerAdapter):
    """The platform redistributes to every unit, so it receives every record."""
