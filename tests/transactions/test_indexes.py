"""The indexes of migration 0005 serve the queries the API really sends, and the migration
goes down and up again cleanly, on both engines.

The plans are taken of the exact statements the listing endpoint sent (captured from the
engine), so a change to the query that stops it using its index fails here.  PostgreSQL's
planner prefers a sequential scan on a table this small, so its plans are checked with
``enable_seqscan``/``enable_bitmapscan`` off: the question asked is "which index serves this
query and its order", not "is an index cheaper than reading 100 rows".  The plans on a
million rows are in docs/transactions.md (bench/transactions.py prints them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from ownpay.context import AppContext
from ownpay.migrate import alembic_config
from tests.support.databases import PG_URL, create_pg_database, drop_pg_database
from tests.support.transactions import World, cursor_in_the_middle

MAIN = "ix_payment_intents_merchant_mode_created_id"
STATUS = "ix_payment_intents_merchant_mode_status_created"
GATEWAY = "ix_payment_intents_merchant_mode_gateway_created"
EMAIL = "ix_payment_intents_merchant_mode_email_created"
ORDER = "ix_payment_intents_merchant_mode_order_created"


async def sent_statement(ctx: AppContext, client: Any, world: World,
                         params: dict[str, Any]) -> tuple[str, Any]:
    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if "FROM payment_intents" in statement and "ORDER BY payment_intents.created_at" in (
                statement):
            captured.append((statement, parameters))

    engine = ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = await client.get("/api/v1/transactions", params=params, headers=world.a.auth())
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code == 200, r.text
    (sent,) = captured
    return sent


async def plan(ctx: AppContext, statement: str, parameters: Any) -> str:
    async with ctx.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            await conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            rows = await conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        else:
            rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        lines = [" ".join(str(c) for c in row) for row in rows.all()]
        await conn.rollback()
    return "\n".join(lines)


CASES = [
    ("no filter", {}, MAIN),
    ("cursor", {"cursor": "__cursor__"}, MAIN),
    ("created range", {"created_from": "2025-03-02T00:00:00Z",
                       "created_to": "2025-03-09T00:00:00Z"}, MAIN),
    ("one status", {"status": "failed"}, STATUS),
    ("one status + cursor", {"status": "completed", "cursor": "__cursor__"}, STATUS),
    ("gateway", {"gateway": "manual"}, GATEWAY),
    ("customer email", {"customer_email": "JANE@example.com"}, EMAIL),
    ("order id", {"order_id": "ORD-1"}, ORDER),
]


@pytest.mark.parametrize(("params", "index"), [(p, i) for _n, p, i in CASES],
                         ids=[n for n, _p, _i in CASES])
async def test_each_query_uses_its_index(
    ctx: AppContext, client: httpx.AsyncClient, world: World, params: dict[str, Any], index: str,
) -> None:
    if params.get("cursor") == "__cursor__":
        params = {**params, "cursor": cursor_in_the_middle(world)}
    statement, parameters = await sent_statement(ctx, client, world, params)
    shown = await plan(ctx, statement, parameters)
    assert index in shown, shown
    if ctx.engine.dialect.name == "sqlite":
        # The order comes from the index: no temporary B-tree to sort the rows.
        assert "TEMP B-TREE" not in shown, shown
    else:
        assert "Seq Scan" not in shown, shown
    if "cursor" in params and index in (MAIN, STATUS):
        # The keyset position is part of the index search, not a filter on what it read.
        if ctx.engine.dialect.name == "sqlite":
            assert "(created_at,id)<(?,?)" in shown, shown
        else:
            assert "Index Cond" in shown and "ROW(" in shown, shown
            # Bound as the column's type (naive UTC), never as timestamptz, which would be
            # compared through the session's time zone.
            assert "timestamp with time zone" not in shown, shown


@pytest.mark.slow
async def test_migration_0005_goes_down_and_up(backend: str, tmp_path: Path) -> None:
    from alembic import command

    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    else:
        url = await create_pg_database(PG_URL)
    engine = create_async_engine(url)

    def run(connection: Any, target: str, up: bool) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        (command.upgrade if up else command.downgrade)(cfg, target)

    async def index_names() -> set[str]:
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                sql = ("SELECT name FROM sqlite_master WHERE type = 'index' "
                       "AND tbl_name = 'payment_intents'")
            else:
                sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'payment_intents'"
            return {row[0] for row in await conn.execute(text(sql))}

    try:
        for target, up in (("head", True), ("0004", False), ("head", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
            names = await index_names()
            new = {MAIN, STATUS, GATEWAY, EMAIL, ORDER}
            old = {"ix_payment_intents_merchant_mode_created",
                   "ix_payment_intents_merchant_mode_order"}
            if target == "head":
                assert new <= names and not old & names
            else:
                assert not new & names and old <= names
    finally:
        await engine.dispose()
        if backend != "sqlite":
            await drop_pg_database(url)


PAID_ORDERS = "ix_payment_intents_paid_orders"


async def test_create_intent_order_check_probes_only_paid_orders(
    ctx: AppContext, client: httpx.AsyncClient, world: World,
) -> None:
    """Migration 0006: the "order already paid" probe of POST /payment-intents uses the
    partial index of paid orders (a PostgreSQL planner without statistics once chose a
    listing index and filtered every intent of the merchant, so creates slowed as the table
    grew)."""
    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if statement.startswith("INSERT INTO payment_intents"):
            captured.append((statement, parameters))

    body = {"amount": "5.00", "currency": "USD", "order_id": "ORD-1", "gateway": "sandbox",
            "customer_name": "Jane", "customer_email": "jane@example.com",
            "return_url": "https://shop.example/back"}
    engine = ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = await client.post("/api/v1/payment-intents", json=body, headers=world.a.auth())
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code in (201, 409), r.text
    (sent,) = captured
    shown = await plan(ctx, *sent)
    assert PAID_ORDERS in shown, shown
    for listing in (MAIN, STATUS, GATEWAY, EMAIL, ORDER):
        assert listing not in shown, shown
