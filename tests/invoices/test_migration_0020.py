"""Migration 0020 (invoices) on both engines: existing payments keep a NULL invoice, an
invoice's number is unique per brand and mode (the same number in the other mode is
fine), a token is unique, and down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import migration_engine, seed_old_payment

pytestmark = pytest.mark.slow

INVOICE = ("INSERT INTO invoices (id, merchant_id, mode, token, sequence, currency, lines, "
           "total_minor, amount_paid_minor, status, created_at, updated_at) VALUES (:id, 1, "
           ":mode, :token, :seq, 'BDT', '[]', 100, 0, 'draft', CURRENT_TIMESTAMP, "
           "CURRENT_TIMESTAMP)")


async def test_invoices_and_the_payments_invoice_id(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0019", True)
            await seed_old_payment(conn)
        for target, up in (("0020", True), ("0019", False), ("0020", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            assert (await conn.execute(text(
                "SELECT invoice_id FROM payment_intents"))).scalar_one() is None
            for n, mode in enumerate(("test", "live")):
                await conn.execute(text(INVOICE), {"id": f"inv_{n:016x}", "mode": mode,
                                                   "token": f"t{n}", "seq": 1})
            await conn.execute(text(
                "INSERT INTO invoice_status_history (invoice_id, merchant_id, from_status, "
                "to_status, actor, created_at) VALUES ('inv_0000000000000000', 1, 'draft', "
                "'open', 'test', CURRENT_TIMESTAMP)"))
            await conn.execute(text(
                "UPDATE payment_intents SET invoice_id = 'inv_0000000000000000'"))
        for clash in ({"id": "inv_00000000000000fe", "mode": "test", "token": "t9", "seq": 1},
                      {"id": "inv_00000000000000ff", "mode": "test", "token": "t0", "seq": 2}):
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(text(INVOICE), clash)
