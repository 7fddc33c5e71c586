"""Migration 0019 (customers) on both engines: existing payments keep a NULL customer, a
digest is unique per brand and mode (NULL digests never collide), and down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import migration_engine, seed_old_payment

pytestmark = pytest.mark.slow

CUSTOMER = ("INSERT INTO customers (id, merchant_id, mode, email_digest, created_at, "
            "updated_at) VALUES (:id, 1, :mode, :digest, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")


async def test_customers_and_the_payments_customer_id(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0018", True)
            await seed_old_payment(conn)
        for target, up in (("0019", True), ("0018", False), ("0019", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            assert (await conn.execute(text(
                "SELECT customer_id FROM payment_intents"))).scalar_one() is None
            for n, (mode, digest) in enumerate((("test", "d" * 64), ("live", "d" * 64),
                                                ("test", None), ("test", None))):
                await conn.execute(text(CUSTOMER), {"id": f"cus_{n:016x}", "mode": mode,
                                                    "digest": digest})
            await conn.execute(text(
                "UPDATE payment_intents SET customer_id = 'cus_0000000000000000'"))
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text(CUSTOMER), {"id": "cus_00000000000000ff",
                                                    "mode": "test", "digest": "d" * 64})
