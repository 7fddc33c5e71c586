"""PayPal end-to-end fixtures: the stand-in (``tests/simulators/paypal.py``) on a loopback
port, our real app on the test database (provider timeout 1.5 s), and a merchant whose
``paypal`` gateway (test mode) points at the stand-in."""

from __future__ import annotations

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
from tests.simulators.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, PayPalSimulator
from tests.simulators.paypal import create_app as create_simulator
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.records import gateway_call
from tests.support.settings import make_settings

CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
               "webhook_id": WEBHOOK_ID}


class SimServer:
    def __init__(self) -> None:
        self.app = create_simulator()
        self.loopback = Loopback(self.app)

    @property
    def sim(self) -> PayPalSimulator:
        sim: PayPalSimulator = self.app.state.sim
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
async def pp_ctx(ctx: AppContext, database_url: str, data_dir: Path
                 ) -> AsyncIterator[AppContext]:
    """Our app's context on the test database (``ctx`` migrated it), provider timeout 1.5 s."""
    context = AppContext.create(make_settings(database_url, data_dir, gateway_timeout=1.5))
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def pp_app(pp_ctx: AppContext) -> Any:
    return create_app(pp_ctx.settings, ctx=pp_ctx)


@pytest.fixture
async def customer(pp_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=pp_app),
                                 base_url="http://pay.test") as client:
        yield client


async def enable_paypal(ctx: AppContext, merchant: MerchantKeys, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                       gateway="paypal", values=values)


@pytest.fixture
async def shop(pp_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
    merchant = await create_merchant(pp_ctx, gateways=(("test", "sandbox"),))
    await enable_paypal(pp_ctx, merchant, **CREDENTIALS, base_url=sim_server.url)
    return merchant


def intent(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "gateway": "paypal", "amount": "49.95", "currency": "USD",
        "order_id": "ORD-" + secrets.token_hex(4), "customer_name": "John Doe",
        "customer_email": "john.doe@example.com",
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


async def to_paypal(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout: it sends the customer to the order's approve link."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 303, r.text
    return r.headers["location"]


def order_of(approve_url: str) -> str:
    token = dict(parse_qsl(urlsplit(approve_url).query)).get("token")
    assert token, approve_url
    return token


def local(url: str) -> str:
    """Our callback URL as a path on the in-process app (``http://pay.test/...``)."""
    assert url.startswith("http://pay.test/"), url
    return url.removeprefix("http://pay.test")


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


def webhook_url(merchant: MerchantKeys) -> str:
    return f"/gateways/paypal/webhooks/{merchant.slug}/test"
