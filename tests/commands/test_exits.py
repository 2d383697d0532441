"""`hub listings remove|revoke` and `hub restrictions lift` from the command line."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import ChangeEvent
from tests.commands.test_import import write_jsonl
from tests.conftest import invoke
from tests.samples import org_listing, org_restriction, person_listing


def _last(ctx: HubContext) -> ChangeEvent:
    with ctx.sessions() as s:
        event = s.scalars(select(ChangeEvent).order_by(ChangeEvent.seq.desc())).first()
    assert event is not None
    return event


def test_remove_revoke_lift(hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path) -> None:
    invoke(runner, "listings", "import",
           write_jsonl(tmp_path / "l.jsonl", [person_listing(), org_listing()]))
    invoke(runner, "restrictions", "import", write_jsonl(tmp_path / "r.jsonl", [org_restriction()]))

    result = invoke(runner, "listings", "remove", "L-2024-000001", "--reason", "performed")
    assert result.exit_code == 0, result.output
    assert (_last(hub_ctx).type, _last(hub_ctx).reason) == ("listing.removed", "performed")

    result = invoke(runner, "listings", "remove", "L-2024-000001", "--reason", "performed")
    assert result.exit_code == 1
    assert "only an active listing can be removed" in result.output

    result = invoke(runner, "listings", "remove", "L-9", "--reason", "no_such_reason")
    assert result.exit_code == 2  # click names the allowed reason codes
    assert "performed" in result.output

    result = invoke(runner, "listings", "revoke", "L-2024-000002")
    assert result.exit_code == 0, result.output
    assert _last(hub_ctx).type == "listing.revoked"

    result = invoke(runner, "restrictions", "lift", "R-2024-000002", "--reason", "security_given")
    assert result.exit_code == 0, result.output
    assert _last(hub_ctx).state["status"] == "lifted"

    result = invoke(runner, "listings", "revoke", "L-404")
    assert result.exit_code == 1
    assert "no listing L-404" in result.output
