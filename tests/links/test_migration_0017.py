"""Migration 0017 (payment links) on both engines: existing payments keep a NULL link, a
link's slug is unique, and down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import migration_engine, seed_old_payment

pytestmark = pytest.mark.slow

LINK = ("INSERT INTO payment_links (id, merchant_id, mode, slug, title, currency, gateways, "
        "fields, active, created_at, updated_at) VALUES (:id, 1, 'test', 'gift', 'Gift', "
        "'USD', '[]', '[]', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")


async def test_links_and_the_payments_link_id(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0016", True)
            await seed_old_payment(conn)
        for target, up in (("head", True), ("0016", False), ("head", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            assert (await conn.execute(text(
                "SELECT link_id FROM payment_intents"))).scalar_one() is None
            await conn.execute(text(LINK), {"id": "plink_0000000000000001"})
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text(LINK), {"id": "plink_0000000000000002"})
