"""Webhook test helpers: contexts with a compressed retry schedule on the webhooks database,
endpoints made through the API, payments moved by the payments service, and one worker step
(fan out, then deliver)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.payments import service as payments
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from ownpay.webhooks import service as webhooks
from ownpay.webhooks.delivery import deliver_due, dispatch_events
from tests.support.factories import MerchantKeys
from tests.support.settings import make_settings

# Three attempts one second apart, then dead; a short timeout and lease.
FAST = {
    "webhook_retry_schedule": (1, 1),
    "webhook_timeout": 1.0,
    "webhook_lease": 5,
    "worker_interval": 0.05,
    "webhook_concurrency": 8,
    "webhook_per_endpoint": 2,
}


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


def client_for(ctx: AppContext) -> httpx.AsyncClient:
    app = create_app(ctx.settings, ctx=ctx)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pay.test")


async def drop_endpoints(ctx: AppContext, merchant_id: int) -> None:
    async with ctx.sessions() as s, s.begin():
        for mode in ("test", "live"):
            for endpoint in await webhooks.list_endpoints(s, scope=TenantScope(merchant_id, mode)):
                await webhooks.delete_endpoint(
                    s, scope=TenantScope(merchant_id, mode), endpoint_id=endpoint.id
                )


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


async def pump(ctx: AppContext, *, budget: float | None = None) -> int:
    """One worker step for webhooks: fan out, then deliver what is due.  ``budget`` bounds
    how long the step keeps claiming: below the first retry delay, a test sees exactly one
    attempt per step however slow the machine is (a step that lasts longer than the delay
    rightly sends the retry that has become due)."""
    await dispatch_events(ctx)
    if budget is None:
        return await deliver_due(ctx)
    return await deliver_due(ctx, budget=budget)
