"""Helpers for the UddoktaPay and PipraPay facade tests: the brand's switch, the key in
each API's header, the sandbox checkout driven like a customer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from ownpay.compat import switches
from ownpay.context import AppContext
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from ownpay.tenancy import TenantScope
from ownpay.webhooks.models import WebhookEndpoint
from tests.support.checkout import CSRF
from tests.support.factories import MerchantKeys

UDDOKTAPAY = "RT-UDDOKTAPAY-API-KEY"
PIPRAPAY = "mh-piprapay-api-key"


async def switch(ctx: AppContext, merchant: MerchantKeys, api: str, *, on: bool = True,
                 mode: str = "test") -> None:
    async with ctx.sessions() as s, s.begin():
        await switches.set_enabled(s, TenantScope(merchant.id, mode), api, enabled=on)


def key(merchant: MerchantKeys, header: str, mode: str = "test") -> dict[str, str]:
    return {header: merchant.test_key if mode == "test" else merchant.live_key}


async def state(ctx: AppContext, merchant: MerchantKeys) -> tuple[int, ...]:
    """What a refused request must leave unchanged: the brand's payments, endpoints,
    events and refunds."""
    async with ctx.sessions() as s:
        counts = []
        for model in (PaymentIntent, WebhookEndpoint, OutboxEvent, Refund):
            counts.append(int(await s.scalar(select(func.count()).select_from(model).where(
                model.merchant_id == merchant.id)) or 0))
        return tuple(counts)


async def pay_sandbox(client: httpx.AsyncClient, url: str, *, gateway: str = "sandbox",
                      outcome: str = "succeed") -> httpx.Response:
    """Choose ``gateway`` if the page asks, then pay on the sandbox form."""
    path = urlsplit(url).path
    page = await client.get(path)
    token = CSRF.search(page.text)
    assert token, page.text[:500]
    if "Choose how to pay" in page.text:
        r = await client.post(f"{path}/method", data={"csrf_token": token.group(1),
                                                       "gateway": gateway})
        assert r.status_code == 303, r.text
        page = await client.get(path)
        token = CSRF.search(page.text)
        assert token
    assert 'name="outcome"' in page.text, page.text[:800]
    return await client.post(f"{path}/pay", data={"csrf_token": token.group(1),
                                                   "outcome": outcome})


def checkout_body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "full_name": "Karim Ahmed", "email": "karim@example.com", "amount": "100",
        "metadata": {"invoice_id": "77", "order_id": "WC-77"},
        "redirect_url": "https://shop.example/uddoktapay/success?order=77",
        "return_type": "GET", "cancel_url": "https://shop.example/cart",
        "webhook_url": "https://shop.example/uddoktapay/ipn",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}
