"""Migration 0021 (brand theme) on both engines: an existing brand keeps a NULL theme, an
asset is unique per brand, kind and digest, and down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import migration_engine, seed_old_payment

pytestmark = pytest.mark.slow

ASSET = ("INSERT INTO brand_assets (merchant_id, kind, sha256, content_type, data, created_at)"
         " VALUES (1, :kind, :sha, 'image/png', :data, CURRENT_TIMESTAMP)")


async def test_brand_assets_and_the_merchants_theme(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0019", True)
            await seed_old_payment(conn)
        for target, up in (("0021", True), ("0019", False), ("0021", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT theme FROM merchants"))).scalar_one() is None
            await conn.execute(text(ASSET), {"kind": "logo", "sha": "a" * 64, "data": b"x"})
            await conn.execute(text(ASSET), {"kind": "favicon", "sha": "a" * 64, "data": b"x"})
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text(ASSET), {"kind": "logo", "sha": "a" * 64, "data": b"y"})
        async with engine.begin() as conn:
            await conn.run_sync(run, "0019", False)
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "brand_assets" not in tables
