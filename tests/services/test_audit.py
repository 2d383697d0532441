"""The audit chain: verify passes on a clean log and names the first tampered row."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy import text

from hub.context import HubContext
from hub.db.engine import session_scope
from hub.services import audit
from tests.conftest import NOW, invoke


def _write(ctx: HubContext, n: int) -> None:
    with session_scope(ctx.sessions) as s:
        for i in range(n):
            audit.record(s, actor="staff:wang", action="listing.added", target=f"L-{i}",
                         detail={"seq": i + 1}, at=NOW)


def test_clean_log_verifies(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    _write(hub_ctx, 5)
    result = invoke(runner, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.output


def test_edited_row_is_named(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    _write(hub_ctx, 5)
    with hub_ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'staff:mallory' WHERE id = 3"))
    result = invoke(runner, "audit", "verify")
    assert result.exit_code == 1
    assert "entry 3" in result.output
    assert "edited" in result.output


def test_deleted_row_is_named(hub_ctx: HubContext, runner: FlaskCliRunner) -> None:
    _write(hub_ctx, 5)
    with hub_ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    result = invoke(runner, "audit", "verify")
    assert result.exit_code == 1
    assert "entry 2 is missing" in result.output


def test_deleted_tail_is_detected(hub_ctx: HubContext) -> None:
    _write(hub_ctx, 5)
    with hub_ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 5"))
    result = audit.verify(hub_ctx.engine)
    assert (result.ok, result.bad_id) == (False, 5)


def test_reordered_rows_are_detected(hub_ctx: HubContext) -> None:
    _write(hub_ctx, 4)
    with hub_ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET id = 100 WHERE id = 2"))
        conn.execute(text("UPDATE audit_log SET id = 2 WHERE id = 3"))
        conn.execute(text("UPDATE audit_log SET id = 3 WHERE id = 100"))
    result = audit.verify(hub_ctx.engine)
    assert (result.ok, result.bad_id) == (False, 2)


def test_rehashed_edit_still_breaks_the_next_link(hub_ctx: HubContext) -> None:
    """An attacker who recomputes the edited row's own hash still breaks row 4's link."""
    _write(hub_ctx, 4)
    with hub_ctx.engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_log WHERE id = 3")).mappings().one()
        forged = audit.entry_hash(id=3, at=NOW, actor="staff:mallory", action=row["action"],
                                  target=row["target"], detail={"seq": 3},
                                  prev_hash=row["prev_hash"])
        conn.execute(text("UPDATE audit_log SET actor = 'staff:mallory', hash = :h WHERE id = 3"),
                     {"h": forged})
    result = audit.verify(hub_ctx.engine)
    assert (result.ok, result.bad_id) == (False, 4)
