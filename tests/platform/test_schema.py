"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ownpay.context import AppContext
from ownpay.models import Base


async def test_migrations_match_the_models(ctx: AppContext) -> None:
    def diff(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with ctx.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
