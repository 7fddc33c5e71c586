"""Paying with Razorpay in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the Razorpay stand-in and a stand-in shop on loopback, at desktop
(1280x800) and phone (390x844) size.  Screenshots of every page the customer sees go to
``test-output/screenshots/``.

One test pays on the hosted page and follows Razorpay's signed redirect back through our
callback route to the shop; the other fails an attempt (the link stays payable), then the
payment is made and reaches us only by Razorpay's webhook.
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
from tests.gateways.razorpay.conftest import CREDENTIALS, SimServer, enable_razorpay, intent
from tests.simulators.razorpay import RazorpaySimulator
from tests.support.browser import new_page
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.processes import ServerProcess

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
    merchant = await create_merchant(ctx, gateways=(), name="Mumbai Books")
    await enable_razorpay(ctx, merchant, **CREDENTIALS, base_url=sim_server.url)
    sim_server.sim.auto_pay = False
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


async def at_razorpay(page: Page, setup: Setup, shot: Shot, name: str) -> str:
    """The customer on the stand-in's hosted page: the link's id."""
    await page.wait_for_url(re.compile(re.escape(setup.sim.url) + r"/i/[0-9a-f]+$"))
    await expect(page.get_by_role("heading", name="Razorpay stand-in")).to_be_visible()
    await expect(page.get_by_role("button", name="Pay INR 1,250.50")).to_be_visible()
    await shot(page, name)
    link = setup.sim.sim.by_short(page.url.rsplit("/", 1)[-1])
    assert link is not None
    return link.id


async def test_pay_with_razorpay_and_come_back_signed(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    sim: RazorpaySimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])  # our checkout sends the customer to Razorpay
    link_id = await at_razorpay(tab, setup, shot, f"{size}-1-razorpay-page")
    assert sim.link(link_id).reference_id == txn
    await tab.get_by_role("button", name="Pay INR 1,250.50").click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    query = parse_qs(urlsplit(tab.url).query)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(tab, f"{size}-2-back-at-shop")
    got = await api_payment(setup, txn)
    assert got["provider_transaction_id"] == sim.link(link_id).payments[0].id
    await tab.goto(created["payment_url"])
    await expect(tab.get_by_text("Payment received").first).to_be_visible()
    await shot(tab, f"{size}-3-paid")


async def test_a_failed_attempt_then_paid_and_reported_by_webhook(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    sim: RazorpaySimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    link_id = await at_razorpay(tab, setup, shot, f"{size}-1-razorpay-page")
    await tab.get_by_role("button", name="Make this attempt fail").click()
    await expect(tab.get_by_role("alert")).to_contain_text("Payment failed")
    await shot(tab, f"{size}-2-attempt-failed")
    assert (await api_payment(setup, txn))["status"] == "pending"
    # the customer pays on another device and never comes back: only the webhook tells us
    assert sim.pay(link_id) is not None
    async with httpx.AsyncClient(timeout=10) as http:
        (answer,) = await sim.send_webhook(
            link_id, f"{setup.server.url}/gateways/razorpay/webhooks/"
            f"{setup.merchant.slug}/test", http)
    assert answer.status_code < 300, answer.text
    assert (await api_payment(setup, txn))["status"] == "completed"
    await tab.goto(created["payment_url"])
    await expect(tab.get_by_text("Payment received").first).to_be_visible()
    await shot(tab, f"{size}-3-paid")
