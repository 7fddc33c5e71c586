"""Nagad end-to-end fixtures: the stand-in (``tests/simulators/nagad.py``) on a loopback
port, our real app on the test database, and a merchant whose ``nagad`` gateway (test
mode) points at the stand-in."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from tests.simulators.loopback import Loopback
from tests.simulators.nagad import CREDENTIALS, NagadSimulator
from tests.simulators.nagad import create_app as create_simulator
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.settings import make_settings

CALLBACK = re.compile(r"^http://pay\.test/gateways/nagad/callback/(txn_[0-9a-f]+)/"
                      r"[0-9a-f]{32}$")


class SimServer:
    def __init__(self) -> None:
        self.app = create_simulator()
        self.loopback = Loopback(self.app)

    @property
    def sim(self) -> NagadSimulator:
        sim: NagadSimulator = self.app.state.sim
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
async def nagad_ctx(ctx: AppContext, database_url: str, data_dir: Path
                    ) -> AsyncIterator[AppContext]:
    """Our app's context on the test database (``ctx`` migrated it), provider timeout 1.5 s."""
    context = AppContext.create(make_settings(database_url, data_dir, gateway_timeout=1.5))
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def nagad_app(nagad_ctx: AppContext) -> Any:
    return create_app(nagad_ctx.settings, ctx=nagad_ctx)


@pytest.fixture
async def customer(nagad_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=nagad_app),
                                 base_url="http://pay.test") as client:
        yield client


@pytest.fixture
async def browser_http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain client for the stand-in's hosted page (redirects not followed)."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def enable_nagad(ctx: AppContext, merchant: MerchantKeys, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                       gateway="nagad", values=values)


@pytest.fixture
async def shop(nagad_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
    merchant = await create_merchant(nagad_ctx, gateways=(("test", "sandbox"),))
    await enable_nagad(nagad_ctx, merchant, **CREDENTIALS, base_url=sim_server.url)
    return merchant


def intent(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "gateway": "nagad", "amount": "1250.50", "currency": "BDT",
        "order_id": "ORD-" + secrets.token_hex(4), "customer_name": "Rahim Uddin",
        "customer_email": "rahim@example.com", "customer_phone": "01770618575",
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


async def to_provider(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout: it sends the customer to Nagad's page (returned)."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 303, r.text
    return r.headers["location"]


async def at_provider(http: httpx.AsyncClient, page_url: str, choice: str = "success") -> str:
    """The customer on Nagad's page: the callback URL Nagad sends the browser back to."""
    r = await http.get(page_url, params={"choice": choice})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def ref_of(page_url: str) -> str:
    return page_url.rstrip("/").rsplit("/", 1)[-1]
