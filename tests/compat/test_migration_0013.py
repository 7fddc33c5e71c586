"""Migration 0013 adds the facades' switches (off: no row) and ``return_method`` (NULL for
existing payments: they return by GET as before), on both engines; down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import migration_engine, seed_old_payment

pytestmark = pytest.mark.slow


async def test_switches_and_return_method(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0012", True)
            await seed_old_payment(conn)
        for target, up in (("head", True), ("0012", False), ("head", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            assert (await conn.execute(text(
                "SELECT return_method FROM payment_intents"))).scalar_one() is None
            insert = text("INSERT INTO compat_switches (merchant_id, mode, api, enabled, "
                          "created_at, updated_at) VALUES (1, 'test', 'uddoktapay', true, "
                          "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
            await conn.execute(insert)
        with pytest.raises(IntegrityError):  # one switch per merchant, mode and API
            async with engine.begin() as conn:
                await conn.execute(insert)
