"""Migration 0022 (checkout language) on both engines: a brand made before it speaks English,
a new brand can be made Bangla, and down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.databases import migration_engine, seed_old_payment

pytestmark = pytest.mark.slow


async def test_existing_brands_get_english(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0019", True)
            await seed_old_payment(conn)
        for target, up in (("0022", True), ("0019", False), ("0022", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            assert (await conn.execute(text(
                "SELECT checkout_language FROM merchants"))).scalars().all() == ["en"]
            await conn.execute(text("UPDATE merchants SET checkout_language = 'bn'"))
            assert (await conn.execute(text(
                "SELECT checkout_language FROM merchants"))).scalar_one() == "bn"
