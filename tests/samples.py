"""Fixed sample records (DOMAIN.md §1) for tests that need known-good input."""

from __future__ import annotations

from typing import Any


def person_listing(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "listing_id": "L-2024-000001", "subject_type": "person", "name": "张伟",
        "id_type": "resident_id", "id_number": "110105198503150019", "court_code": "京0105",
        "court_name": "北京市朝阳区人民法院", "case_number": "（2024）京0105执1234号",
        "filed_on": "2024-03-01", "basis_issuer": "北京市朝阳区人民法院",
        "basis_number": "（2023）京0105民初5678号", "obligation": "偿还借款本金人民币50000元及利息",
        "performance": "none", "behaviours": ["B1"], "decided_on": "2024-06-03",
        "listed_on": "2024-06-04",
    }
    record.update(overrides)
    return record


def org_listing(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "listing_id": "L-2024-000002", "subject_type": "organisation",
        "name": "北京某某贸易有限公司", "id_type": "uscc", "id_number": "91110105MA01ABCD5F",
        "legal_representative": {"name": "李娜", "id_number": "320102197907040241"},
        "court_code": "京0105", "court_name": "北京市朝阳区人民法院",
        "case_number": "（2024）京0105执2001号", "filed_on": "2024-02-10",
        "basis_issuer": "北京仲裁委员会", "basis_number": "（2023）京仲裁字第0456号",
        "obligation": "支付货款人民币1200000元", "performance": "partial",
        "behaviours": ["B3", "B4"], "decided_on": "2024-05-20", "listed_on": "2024-05-21",
        "term_months": 24, "extension_months": 0,
    }
    record.update(overrides)
    return record


def org_restriction(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "order_id": "R-2024-000002", "subject_type": "organisation",
        "name": "北京某某贸易有限公司", "id_type": "uscc", "id_number": "91110105MA01ABCD5F",
        "bound_persons": [
            {"name": "李娜", "id_number": "320102197907040241", "role": "legal_representative"}
        ],
        "court_code": "京0105", "court_name": "北京市朝阳区人民法院",
        "case_number": "（2024）京0105执2001号", "issued_on": "2024-05-20",
        "categories": ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"],
        "listing_id": "L-2024-000002",
    }
    record.update(overrides)
    return record


def person_restriction(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "order_id": "R-2024-000001", "subject_type": "person", "name": "张伟",
        "id_type": "resident_id", "id_number": "110105198503150019", "court_code": "京0105",
        "court_name": "北京市朝阳区人民法院", "case_number": "（2024）京0105执1234号",
        "issued_on": "2024-06-03", "listing_id": "L-2024-000001",
    }
    record.update(overrides)
    return record
