"""SSLCommerz end-to-end fixtures: the stand-in (``tests/simulators/sslcommerz.py``) on a
loopback port, our real app on the test database, and a merchant whose ``sslcommerz``
gateway (test mode) points at the stand-in."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from tests.simulators.loopback import Loopback
from tests.simulators.sslcommerz import STORE_ID, STORE_PASSWD, SslcommerzSimulator
from tests.simulators.sslcommerz import create_app as create_simulator
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.settings import make_settings

CREDENTIALS = {"store_id": STORE_ID, "store_passwd": STORE_PASSWD}
RETURN_PATH = re.compile(r"^http://pay\.test/gateways/sslcommerz/callback/(txn_[0-9a-f]+)/"
                         r"[0-9a-f]{32}$")


class SimServer:
    def __init__(self) -> None:
        self.app = create_simulator()
        self.loopback = Loopback(self.app)

    @property
    def sim(self) -> SslcommerzSimulator:
        sim: SslcommerzSimulator = self.app.state.sim
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
async def ssl_ctx(ctx: AppContext, database_url: str, data_dir: Path
                  ) -> AsyncIterator[AppContext]:
    """Our app's context on the test database (``ctx`` migrated it), provider timeout 1.5 s."""
    context = AppContext.create(make_settings(database_url, data_dir, gateway_timeout=1.5))
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def ssl_app(ssl_ctx: AppContext) -> Any:
    return create_app(ssl_ctx.settings, ctx=ssl_ctx)


@pytest.fixture
async def customer(ssl_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ssl_app),
                                 base_url="http://pay.test") as client:
        yield client


@pytest.fixture
async def browser_http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain client for the stand-in's hosted page."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def enable_sslcommerz(ctx: AppContext, merchant: MerchantKeys, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                       gateway="sslcommerz", values=values)


@pytest.fixture
async def shop(ssl_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
    merchant = await create_merchant(ssl_ctx, gateways=(("test", "sandbox"),))
    await enable_sslcommerz(ssl_ctx, merchant, **CREDENTIALS, base_url=sim_server.url)
    return merchant


def intent(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "gateway": "sslcommerz", "amount": "1250.50", "currency": "BDT",
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


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action") or ""
        elif tag == "input" and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""


async def to_provider(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout: it sends the customer to SSLCommerz's page (returned)."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 303, r.text
    return r.headers["location"]


async def at_provider(http: httpx.AsyncClient, page_url: str, choice: str = "success"
                      ) -> tuple[str, dict[str, str]]:
    """The customer at the hosted page: where its auto-posted form goes, and the fields."""
    r = await http.get(f"{page_url}&choice={choice}")
    assert r.status_code == 200, r.text
    form = _Form()
    form.feed(r.text)
    # the route hands the adapter the token in the path as ``return_token``
    return form.action, {**form.fields, "return_token": form.action.rsplit("/", 1)[-1]}


def session_key_of(page_url: str) -> str:
    return str(httpx.URL(page_url).params["SESSIONKEY"])
