"""Paying with bKash in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the bKash simulator and a stand-in shop on loopback.

The simulator and the shop are served by uvicorn inside the test's event loop, so the test
reads the simulator's state directly.  The shop is a real HTTP server (not a Playwright
route) because the customer reaches ``return_url`` through redirects, which Playwright does
not route.  Screenshots of every page the customer sees go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, expect

from ownpay.context import AppContext
from tests.support.bkash import (
    CREDENTIALS,
    OTP,
    PIN,
    WALLET,
    bkash_intent,
    enable_bkash,
    running_simulator,
)
from tests.support.factories import create_merchant
from tests.support.live_checkout import Setup, Shot, create_live_intent, live_payment
from tests.support.processes import ServerProcess


@pytest.fixture
async def setup(
    live_server: ServerProcess, ctx: AppContext, shop_site: str
) -> AsyncIterator[Setup]:
    shop_url = shop_site
    async with running_simulator() as sim:
        merchant = await create_merchant(ctx, gateways=(), name="Dhaka Books")
        await enable_bkash(ctx, merchant, **CREDENTIALS, base_url=sim.base_url)
        yield Setup(server=live_server, sim=sim, shop_url=shop_url, merchant=merchant)


async def create_intent(setup: Setup, **overrides: Any) -> dict[str, Any]:
    return await create_live_intent(setup, bkash_intent(return_url=f"{setup.shop_url}/return",
                                                  **overrides))


async def approve_at_bkash(page: Page, setup: Setup, shot: Shot, name: str) -> None:
    await page.wait_for_url(re.compile(re.escape(setup.sim.url) + r"/v1\.2\.0-beta/checkout/"))
    await expect(page.get_by_role("heading", name="bKash Checkout")).to_be_visible()
    await page.get_by_label("Wallet number").fill(WALLET)
    await page.get_by_label("Verification code").fill(OTP)
    await page.get_by_label("PIN", exact=True).fill(PIN)
    await shot(page, name)
    await page.get_by_role("button", name="Confirm").click()


async def test_pay_with_bkash_in_chromium(page: Page, shot: Shot, setup: Setup) -> None:
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await page.goto(created["payment_url"])
    pay = page.get_by_role("button", name="Pay with bKash")
    await expect(pay).to_be_visible()
    await expect(page.get_by_text("1,250.50").first).to_be_visible()
    await shot(page, "1-checkout")
    await pay.click()

    await approve_at_bkash(page, setup, shot, "2-bkash-page")
    await page.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    await expect(page.get_by_role("heading", name="Back at the shop")).to_be_visible()
    query = parse_qs(urlsplit(page.url).query)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(page, "3-back-at-shop")

    got = await live_payment(setup, txn)
    (payment_id,) = setup.sim.sim.payments
    trx_id = setup.sim.sim.payment(payment_id).trx_id
    assert got["status"] == "completed" and got["provider_transaction_id"] == trx_id
    assert trx_id and setup.sim.sim.execute_attempts[payment_id] == 1


async def test_cancel_at_bkash_then_pay_on_a_phone(
    phone_page: Page, shot: Shot, setup: Setup
) -> None:
    page = phone_page
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await page.goto(created["payment_url"])
    await page.get_by_role("button", name="Pay with bKash").click()
    await page.wait_for_url(re.compile(re.escape(setup.sim.url)))
    await page.get_by_role("button", name="Cancel").click()

    # back on our checkout page, told what happened, still able to pay
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("You cancelled the bKash payment")
    await shot(page, "1-cancelled-at-bkash")
    assert (await live_payment(setup, txn))["status"] == "pending"

    await page.get_by_role("button", name="Pay with bKash").click()
    await approve_at_bkash(page, setup, shot, "2-bkash-page")
    await page.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    assert parse_qs(urlsplit(page.url).query)["status"] == ["completed"]
    await shot(page, "3-back-at-shop")
    first, second = setup.sim.sim.payments
    assert setup.sim.sim.payment(first).state == "cancelled"
    assert setup.sim.sim.payment(second).state == "completed"
    got = await live_payment(setup, txn)
    assert got["provider_reference"] == second
    assert got["provider_transaction_id"] == setup.sim.sim.payment(second).trx_id
