"""Paying with PayPal in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the PayPal stand-in and a stand-in shop on loopback, at desktop
(1280x800) and phone (390x844) size.  Screenshots of every page the customer sees go to
``test-output/screenshots/``.

One test approves on the stand-in's page and follows PayPal's redirect back through our
callback route (where the server gets the order and captures it) to the shop; another
cancels at PayPal and comes back to a cancelled payment; in the last PayPal refuses the
capture (a declined instrument) and the customer sees our failure page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, expect

from ownpay.context import AppContext
from ownpay.gateways.paypal.mapping import DECLINED
from tests.simulators.paypal import PayPalSimulator
from tests.support import axe
from tests.support.factories import create_merchant
from tests.support.live_checkout import (
    Setup,
    Shot,
    at_failure_page,
    create_live_intent,
    live_payment,
    size_of,
)
from tests.support.paypal import CREDENTIALS, intent
from tests.support.processes import ServerProcess
from tests.support.standins import SimServer, enable


@pytest.fixture
async def setup(live_server: ServerProcess, ctx: AppContext, shop_site: str,
                sim_server: SimServer) -> AsyncIterator[Setup]:
    merchant = await create_merchant(ctx, gateways=(), name="Lisbon Records")
    await enable(ctx, merchant, "paypal", **CREDENTIALS, base_url=sim_server.url)
    yield Setup(server=live_server, sim=sim_server, shop_url=shop_site, merchant=merchant)


async def create_intent(setup: Setup, **overrides: Any) -> dict[str, Any]:
    return await create_live_intent(setup, intent(return_url=f"{setup.shop_url}/return",
                                                  **overrides))


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
    assert (await live_payment(setup, txn))["provider_transaction_id"] == capture.id
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
    assert (await live_payment(setup, txn))["status"] == "cancelled"
    assert setup.sim.sim.captures == {}


async def test_a_declined_capture_shows_the_failure_page(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    await axe.enable(tab.context)
    sim: PayPalSimulator = setup.sim.sim
    sim.capture_issue = "INSTRUMENT_DECLINED"  # the card the customer chose is declined
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    await at_paypal(tab, setup, shot, f"{size}-1-paypal-page")
    await tab.get_by_role("button", name="Pay now").click()
    # back through our callback: PayPal refuses the capture, the payment failed
    await at_failure_page(tab, setup, shot, txn, DECLINED, f"{size}-2-failed")
    assert sim.captures == {}
