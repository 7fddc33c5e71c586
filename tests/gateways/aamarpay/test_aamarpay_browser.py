"""Paying with aamarPay in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the aamarPay stand-in and a stand-in shop on loopback, at desktop
and phone size.  Screenshots of every page the customer sees go to
``test-output/screenshots/``.

aamarPay's page sends the browser back with an auto-submitted POST form: one test clicks
the button and lets the form post itself to the core's POST return route (as the declined
payment does, at both window sizes); the others press the button through the stand-in's
knob (``sim.act``) and open the return URL by GET.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, expect

from ownpay.context import AppContext
from ownpay.gateways.aamarpay.messages import DECLINED
from tests.gateways.aamarpay.support import CREDENTIALS, Stand, intent
from tests.simulators.aamarpay import create_app as create_simulator
from tests.support import axe
from tests.support.bkash import serving
from tests.support.factories import create_merchant
from tests.support.live_checkout import (
    Setup,
    Shot,
    at_failure_page,
    create_live_intent,
    live_payment,
)
from tests.support.processes import ServerProcess
from tests.support.standins import enable


@pytest.fixture
async def setup(live_server: ServerProcess, ctx: AppContext,
                shop_site: str) -> AsyncIterator[Setup]:
    app = create_simulator()
    async with serving(app) as url:
        merchant = await create_merchant(ctx, gateways=(), name="Dhaka Books")
        await enable(ctx, merchant, "aamarpay", **CREDENTIALS, base_url=url)
        yield Setup(server=live_server, sim=Stand(app, url), shop_url=shop_site,
                    merchant=merchant)


async def create_intent(setup: Setup, **overrides: Any) -> dict[str, Any]:
    return await create_live_intent(setup, intent(return_url=f"{setup.shop_url}/return",
                                                  **overrides))


def return_urls(setup: Setup) -> dict[str, str]:
    last = [r for r in setup.sim.sim.requests if r.path == "/jsonpost.php"][-1]
    return {k: str(last.body[f"{k}_url"]) for k in ("success", "fail", "cancel")}


async def at_aamarpay(page: Page, setup: Setup, shot: Shot, name: str) -> None:
    await page.wait_for_url(re.compile(re.escape(setup.sim.url) + r"/paynow\.php\?track="))
    await expect(page.get_by_role("heading", name="aamarPay Checkout")).to_be_visible()
    await expect(page.get_by_text("1250.50 BDT")).to_be_visible()
    await shot(page, name)


async def back_at_shop(page: Page, setup: Setup, shot: Shot, txn: str, name: str) -> None:
    await page.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    await expect(page.get_by_role("heading", name="Back at the shop")).to_be_visible()
    query = parse_qs(urlsplit(page.url).query)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(page, name)


async def test_pay_with_aamarpay_in_chromium(page: Page, shot: Shot, setup: Setup) -> None:
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await page.goto(created["payment_url"])  # our checkout redirects to aamarPay at once
    await at_aamarpay(page, setup, shot, "1-aamarpay-page")

    setup.sim.sim.act(txn, "success")  # the customer pays on aamarPay's page
    await page.goto(return_urls(setup)["success"])
    await back_at_shop(page, setup, shot, txn, "2-back-at-shop")
    got = await live_payment(setup, txn)
    assert got["status"] == "completed"
    assert got["provider_transaction_id"] == setup.sim.sim.transactions[txn].pg_txnid


async def test_cancel_at_aamarpay_then_pay_on_a_phone(
    phone_page: Page, shot: Shot, setup: Setup
) -> None:
    page = phone_page
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await page.goto(created["payment_url"])
    await at_aamarpay(page, setup, shot, "1-aamarpay-page")

    setup.sim.sim.act(txn, "cancel")
    await page.goto(return_urls(setup)["cancel"])
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("You cancelled the aamarPay payment")
    await shot(page, "2-cancelled-at-aamarpay")
    assert (await live_payment(setup, txn))["status"] == "pending"

    await page.get_by_role("link", name="Continue to aamarPay").click()
    await at_aamarpay(page, setup, shot, "3-aamarpay-again")
    setup.sim.sim.act(txn, "success")
    await page.goto(return_urls(setup)["success"])
    await back_at_shop(page, setup, shot, txn, "4-back-at-shop")


async def test_aamarpay_posts_the_browser_back(page: Page, shot: Shot, setup: Setup) -> None:
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await page.goto(created["payment_url"])
    await at_aamarpay(page, setup, shot, "1-aamarpay-page")
    await page.get_by_role("button", name="Pay").click()  # the page's form posts back
    await back_at_shop(page, setup, shot, txn, "2-back-at-shop")


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_declined_at_aamarpay_shows_the_failure_page(
    page: Page, phone_page: Page, shot: Shot, setup: Setup, size: str,
) -> None:
    tab = page if size == "desktop" else phone_page
    await axe.enable(tab.context)
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    await at_aamarpay(tab, setup, shot, f"{size}-1-aamarpay-page")
    await tab.get_by_role("button", name="Fail").click()  # the page's form posts back
    # aamarPay's search says Failed: the payment failed, in aamarPay's words on our page
    await at_failure_page(tab, setup, shot, txn, DECLINED, f"{size}-2-failed")
    assert setup.sim.sim.transactions[txn].pay_status == "Failed"
