"""Paying with PayPal in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the PayPal stand-in and a stand-in shop on loopback, at desktop
(1280x800) and phone (390x844) size.  Screenshots of every page the customer sees go to
``test-output/screenshots/``.

One test approves on the stand-in's page and follows PayPal's redirect back through our
callback route (where the server gets the order and captures it) to the shop; the other
cancels at PayPal and comes back to a cancelled payment.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from ownpay.context import AppContext
from tests.gateways.paypal.conftest import CREDENTIALS, intent
from tests.simulators.paypal import PayPalSimulator
from tests.support.browser import new_page
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.processes import ServerProcess
from tests.support.standins import SimServer, enable

Shot = Callable[[Page, str], Awaitable[Path]]
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}


@dataclass
class Setup:
    server: ServerProcess
    sim: SimServer
    shop_url: str
    merchant: MerchantKeys


@pytest.fixture
async def setup(live_server: ServerProcess, ctx: AppContext, shop_site: str,
                sim_server: SimServer) -> AsyncIterator[Setup]:
    merchant = await create_merchant(ctx, gateways=(), name="Lisbon Records")
    await enable(ctx, merchant, "paypal", **CREDENTIALS, base_url=sim_server.url)
    yield Setup(server=live_server, sim=sim_server, shop_url=shop_site, merchant=merchant)


@pytest.fixture(params=sorted(SIZES))
async def tab(request: pytest.FixtureRequest, browser: Any) -> AsyncIterator[Page]:
    context, page = await new_page(browser, **SIZES[request.param])
    try:
        yield page
    finally:
        await context.close()


async def create_intent(setup: Setup, **overrides: Any) -> dict[str, Any]:
    body = intent(return_url=f"{setup.shop_url}/return", **overrides)
    async with httpx.AsyncClient(base_url=setup.server.url, timeout=10) as api:
        r = await api.post("/api/v1/payment-intents", json=body, headers=setup.merchant.auth())
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def api_payment(setup: Setup, txn: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=setup.server.url, timeout=10) as api:
        r = await api.get(f"/api/v1/payment-intents/{txn}", headers=setup.merchant.auth())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def size_of(page: Page) -> str:
    viewport = page.viewport_size or {"width": 0}
    return "phone" if viewport["width"] < 500 else "desktop"


async def at_paypal(page: Page, setup: Setup, shot: Shot, name: str) -> str:
    """The customer on the stand-in's approve page: the order's id."""
    await page.wait_for_url(re.compile(re.escape(setup.sim.url) + r"/checkoutnow\?token=\w+$"))
    await expect(page.get_by_role("heading", name="PayPal stand-in")).to_be_visible()
    await expect(page.get_by_text("USD 49.95")).to_be_visible()
    await shot(page, name)
    return page.url.rsplit("=", 1)[-1]


async def test_approve_at_paypal_and_come_back_captured(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    sim: PayPalSimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])  # our checkout sends the customer to PayPal
    order_id = await at_paypal(tab, setup, shot, f"{size}-1-paypal-page")
    assert sim.order(order_id).unit["custom_id"] == txn
    await tab.get_by_role("button", name="Pay now").click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    query = parse_qs(urlsplit(tab.url).query)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(tab, f"{size}-2-back-at-shop")
    capture = sim.order(order_id).capture
    assert capture is not None
    assert (await api_payment(setup, txn))["provider_transaction_id"] == capture.id
    await tab.goto(created["payment_url"])
    await expect(tab.get_by_text("Payment received").first).to_be_visible()
    await shot(tab, f"{size}-3-paid")


async def test_cancel_at_paypal_comes_back_cancelled(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    await at_paypal(tab, setup, shot, f"{size}-1-paypal-page-cancel")
    await tab.get_by_role("button", name="Cancel and return to the merchant").click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    assert parse_qs(urlsplit(tab.url).query)["status"] == ["cancelled"]
    await shot(tab, f"{size}-2-back-at-shop-cancelled")
    assert (await api_payment(setup, txn))["status"] == "cancelled"
    assert setup.sim.sim.captures == {}
