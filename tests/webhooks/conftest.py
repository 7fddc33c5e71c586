"""Webhook fixtures: a database of their own per backend (so no other test's server or worker
drains these deliveries), contexts with a compressed retry schedule, and a receiver."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.db import create_engine
from ownpay.migrate import upgrade
from ownpay.payments import service as payments
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from ownpay.webhooks import service as webhooks
from ownpay.webhooks.delivery import deliver_due, dispatch_events
from tests.conftest import (
    PG_URL,
    MerchantKeys,
    _create_pg_database,
    _drop_pg_database,
    make_settings,
)
from tests.webhooks.receiver import Receiver

# Three attempts one second apart, then dead; a short timeout and lease.
FAST = {
    "webhook_retry_schedule": (1, 1),
    "webhook_timeout": 1.0,
    "webhook_lease": 5,
    "worker_interval": 0.05,
    "webhook_concurrency": 8,
    "webhook_per_endpoint": 2,
}


@pytest.fixture(scope="session")
async def wh_database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('wh-sqlite') / 'webhooks.db'}"
    else:
        url = await _create_pg_database(PG_URL)
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        if backend != "sqlite":
            await _drop_pg_database(PG_URL, url)


@pytest.fixture(scope="session")
def wh_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wh-data")


class Contexts:
    """Open extra contexts on the webhooks database with other settings; closes them all."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir
        self.opened: dict[str, AppContext] = {}

    def __call__(self, **overrides: Any) -> AppContext:
        values = {**FAST, **overrides}
        key = repr(sorted(values.items()))
        if key not in self.opened:
            self.opened[key] = AppContext.create(make_settings(self.url, self.data_dir, **values))
        return self.opened[key]

    async def close(self) -> None:
        for ctx in self.opened.values():
            await ctx.close()


@pytest.fixture(scope="session")
async def contexts(wh_database_url: str, wh_data_dir: Path) -> AsyncIterator[Contexts]:
    made = Contexts(wh_database_url, wh_data_dir)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture(scope="session")
def wctx(contexts: Contexts) -> AppContext:
    return contexts()


@pytest.fixture
async def wclient(wctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(wctx.settings, ctx=wctx)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pay.test"
    ) as c:
        yield c


def client_for(ctx: AppContext) -> httpx.AsyncClient:
    app = create_app(ctx.settings, ctx=ctx)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pay.test")


@pytest.fixture
async def shop(wctx: AppContext) -> AsyncIterator[MerchantKeys]:
    """A fresh merchant; afterwards its endpoints are deleted so that no delivery of this
    test is left for a later test's worker step to pick up."""
    from tests.conftest import create_merchant

    merchant = await create_merchant(wctx)
    yield merchant
    await drop_endpoints(wctx, merchant.id)


async def drop_endpoints(ctx: AppContext, merchant_id: int) -> None:
    async with ctx.sessions() as s, s.begin():
        for mode in ("test", "live"):
            for endpoint in await webhooks.list_endpoints(s, scope=TenantScope(merchant_id, mode)):
                await webhooks.delete_endpoint(
                    s, scope=TenantScope(merchant_id, mode), endpoint_id=endpoint.id
                )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


async def add_endpoint(
    client: httpx.AsyncClient, shop: MerchantKeys, url: str, *, mode: str = "test", **body: Any
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/webhook-endpoints", headers=shop.auth(mode), json={"url": url, **body}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def create_intent(client: httpx.AsyncClient, shop: MerchantKeys, **fields: Any) -> str:
    body = {
        "gateway": "sandbox",
        "amount": "99.99",
        "currency": "USD",
        "order_id": "ORDER-" + secrets.token_hex(4),
        "customer_name": "Jane Smith",
        "customer_email": "jane@example.com",
        "return_url": "https://shop.example/return",
        **fields,
    }
    r = await client.post("/api/v1/payment-intents", headers=shop.auth(), json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def move(ctx: AppContext, txn: str, *steps: str) -> None:
    """Drive a payment through ``steps`` with the payments service (as the checkout does)."""
    for to in steps:
        async with ctx.sessions() as s, s.begin():
            intent = await s.scalar(select(PaymentIntent).where(PaymentIntent.id == txn))
            assert intent is not None
            moved = await payments.transition(
                s,
                payment_id=txn,
                merchant_id=intent.merchant_id,
                expected=intent.status,
                to=to,
                actor="test",
            )
            assert moved is not None


async def pump(ctx: AppContext) -> int:
    """One worker step for webhooks: fan out, then deliver what is due."""
    await dispatch_events(ctx)
    return await deliver_due(ctx)
