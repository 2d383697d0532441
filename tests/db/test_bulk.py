"""The bulk writer under the import: a COPY the server refuses fails, and never hangs."""

from __future__ import annotations

import threading

import psycopg
import pytest

from hub.context import HubContext
from hub.db.bulk import BulkWriter


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_line_refused_when_the_copy_ends_fails_the_import_instead_of_hanging(
        hub_ctx: HubContext) -> None:
    """PostgreSQL names a bad line only once the COPY ends, after the writer's last
    block: the feeder thread must hand that error back, not wait for more blocks."""
    outcome: list[BaseException] = []
    with hub_ctx.engine.connect() as conn, conn.begin():
        writer = BulkWriter(conn)
        writer.write("counters", ("name", "value"), [b"bulk-test\tnot-a-number\n"])

        def finish() -> None:
            try:
                writer.finish()
            except BaseException as exc:  # handed to the test thread below
                outcome.append(exc)

        thread = threading.Thread(target=finish, daemon=True)
        thread.start()
        thread.join(30)
        assert not thread.is_alive(), "finish() hung on a refused COPY"
        conn.rollback()
    (error,) = outcome
    assert isinstance(error, psycopg.errors.InvalidTextRepresentation)
    assert "not-a-number" in str(error)
