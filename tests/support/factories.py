"""Objects the tests need, made the way the product makes them: merchants with API keys
(through the merchants service), and intents, webhook endpoints, deliveries and refunds
(through the API).

Tests isolate themselves by creating their own merchant (tenant isolation is a product
invariant, so sharing a database between tests is itself a check of it).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.webhooks.delivery import dispatch_events


@dataclass
class MerchantKeys:
    id: int
    slug: str
    test_key: str
    live_key: str
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, mode: str = "test") -> dict[str, str]:
        key = self.test_key if mode == "test" else self.live_key
        return {"Authorization": f"Bearer {key}"}


async def create_merchant(
    ctx: AppContext,
    *,
    gateways: tuple[tuple[str, str], ...] = (
        ("test", "sandbox"), ("test", "manual"), ("live", "manual"),
    ),
    **fields: Any,
) -> MerchantKeys:
    slug = "m-" + secrets.token_hex(5)
    async with ctx.sessions() as s, s.begin():
        m = await merchants.create_merchant(s, slug=slug, name=fields.pop("name", f"Shop {slug}"),
                                            **fields)
        for mode, gw in gateways:
            await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode=mode, gateway=gw,
                                           values={})
        test_key = await merchants.create_api_key(s, merchant=m, mode="test")
        live_key = await merchants.create_api_key(s, merchant=m, mode="live")
    return MerchantKeys(id=m.id, slug=slug, test_key=test_key.api_key, live_key=live_key.api_key)


async def extra_key(ctx: AppContext, merchant: MerchantKeys, scopes: tuple[str, ...],
                    mode: str = "test") -> dict[str, str]:
    """Another API key of ``merchant`` with only ``scopes``; its Authorization header."""
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        key = await merchants.create_api_key(s, merchant=m, mode=mode, scopes=scopes)
    return {"Authorization": f"Bearer {key.api_key}"}


def intent_body(**overrides: Any) -> dict[str, Any]:
    """A valid create-intent body (sandbox, 99.99 USD, a fresh order id); ``None`` drops a
    field."""
    body: dict[str, Any] = {
        "gateway": "sandbox",
        "amount": 99.99,
        "currency": "USD",
        "order_id": "ORDER-" + secrets.token_hex(4),
        "customer_name": "Jane Smith",
        "customer_email": "jane@example.com",
        "return_url": "https://shop.example/return",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


# ---- objects of a merchant, made through the API ------------------------------------------
# One signature for all, (client, ctx, owner) -> object id, so a table can name them.


async def make_intent(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=owner.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def make_payment(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    """A payment of the OwnPay merchant API (``/api/v1/payments``): its UUID."""
    r = await client.post("/api/v1/payments", headers=owner.auth(), json={
        "amount": "150.00", "currency": "USD", "reference": f"INV-{secrets.token_hex(4)}",
        "redirect_url": "https://shop.example/return"})
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["payment_id"])


async def make_endpoint(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    # Nothing listens on port 9 (discard); the test settings allow loopback receivers.
    r = await client.post("/api/v1/webhook-endpoints", headers=owner.auth(),
                          json={"url": "http://127.0.0.1:9/ownpay-hooks"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_delivery(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    """An event of the owner's fanned out to the owner's endpoint, as the worker does it."""
    await make_endpoint(client, ctx, owner)
    txn = await make_intent(client, ctx, owner)
    r = await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=owner.auth())
    assert r.status_code == 200, r.text
    for _ in range(200):  # other tests' events may be queued ahead of ours: bounded
        listed = await client.get("/api/v1/webhooks/deliveries", headers=owner.auth(),
                                  params={"transaction_id": txn})
        data = listed.json()["data"]
        if data:
            return str(data[0]["id"])
        if not await dispatch_events(ctx):
            await asyncio.sleep(0.05)  # another worker holds the fan-out lock
    raise AssertionError("the cancellation event was never fanned out into a delivery")


async def make_device(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    """A phone paired to the owner's test mode with a code made through the API."""
    code = await client.post("/api/v1/sms/pairing-codes", headers=owner.auth())
    assert code.status_code == 201, code.text
    r = await client.post("/api/mobile/v1/devices", json={"pairing_code": code.json()["code"]})
    assert r.status_code == 201, r.text
    return str(r.json()["device_id"])


async def make_domain(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    """A (pending) domain of the owner's brand: its id."""
    r = await client.post("/api/v1/domains", headers=owner.auth(),
                          json={"domain": f"pay-{secrets.token_hex(6)}.brand.example"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_link(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    """A payment link of the owner's test mode: its id."""
    r = await client.post("/api/v1/payment-links", headers=owner.auth(), json={
        "title": "Gift box", "currency": "USD", "amount": "25.00"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_invoice(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    """A draft invoice of the owner's test mode: its id."""
    r = await client.post("/api/v1/invoices", headers=owner.auth(), json={
        "currency": "USD", "lines": [{"description": "Probe", "unit_price": "10.00"}]})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_customer(client: httpx.AsyncClient, ctx: AppContext,
                        owner: MerchantKeys) -> str:
    """A customer of the owner's test mode: its id."""
    r = await client.post("/api/v1/customers", headers=owner.auth(), json={
        "name": "Probe Customer", "email": f"probe-{secrets.token_hex(4)}@example.com"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_refund(client: httpx.AsyncClient, ctx: AppContext, owner: MerchantKeys) -> str:
    """A partial refund of a sandbox payment the customer paid on the checkout page."""
    txn = await make_intent(client, ctx, owner)
    page = await client.get(f"/checkout/{txn}")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert token, page.text
    paid = await client.post(f"/checkout/{txn}/pay",
                             data={"csrf_token": token.group(1), "outcome": "succeed"})
    assert paid.status_code == 303, paid.text
    r = await client.post("/api/v1/refunds", headers=owner.auth(),
                          json={"transaction_id": txn, "amount": "1.00"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])
