"""Paying with SSLCommerz in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the SSLCommerz stand-in and a stand-in shop on loopback, at
desktop and phone size.  Screenshots of every page the customer sees go to
``test-output/screenshots/``.

Some tests follow the browser's POST back to our return route; the others complete the
payment by SSLCommerz's IPN, as it does when the customer closes the tab before returning.
A declined card comes back by the same POST to our failure page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from ownpay.context import AppContext
from ownpay.gateways.sslcommerz.mapping import NOT_COMPLETED
from tests.simulators.sslcommerz import SslcommerzSimulator
from tests.support import axe
from tests.support.factories import create_merchant
from tests.support.live_checkout import (
    Setup,
    Shot,
    at_failure_page,
    create_live_intent,
    live_payment,
)
from tests.support.processes import ServerProcess
from tests.support.sslcommerz import CREDENTIALS, intent
from tests.support.standins import SimServer, enable


@pytest.fixture
async def setup(live_server: ServerProcess, ctx: AppContext, shop_site: str,
                sim_server: SimServer) -> AsyncIterator[Setup]:
    merchant = await create_merchant(ctx, gateways=(), name="Dhaka Books")
    await enable(ctx, merchant, "sslcommerz", **CREDENTIALS, base_url=sim_server.url)
    yield Setup(server=live_server, sim=sim_server, shop_url=shop_site, merchant=merchant)


async def create_intent(setup: Setup, **overrides: Any) -> dict[str, Any]:
    return await create_live_intent(setup, intent(return_url=f"{setup.shop_url}/return",
                                                  **overrides))


async def at_sslcommerz(page: Page, setup: Setup, shot: Shot, name: str) -> str:
    """The customer on the stand-in's hosted page (held, for the screenshot): its key."""
    await page.wait_for_url(re.compile(re.escape(setup.sim.url) + r"/gwprocess/v4/gw\.php"))
    await expect(page.get_by_role("heading", name="SSLCommerz stand-in")).to_be_visible()
    await expect(page.get_by_role("button", name="Return to merchant")).to_be_visible()
    await shot(page, name)
    return str(httpx.URL(page.url).params["SESSIONKEY"])


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_pay_with_sslcommerz_completed_by_ipn(
    page: Page, phone_page: Page, shot: Shot, setup: Setup, size: str,
) -> None:
    tab = page if size == "desktop" else phone_page
    sim: SslcommerzSimulator = setup.sim.sim
    sim.auto_post = False
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])  # our checkout sends the customer to SSLCommerz
    key = await at_sslcommerz(tab, setup, shot, f"{size}-1-sslcommerz-page")
    assert sim.session(key).tran_id == txn and sim.session(key).status == "VALID"
    async with httpx.AsyncClient(timeout=10) as http:
        (answer,) = await sim.send_ipn(key, http)
    assert answer.status_code == 200, answer.text
    got = await live_payment(setup, txn)
    assert got["status"] == "completed"
    assert got["provider_transaction_id"] == sim.session(key).bank_tran_id
    await tab.goto(created["payment_url"])
    await expect(tab.get_by_text("Payment received").first).to_be_visible()
    await shot(tab, f"{size}-2-paid")


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_pay_with_sslcommerz_and_return_by_post(
    page: Page, phone_page: Page, shot: Shot, setup: Setup, size: str,
) -> None:
    tab = page if size == "desktop" else phone_page
    sim: SslcommerzSimulator = setup.sim.sim
    sim.auto_post = False
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    key = await at_sslcommerz(tab, setup, shot, f"{size}-1-sslcommerz-page")
    await tab.get_by_role("button", name="Return to merchant").click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    query = parse_qs(urlsplit(tab.url).query)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(tab, f"{size}-2-back-at-shop")
    got = await live_payment(setup, txn)
    assert got["provider_transaction_id"] == sim.session(key).bank_tran_id


async def test_cancel_at_sslcommerz_on_a_phone(
    phone_page: Page, shot: Shot, setup: Setup,
) -> None:
    sim: SslcommerzSimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    sim.choice = "cancel"  # the page auto-posts the cancel back
    await phone_page.goto(created["payment_url"])
    # SSLCommerz says CANCELLED: the payment is cancelled and the customer is sent back to
    # the shop with that status
    await phone_page.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    assert parse_qs(urlsplit(phone_page.url).query)["status"] == ["cancelled"]
    await shot(phone_page, "1-cancelled-back-at-shop")
    assert (await live_payment(setup, txn))["status"] == "cancelled"


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_declined_at_sslcommerz_shows_the_failure_page(
    page: Page, phone_page: Page, shot: Shot, setup: Setup, size: str,
) -> None:
    tab = page if size == "desktop" else phone_page
    await axe.enable(tab.context)
    sim: SslcommerzSimulator = setup.sim.sim
    sim.auto_post = False
    sim.choice = "fail"  # the bank declines the card on SSLCommerz's page
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    key = await at_sslcommerz(tab, setup, shot, f"{size}-1-sslcommerz-page")
    await tab.get_by_role("button", name="Return to merchant").click()
    # SSLCommerz, asked by the session key, says FAILED: the payment failed and the
    # customer is on our page, told so in SSLCommerz's words
    await at_failure_page(tab, setup, shot, txn, NOT_COMPLETED, f"{size}-2-failed")
    assert sim.session(key).status == "FAILED"
    assert [c[0] for c in sim.calls].count("query") >= 1
