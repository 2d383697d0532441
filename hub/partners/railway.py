"""China Railway: persons only, GB18030 CSV with its own column names.

Its measure ``rail`` already keeps orders to C1 and C9 (the categories a ticket office
can enforce; :func:`hub.partners.fields.order_categories`); a listing implies all nine,
so every listing of a person reaches it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from hub.partners.base import PartnerAdapter


class RailwayAdapter(PartnerAdapter):
    """Railway ticketing blocks persons by ID and bound travel document."""

    formats: ClassVar[frozenset[str] | None] = frozenset({"csv"})
    # The column names of the railway's own ticketing blacklist loader.
    column_names: ClassVar[Mapping[str, str]] = MappingProxyType({
        "record_type": "记录类型", "record_key": "记录编号", "status": "状态",
        "status_reason": "状态原因", "name": "姓名", "id_type": "证件类型",
        "id_number": "证件号码", "travel_documents": "出入境证件", "court_name": "执行法院",
        "case_number": "执行案号", "order_id": "限制消费令编号", "issued_on": "发布日期",
        "categories": "限制类别", "listing_id": "失信名单编号", "exemptions": "临时解除",
        "role": "被限制人身份",
    })
