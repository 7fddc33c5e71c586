"""``OWNPAY_DATABASE_REPLICA_URL``: lists and exports are read from a streaming replica,
everything that decides money from the primary.

A primary and a replica streaming from it are made for the test.  With the replica's replay
paused, a payment paid and refunded meanwhile is complete through the primary (checkout,
the payment's own page, the refund) while the list and the CLI export, read from the
replica, do not show it yet; once replay resumes they do.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ownpay.app import create_app
from ownpay.config import normalize_database_url
from ownpay.context import AppContext
from ownpay.migrate import upgrade
from tests.support.checkout import paid
from tests.support.commands import app_env, in_process
from tests.support.databases import PG_URL
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.replica import Pair, caught_up, paused, replica_pair
from tests.support.settings import make_settings

pytestmark = [pytest.mark.e2e, pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="replication is PostgreSQL's "
                                 "(set OWNPAY_TEST_DATABASE_URL)")]


@pytest.fixture
def pair() -> Iterator[Pair]:
    with replica_pair() as made:
        yield made


@pytest.fixture
async def replicated(pair: Pair, tmp_path: Path) -> AsyncIterator[AppContext]:
    ctx = AppContext.create(make_settings(
        normalize_database_url(pair.primary_url), tmp_path,
        database_replica_url=normalize_database_url(pair.replica_url)))
    try:
        await upgrade(ctx.engine)
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def replicated_client(replicated: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(replicated.settings, ctx=replicated)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://pay.test") as client:
        yield client


async def listed(client: httpx.AsyncClient, shop: MerchantKeys) -> set[str]:
    r = await client.get("/api/v1/transactions", headers=shop.auth(), params={"limit": 100})
    assert r.status_code == 200, r.text
    return {t["transaction_id"] for t in r.json()["data"]}


async def exported(ctx: AppContext, shop: MerchantKeys) -> set[str]:
    env = {**app_env(ctx), "OWNPAY_DATABASE_REPLICA_URL": ctx.settings.database_replica_url}
    done = await asyncio.to_thread(in_process, env, "transactions", "export",
                                   "--merchant", shop.slug, "--mode", "test")
    assert done.exit_code == 0, done.stderr
    return {row["transaction_id"] for row in csv.DictReader(io.StringIO(done.stdout))}


async def test_lists_come_from_the_replica_and_money_from_the_primary(
    pair: Pair, replicated: AppContext, replicated_client: httpx.AsyncClient
) -> None:
    client = replicated_client
    shop = await create_merchant(replicated)
    first = await paid(client, shop, "40.00")
    await caught_up(pair)
    assert await listed(client, shop) == {first}
    async with paused(pair):
        second = await paid(client, shop, "60.00")  # checkout and payment: the primary
        one = await client.get(f"/api/v1/transactions/{second}", headers=shop.auth())
        assert one.status_code == 200 and one.json()["status"] == "completed"
        refund = await client.post("/api/v1/refunds", headers=shop.auth(),
                                   json={"transaction_id": second, "amount": 10})
        assert refund.status_code == 201, refund.text  # decided on the primary
        # The replica has not replayed any of it: the list and the export are its.
        assert await listed(client, shop) == {first}
        assert await exported(replicated, shop) == {first}
    await caught_up(pair)
    assert await listed(client, shop) == {first, second}
    assert await exported(replicated, shop) == {first, second}


async def test_without_a_replica_the_list_reads_the_primary(
    ctx: AppContext, client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    assert ctx.replica_engine is None and ctx.reads is ctx.sessions
    txn = await paid(client, merchant, "5.00")
    assert txn in await listed(client, merchant)  # read-your-writes, as before
