"""Fixed projected rows and headers for the exporter tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hub.exporters import BatchHeader
from hub.partners.fields import ALWAYS_FIELDS, PROJECTED_FIELDS

HEADER = BatchHeader(partner="pbc", kind="delta", from_seq=100, to_seq=250,
                     batch_id="pbc_delta_100-250_20261125T020000Z",
                     created_at="2026-11-25T02:00:00Z")

#: Every field a partner may receive, always-fields first.
ALL_FIELDS = (*ALWAYS_FIELDS, *PROJECTED_FIELDS)

#: A partner's order, not the canonical one (name before subject_type, role early):
#: JSON and CSV follow it, XML keeps its schema's order.
SAMPLE_FIELDS = (
    *ALWAYS_FIELDS, "name", "subject_type", "id_type", "id_number", "role", "birth_date",
    "legal_representative", "travel_documents", "court_name", "case_number", "behaviours",
    "expires_on", "categories", "bound_persons", "exemptions",
)

PERSON: dict[str, Any] = {
    "record_type": "listing", "record_key": "L-2024-000001", "status": "active",
    "status_reason": None, "subject_type": "person", "name": "张伟", "id_type": "resident_id",
    "id_number": "110105198503150019", "birth_date": "1985-03-15",
    "legal_representative": None,
    "travel_documents": [{"type": "passport", "number": "E12345678"}],
    "court_name": "北京市朝阳区人民法院", "case_number": "（2024）京0105执1234号",
    "behaviours": ["B1"], "expires_on": None, "categories": None, "bound_persons": None,
    "exemptions": None, "role": None,
    # Outside every sample's fields: must never appear.
    "obligation": "偿还借款本金人民币50000元及利息",
}

ORGANISATION: dict[str, Any] = {
    "record_type": "listing", "record_key": "L-2024-000002", "status": "active",
    "status_reason": None, "subject_type": "organisation", "name": "北京某某贸易有限公司",
    "id_type": "uscc", "id_number": "91110105MA01ABCD5F", "birth_date": None,
    "legal_representative": {"name": "李娜", "id_number": "320102197907040241"},
    "travel_documents": [], "court_name": "北京市朝阳区人民法院",
    "case_number": "（2024）京0105执2001号", "behaviours": ["B3", "B4"],
    "expires_on": "2026-05-20", "categories": None, "bound_persons": None,
    "exemptions": None, "role": None,
}

RESTRICTION: dict[str, Any] = {
    "record_type": "restriction", "record_key": "R-2024-000002", "status": "active",
    "status_reason": None, "subject_type": "organisation", "name": "北京某某贸易有限公司",
    "id_type": "uscc", "id_number": "91110105MA01ABCD5F", "birth_date": None,
    "legal_representative": {"name": "李娜", "id_number": None},
    "travel_documents": None, "court_name": "北京市朝阳区人民法院",
    "case_number": "（2024）京0105执2001号", "behaviours": None, "expires_on": None,
    "categories": ["C1", "C9"],
    "bound_persons": [
        {"name": "李娜", "id_number": "320102197907040241", "role": "legal_representative",
         "released_on": None, "release_reason": None},
        {"name": "王强", "id_number": "11010519491231002X", "role": "actual_controller",
         "released_on": "2025-01-02", "release_reason": "representative_replaced"},
    ],
    "exemptions": [
        {"id": 7, "person": "320102197907040241", "categories": ["C1"], "from": "2026-11-25",
         "until": "2026-12-10", "reason": "funeral", "status": "active"},
    ],
    "role": None,
}

#: An exit: the partner deletes what it holds; only the always-fields are sent.
EXIT: dict[str, Any] = {
    "record_type": "listing", "record_key": "L-2024-000003", "status": "removed",
    "status_reason": "performed",
}

SAMPLE = (PERSON, ORGANISATION, RESTRICTION, EXIT)


def full_row(i: int, **overrides: Any) -> dict[str, Any]:
    """A row with every projected field set, valid against the hub's XSD."""
    row: dict[str, Any] = {
        "record_type": "restriction", "record_key": f"R-2024-{i:06d}", "status": "active",
        "status_reason": None, "subject_type": "person", "name": "张伟",
        "id_type": "resident_id", "id_number": "110105198503150019", "gender": "male",
        "birth_date": "1985-03-15",
        "legal_representative": {"name": "李娜", "id_number": "320102197907040241"},
        "travel_documents": [{"type": "passport", "number": "E12345678"}],
        "court_code": "京0105", "court_name": "北京市朝阳区人民法院",
        "case_number": "（2024）京0105执1234号", "filed_on": "2024-03-01",
        "basis_issuer": "北京市朝阳区人民法院", "basis_number": "（2023）京0105民初5678号",
        "obligation": "偿还借款本金人民币50000元及利息", "performance": "partial",
        "behaviours": ["B1", "legacy_other"], "decided_on": "2024-06-03",
        "listed_on": "2024-06-04", "expires_on": "2026-06-03", "order_id": f"R-2024-{i:06d}",
        "issued_on": "2024-06-03", "categories": ["C1", "C9"],
        "bound_persons": [{"name": "李娜", "id_number": "320102197907040241",
                           "role": "main_responsible", "released_on": None,
                           "release_reason": None}],
        "listing_id": "L-2024-000001",
        "exemptions": [{"id": i, "person": "110105198503150019", "categories": ["C9"],
                        "from": "2026-11-25", "until": "2026-12-10", "reason": "exam",
                        "status": "active"}],
        "role": "direct_responsible",
    }
    row.update(overrides)
    return row


def generated_rows(n: int) -> Iterator[dict[str, Any]]:
    """``n`` rows, made as they are consumed (a few templates, so generation costs little)."""
    templates = [full_row(i) for i in range(16)] + [PERSON, ORGANISATION, RESTRICTION, EXIT]
    for i in range(n):
        yield templates[i % len(templates)]
