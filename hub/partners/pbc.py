"""People's Bank of China credit reference centre: its own XML schema and namespace."""

from __future__ import annotations

from typing import ClassVar

from hub.exporters.xml import PBC_CREDIT, XmlDialect
from hub.partners.base import PartnerAdapter


class PbcAdapter(PartnerAdapter):
    """Credit reporting of persons and organisations, in the centre's own XML."""

    formats: ClassVar[frozenset[str] | None] = frozenset({"xml"})
    xml_dialect: ClassVar[XmlDialect] = PBC_CREDIT
