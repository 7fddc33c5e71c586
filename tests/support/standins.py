"""What every gateway's end-to-end tests share: the provider's stand-in (an ASGI app from
``tests/simulators/``) served on a loopback port inside the test's event loop, enabling the
gateway for a merchant, and creating and reading payments through our API.

The per-gateway folders keep only what is theirs (credentials, the intent's defaults, how
the customer moves through the provider's pages)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.gateways.base import GatewayContext, PaymentView
from ownpay.merchants import service as merchants
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from tests.simulators.loopback import Loopback
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.records import gateway_call


class SimServer:
    """A stand-in app (its state on ``app.state.sim``) and the loopback URL it answers on."""

    def __init__(self, create_simulator: Callable[[], Any]) -> None:
        self.app = create_simulator()
        self.loopback = Loopback(self.app)

    @property
    def sim(self) -> Any:
        return self.app.state.sim

    @property
    def url(self) -> str:
        return self.loopback.url


@contextlib.asynccontextmanager
async def serving(create_simulator: Callable[[], Any]) -> AsyncIterator[SimServer]:
    """The stand-in on a free port for one test; it knows its own base URL."""
    server = SimServer(create_simulator)
    await server.loopback.__aenter__()
    server.sim.base_url = server.url
    try:
        yield server
    finally:
        await server.loopback.__aexit__()


def standin_fixture(create_simulator: Callable[[], Any]) -> Any:
    """A gateway folder's ``sim_server`` fixture: its stand-in, served for one test."""

    @pytest.fixture
    async def sim_server() -> AsyncIterator[SimServer]:
        async with serving(create_simulator) as server:
            yield server

    return sim_server


def shop_fixture(gateway: str, credentials: Mapping[str, str],
                 settings: Callable[[str], dict[str, str]] | None = None) -> Any:
    """A gateway folder's ``shop`` fixture: a merchant whose ``gateway`` (test mode) is
    enabled with ``credentials`` and pointed at the stand-in (``base_url``, or what
    ``settings`` makes of the stand-in's URL)."""

    @pytest.fixture
    async def shop(gateway_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
        merchant = await create_merchant(gateway_ctx, gateways=(("test", "sandbox"),))
        pointed = settings(sim_server.url) if settings else {"base_url": sim_server.url}
        await enable(gateway_ctx, merchant, gateway, **credentials, **pointed)
        return merchant

    return shop


async def enable(ctx: AppContext, merchant: MerchantKeys, gateway: str, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                       gateway=gateway, values=values)


def body(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A create-intent body: ``defaults`` with ``overrides`` (``None`` drops a field)."""
    merged = {**defaults, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


def bdt_intent(gateway: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The Bangladeshi gateways' create-intent body (1250.50 BDT from Rahim Uddin), with
    ``overrides`` as :func:`body` applies them."""
    return body({
        "gateway": gateway, "amount": "1250.50", "currency": "BDT",
        "order_id": "ORD-" + secrets.token_hex(4), "customer_name": "Rahim Uddin",
        "customer_email": "rahim@example.com", "customer_phone": "01770618575",
        "return_url": "https://shop.example/return",
    }, overrides)


async def create_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                         body: dict[str, Any]) -> str:
    r = await customer.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def api_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      txn: str) -> dict[str, Any]:
    r = await customer.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def stored(ctx: AppContext, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        row = await s.scalar(select(PaymentIntent).where(PaymentIntent.id == txn))
    assert row is not None
    return row


async def adapter_view(ctx: AppContext, txn: str) -> tuple[GatewayContext, PaymentView]:
    """What the adapter is handed for this payment: its gateway context and payment view."""
    intent_row = await stored(ctx, txn)
    gctx, slug = await gateway_call(ctx, intent_row)
    return gctx, payment_view(intent_row, slug)


async def to_hosted_page(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout: it sends the customer to the provider's page (its URL)."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 303, r.text
    return r.headers["location"]


def local(url: str) -> str:
    """The path and query of one of our URLs (for the in-process client)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


async def completed_view(customer: httpx.AsyncClient, merchant: MerchantKeys, ctx: AppContext,
                         txn: str) -> tuple[GatewayContext, PaymentView]:
    """The payment, which our API must show completed, as the adapter is handed it (e.g. to
    refund it)."""
    assert (await api_payment(customer, merchant, txn))["status"] == "completed"
    return await adapter_view(ctx, txn)
