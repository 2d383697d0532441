"""China Railway: persons only, GB18030 CSV with its own column names."""

from __future__ import annotations

from hub.partners.base import PartnerAdapter


class RailwayAdapter(PartnerAdapter):
    """Railway ticketing blocks persons by ID and travel document."""
