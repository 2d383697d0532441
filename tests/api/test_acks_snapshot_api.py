"""``POST /api/v1/acks`` and ``GET /api/v1/snapshot``: a partner's own state and full list."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select

from hub.config.partners import load_adapters
from hub.context import HubContext
from hub.db.engine import session_scope
from hub.db.models import AuditEntry, PartnerAccess, PartnerBatch, PartnerProgress
from tests.api.conftest import SignedClient, problem

Signed = Callable[[str], SignedClient]
ACKS = "/api/v1/acks"


def acked(ctx: HubContext, partner: str) -> int:
    with ctx.sessions() as session:
        progress = session.get(PartnerProgress, partner)
        return progress.acked_seq if progress else 0


def test_ack_moves_forward_only(signed: Signed, records: HubContext) -> None:
    client = signed("ndrc")
    response = client.post(ACKS, json={"through_seq": 3})
    assert response.json == {"partner": "ndrc", "acked_seq": 3}
    # A late retry of an older ack changes nothing.
    assert client.post(ACKS, json={"through_seq": 1}).json == {"partner": "ndrc",
                                                                "acked_seq": 3}
    assert acked(records, "ndrc") == 3
    assert acked(records, "pbc") == 0  # only the caller's own state
    with records.sessions() as session:
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "partner.ack"))
        assert (entry.actor, entry.detail["to"]) == ("partner:ndrc", 3)


def test_ack_beyond_high_water_is_refused(signed: Signed, records: HubContext) -> None:
    body = problem(signed("ndrc").post(ACKS, json={"through_seq": 5}))
    assert body["status"] == 409
    assert "high-water" in body["detail"]
    assert acked(records, "ndrc") == 0


def _batch(ctx: HubContext, partner: str, batch_id: str, to_seq: int) -> None:
    with session_scope(ctx.sessions) as s:
        s.add(PartnerBatch(batch_id=batch_id, partner=partner, kind="full", from_seq=0,
                           to_seq=to_seq, previous_batch_id=None, created_at=datetime.now(UTC),
                           status="sent", counts={}, files=[], manifest_sha256="0" * 64,
                           held_reason=None, released_by=None, released_at=None))


def test_ack_of_a_batch(signed: Signed, records: HubContext) -> None:
    _batch(records, "pbc", "pbc_full_0-2_20261125T040000Z", 2)
    assert signed("pbc").post(ACKS, json={"batch_id": "pbc_full_0-2_20261125T040000Z"}).json \
        == {"partner": "pbc", "acked_seq": 2}
    with records.sessions() as session:
        batch = session.get(PartnerBatch, "pbc_full_0-2_20261125T040000Z")
        assert batch is not None
        assert batch.status == "acknowledged"


def test_another_partners_batch_is_not_found(signed: Signed, records: HubContext) -> None:
    _batch(records, "pbc", "pbc_full_0-2_20261125T040000Z", 2)
    body = problem(signed("ndrc").post(ACKS, json={"batch_id": "pbc_full_0-2_20261125T040000Z"}))
    assert body["status"] == 404
    assert acked(records, "ndrc") == 0


@pytest.mark.parametrize("payload", [{}, {"through_seq": 1, "batch_id": "x"},
                                     {"through_seq": -1}, {"through_seq": "two"}])
def test_malformed_ack_is_refused(signed: Signed, records: HubContext,
                                  payload: dict[str, object]) -> None:
    body = problem(signed("ndrc").post(ACKS, json=payload))
    assert body["status"] == 422
    assert body["errors"]
    assert acked(records, "ndrc") == 0


def test_snapshot_is_the_partners_list_with_seq_and_digest(
        signed: Signed, records: HubContext) -> None:
    response = signed("ndrc").get("/api/v1/snapshot")
    assert response.status_code == 200
    assert response.content_type == "application/jsonl"
    body = response.data
    assert response.headers["X-Hub-Seq"] == "4"
    assert response.headers["Repr-Digest"] == \
        f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"
    lines = [orjson.loads(line) for line in body.splitlines()]
    keys = sorted(line["record_key"] for line in lines if "record_key" in line)
    assert keys == ["L-2024-000001", "L-2024-000002", "R-2024-000001", "R-2024-000002"]
    assert response.headers["X-Hub-Records"] == "4"
    assert response.headers["X-Hub-Shape"] == \
        load_adapters(records.settings)["ndrc"].shape_digest()
    with records.sessions() as session:
        (access,) = session.scalars(select(PartnerAccess)).all()
        assert (access.partner, access.endpoint, access.to_seq, access.count) == (
            "ndrc", "snapshot", 4, 4)


def test_snapshot_in_the_railways_own_format(signed: Signed, records: HubContext) -> None:
    response = signed("railway").get("/api/v1/snapshot")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=gb18030"
    text = response.data.decode("gb18030")
    assert "张伟" in text
    assert "北京某某贸易有限公司" not in text  # person-only: organisations never reach it


@pytest.mark.parametrize("path", ["/api/v1/snapshot", "/api/v1/changes?after=0"])
def test_head_builds_spends_and_records_nothing(signed: Signed, records: HubContext,
                                                path: str) -> None:
    """A HEAD would run the GET view for headers alone: a whole snapshot built, one of
    the hour's snapshots spent, a disclosure recorded of data never sent."""
    client = signed("ndrc")
    for _ in range(7):  # more than the hour's snapshot budget
        response = client.request("HEAD", path)
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET"
    with records.sessions() as session:
        assert session.scalars(select(PartnerAccess)).all() == []
    assert client.get(path).status_code == 200
