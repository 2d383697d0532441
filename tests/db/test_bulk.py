"""The bulk writer under the import: a COPY the server refuses fails, and never hangs."""

from __future__ import annotations

import threading

import psycopg
import pytest

from hub.context import HubContext
from hub.db.bulk import BulkWriter
from hub.errors import Conflict


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


def test_a_key_taken_meanwhile_is_a_conflict_naming_it(hub_ctx: HubContext) -> None:
    """Another writer's row on the key: the import is told so, on either backend."""
    with hub_ctx.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO counters (name, value) VALUES ('bulk-key', 1)")
    with hub_ctx.engine.connect() as conn, conn.begin():
        writer = BulkWriter(conn)

        def write_and_finish() -> None:  # SQLite refuses at once, PostgreSQL at the end
            writer.write("counters", ("name", "value"),
                         [b"bulk-key\t2\n"] if writer.copy else [("bulk-key", 2)])
            writer.finish()

        with pytest.raises(Conflict) as caught:
            write_and_finish()
        conn.rollback()
    expected = {"postgresql": "Key (name)=(bulk-key) already exists",
                "sqlite": "UNIQUE constraint failed: counters.name"}
    assert expected[hub_ctx.engine.dialect.name] in str(caught.value)
