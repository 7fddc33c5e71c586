"""Migration 0012 gives every existing payment a UUID (the merchant API's ``payment_id``),
each its own, on both engines; and goes down and up again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.databases import migration_engine

pytestmark = pytest.mark.slow

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def test_existing_payments_get_their_own_uuid(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0011", True)
            await conn.execute(text(
                "INSERT INTO merchants (id, slug, name, status, created_at) "
                "VALUES (1, 'old', 'Old shop', 'active', CURRENT_TIMESTAMP)"))
            for n in range(50):
                await conn.execute(text(
                    "INSERT INTO payment_intents (id, merchant_id, mode, gateway, status, "
                    "amount_minor, currency, order_id, customer_name, customer_email, "
                    "return_url, created_at, updated_at, expires_at, attempts) VALUES "
                    "(:id, 1, 'test', 'sandbox', 'pending', 100, 'USD', :order, 'A', "
                    "'a@example.com', 'https://x.example/', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"),
                    {"id": f"txn_{n:016x}", "order": f"O-{n}"})
        for target, up in (("head", True), ("0011", False), ("head", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT public_id, api FROM payment_intents"))).all()
        ids = [row[0] for row in rows]
        assert len(ids) == 50 and len(set(ids)) == 50
        assert all(UUID4.match(i) for i in ids), ids[:3]
        assert {row[1] for row in rows} == {None}
