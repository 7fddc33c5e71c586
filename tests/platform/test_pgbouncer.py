"""The product behind PgBouncer in transaction pooling mode (``OWNPAY_DATABASE_POOLER=
transaction``): each transaction may run on another server connection, so nothing may rely
on session state -- no cached prepared statements, no session advisory locks, no LISTEN.

A PgBouncer with three server connections sits in front of a fresh database; the app's
pool has eight, so concurrent requests really do hop between server connections.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ownpay.app import create_app
from ownpay.config import ConfigError, load_settings
from ownpay.context import AppContext
from ownpay.gateways.state import DbStateStore
from ownpay.ledger.verify import operator_verify
from ownpay.merchants.models import GatewayAccount
from ownpay.migrate import upgrade
from ownpay.worker import run_once
from tests.support.checkout import paid
from tests.support.databases import PG_URL, create_pg_database, drop_pg_database
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.pgbouncer import pgbouncer, through
from tests.support.receivers import Receiver
from tests.support.settings import make_settings

pytestmark = [pytest.mark.e2e, pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="PgBouncer fronts PostgreSQL "
                                 "(set OWNPAY_TEST_DATABASE_URL)")]


# What six sandbox refunds of part of a payment send to an endpoint of ours.
REFUND_EVENTS = {"payment.partially_refunded": 6}


@pytest.fixture
async def pooled_url() -> AsyncIterator[str]:
    direct = await create_pg_database()
    try:
        with pgbouncer(PG_URL) as port:
            yield through(direct, port)
    finally:
        await drop_pg_database(direct)


@pytest.fixture
async def pooled(pooled_url: str, tmp_path: Path) -> AsyncIterator[AppContext]:
    ctx = AppContext.create(make_settings(pooled_url, tmp_path, database_pooler="transaction",
                                          database_pool_size=8))
    try:
        await upgrade(ctx.engine)  # the migrations run through PgBouncer too
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def pooled_client(pooled: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(pooled.settings, ctx=pooled)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://pay.test") as client:
        yield client


async def customer_pays(client: httpx.AsyncClient, shop: MerchantKeys) -> str:
    """One customer in a browser of their own (their own checkout cookie)."""
    async with httpx.AsyncClient(transport=client._transport,
                                 base_url="http://pay.test") as browser:
        return await paid(browser, shop, "25.00")


async def refund(client: httpx.AsyncClient, shop: MerchantKeys, txn: str) -> None:
    r = await client.post("/api/v1/refunds", headers=shop.auth(),
                          json={"transaction_id": txn, "amount": 10})
    assert r.status_code == 201, r.text


async def test_payments_refunds_and_webhooks_through_pgbouncer(
    pooled: AppContext, pooled_client: httpx.AsyncClient
) -> None:
    shop = await create_merchant(pooled)
    receiver = Receiver()
    try:
        r = await pooled_client.post("/api/v1/webhook-endpoints", headers=shop.auth(),
                                     json={"url": receiver.url + "/hooks"})
        assert r.status_code == 201, r.text
        # 24 customers at once: creates, checkout pages and payments interleave on three
        # server connections.
        txns = await asyncio.gather(*(customer_pays(pooled_client, shop) for _ in range(24)))
        assert len(set(txns)) == 24
        await asyncio.gather(*(refund(pooled_client, shop, txn) for txn in txns[:6]))
        listed = (await pooled_client.get("/api/v1/transactions", headers=shop.auth(),
                                          params={"limit": 100})).json()
        assert {t["transaction_id"] for t in listed["data"]} == set(txns)
        deadline = time.monotonic() + 60
        wanted = 24 + 6
        while time.monotonic() < deadline and len(receiver.received("/hooks")) < wanted:
            await run_once(pooled)
            await asyncio.sleep(0.05)
        events = [json.loads(x.body)["event"] for x in receiver.received("/hooks")]
        assert Counter(events) == Counter({"payment.completed": 24, **REFUND_EVENTS})
        # Exactly once each: no delivery id arrived twice.
        ids = [x.delivery_id for x in receiver.received("/hooks")]
        assert len(ids) == len(set(ids))
        async with pooled.sessions() as s:
            report = await operator_verify(s)
        assert report.ok, report.problems
    finally:
        receiver.close()


async def account_of(ctx: AppContext, shop: MerchantKeys) -> int:
    async with ctx.sessions() as s:
        account = await s.scalar(select(GatewayAccount.id).where(
            GatewayAccount.merchant_id == shop.id, GatewayAccount.gateway == "sandbox"))
    assert account is not None
    return int(account)


async def test_the_gateway_state_lock_holds_across_pooled_connections(
    pooled: AppContext, pooled_url: str, tmp_path: Path
) -> None:
    """Two processes refreshing one provider token: the second waits for the first.  A
    session-level advisory lock would be left on whichever server connection PgBouncer
    handed out, and the next holder landing there would get it again at once."""
    shop = await create_merchant(pooled)
    account = await account_of(pooled, shop)
    other = AppContext.create(make_settings(pooled_url, tmp_path / "other",
                                            database_pooler="transaction",
                                            database_pool_size=8))
    timeline: list[tuple[str, str]] = []

    async def hold(ctx: AppContext, name: str, start_after: float) -> None:
        await asyncio.sleep(start_after)
        async with DbStateStore(ctx, account).exclusive("token"):
            timeline.append((name, "in"))
            # Other work meanwhile, through the same three server connections.
            for _ in range(5):
                async with ctx.sessions() as s:
                    await s.scalar(select(GatewayAccount.id).limit(1))
                await asyncio.sleep(0.05)
            timeline.append((name, "out"))

    try:
        for round_ in range(3):
            timeline.clear()
            await asyncio.gather(hold(pooled, "a", 0), hold(other, "b", 0.02),
                                 hold(pooled, "c", 0.04))
            for i in range(0, 6, 2):  # in, out, in, out, in, out: never two inside
                assert timeline[i][1] == "in" and timeline[i + 1] == (timeline[i][0], "out"), \
                    (round_, timeline)
    finally:
        await other.close()


def test_behind_a_pooler_the_worker_polls_unless_given_a_direct_listen_url() -> None:
    base = {"OWNPAY_DATABASE_URL": "postgresql://u@pgbouncer.internal:6432/ownpay"}
    assert load_settings(base).listen_url == "postgresql+asyncpg://u@pgbouncer.internal:6432/ownpay"
    pooled = load_settings({**base, "OWNPAY_DATABASE_POOLER": "transaction"})
    assert pooled.listen_url is None
    direct = load_settings({**base, "OWNPAY_DATABASE_POOLER": "transaction",
                            "OWNPAY_DATABASE_LISTEN_URL": "postgresql://u@db.internal/ownpay"})
    assert direct.listen_url == "postgresql+asyncpg://u@db.internal/ownpay"
    assert load_settings({}).listen_url is None  # SQLite: the worker is in-process
    for name, value in (("OWNPAY_DATABASE_POOLER", "session"),
                        ("OWNPAY_DATABASE_POOLER", "transaction\x00"),
                        ("OWNPAY_DATABASE_LISTEN_URL", "sqlite:///x.db"),
                        ("OWNPAY_DATABASE_LISTEN_URL", "mysql://db/x")):
        with pytest.raises(ConfigError) as refused:
            load_settings({**base, name: value})
        assert name in str(refused.value)
    secret = load_settings({**base, "OWNPAY_DATABASE_LISTEN_URL": "postgresql://u:hunter2@db/x"})
    assert "hunter2" not in repr(secret)


