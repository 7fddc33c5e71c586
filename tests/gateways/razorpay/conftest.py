"""Razorpay end-to-end fixtures: the stand-in (``tests/simulators/razorpay.py``) on a
loopback port, our real app on the test database (provider timeout 1.5 s), and a merchant
whose ``razorpay`` gateway (test mode) points at the stand-in (API and Checkout.js)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.gateways.base import GatewayContext, PaymentView
from ownpay.merchants import service as merchants
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from tests.simulators.loopback import Loopback
from tests.simulators.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, RazorpaySimulator
from tests.simulators.razorpay import create_app as create_simulator
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.records import gateway_call
from tests.support.settings import make_settings

CREDENTIALS = {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET}


class SimServer:
    def __init__(self) -> None:
        self.app = create_simulator()
        self.loopback = Loopback(self.app)

    @property
    def sim(self) -> RazorpaySimulator:
        sim: RazorpaySimulator = self.app.state.sim
        return sim

    @property
    def url(self) -> str:
        return self.loopback.url


@pytest.fixture
async def sim_server() -> AsyncIterator[SimServer]:
    server = SimServer()
    await server.loopback.__aenter__()
    server.sim.base_url = server.url
    try:
        yield server
    finally:
        await server.loopback.__aexit__()


@pytest.fixture(scope="session")
async def rzp_ctx(ctx: AppContext, database_url: str, data_dir: Path
                  ) -> AsyncIterator[AppContext]:
    """Our app's context on the test database (``ctx`` migrated it), provider timeout 1.5 s."""
    context = AppContext.create(make_settings(database_url, data_dir, gateway_timeout=1.5))
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def rzp_app(rzp_ctx: AppContext) -> Any:
    return create_app(rzp_ctx.settings, ctx=rzp_ctx)


@pytest.fixture
async def customer(rzp_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rzp_app),
                                 base_url="http://pay.test") as client:
        yield client


async def enable_razorpay(ctx: AppContext, merchant: MerchantKeys, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                       gateway="razorpay", values=values)


@pytest.fixture
async def shop(rzp_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
    merchant = await create_merchant(rzp_ctx, gateways=(("test", "sandbox"),))
    await enable_razorpay(rzp_ctx, merchant, **CREDENTIALS, base_url=sim_server.url,
                          checkout_js_url=f"{sim_server.url}/v1/checkout.js")
    return merchant


def intent(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "gateway": "razorpay", "amount": "1250.50", "currency": "INR",
        "order_id": "ORD-" + secrets.token_hex(4), "customer_name": "Gaurav Kumar",
        "customer_email": "gaurav.kumar@example.com", "customer_phone": "+919000090000",
        "return_url": "https://shop.example/return",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      **overrides: Any) -> str:
    r = await customer.post("/api/v1/payment-intents", json=intent(**overrides),
                            headers=merchant.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def api_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      txn: str) -> dict[str, Any]:
    r = await customer.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def open_checkout(customer: httpx.AsyncClient, txn: str) -> httpx.Response:
    """Open our checkout page: it renders Checkout.js for the payment's Razorpay order."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 200, r.text
    assert 'id="razorpay-form"' in r.text, r.text
    return r


def order_on(page: httpx.Response) -> str:
    """The Razorpay order id our page hands Checkout.js."""
    found = re.search(r'data-order-id="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def to_razorpay(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout; the order id Checkout.js is given."""
    return order_on(await open_checkout(customer, txn))


def callback(txn: str) -> str:
    return f"/gateways/razorpay/callback/{txn}"


async def post_handler(customer: httpx.AsyncClient, txn: str,
                       fields: dict[str, str] | None) -> httpx.Response:
    """What our script does with Checkout.js's handler fields: POST them to our return."""
    assert fields is not None
    return await customer.post(callback(txn), data=fields)


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


async def stored(ctx: AppContext, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        found = await s.get(PaymentIntent, txn)
    assert found is not None
    return found


async def adapter_view(ctx: AppContext, txn: str) -> tuple[GatewayContext, PaymentView]:
    intent_row = await stored(ctx, txn)
    gctx, slug = await gateway_call(ctx, intent_row)
    return gctx, payment_view(intent_row, slug)
