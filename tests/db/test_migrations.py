"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.context import HubContext
from hub.db.models import Base


def test_the_migrated_schema_is_the_models(hub_ctx: HubContext) -> None:
    with hub_ctx.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
