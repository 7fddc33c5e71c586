"""Paying with Nagad in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the Nagad stand-in and a stand-in shop on loopback, at desktop
(1280x800) and phone (390x844) size.  Screenshots of every page the customer sees go to
``test-output/screenshots/``.  A payment Nagad declines ends on our failure page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, expect

from ownpay.context import AppContext
from ownpay.gateways.nagad.messages import DECLINED
from tests.simulators.nagad import CREDENTIALS, NagadSimulator
from tests.support import axe
from tests.support.factories import create_merchant
from tests.support.live_checkout import (
    Setup,
    Shot,
    at_failure_page,
    create_live_intent,
    live_payment,
)
from tests.support.nagad import intent
from tests.support.processes import ServerProcess
from tests.support.standins import SimServer, enable


@pytest.fixture
async def setup(live_server: ServerProcess, ctx: AppContext, shop_site: str,
                sim_server: SimServer) -> AsyncIterator[Setup]:
    merchant = await create_merchant(ctx, gateways=(), name="Dhaka Books")
    await enable(ctx, merchant, "nagad", **CREDENTIALS, base_url=sim_server.url)
    sim_server.sim.auto_return = False
    yield Setup(server=live_server, sim=sim_server, shop_url=shop_site, merchant=merchant)


async def create_intent(setup: Setup, **overrides: Any) -> dict[str, Any]:
    return await create_live_intent(setup, intent(return_url=f"{setup.shop_url}/return",
                                                  **overrides))


async def at_nagad(page: Page, setup: Setup, shot: Shot, name: str) -> str:
    """The customer on the stand-in's page: its paymentReferenceId."""
    await page.wait_for_url(re.compile(re.escape(setup.sim.url) + r"/check-out/"))
    await expect(page.get_by_role("heading", name="Nagad stand-in")).to_be_visible()
    await expect(page.get_by_text("1250.50 BDT")).to_be_visible()
    await shot(page, name)
    return page.url.rstrip("/").rsplit("/", 1)[-1]


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_pay_with_nagad_and_come_back(
    page: Page, phone_page: Page, shot: Shot, setup: Setup, size: str,
) -> None:
    tab = page if size == "desktop" else phone_page
    sim: NagadSimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])  # our checkout sends the customer to Nagad
    ref = await at_nagad(tab, setup, shot, f"{size}-1-nagad-page")
    assert sim.session(ref).order_id.startswith(txn.removeprefix("txn_"))
    await tab.get_by_role("button", name="Pay with Nagad").click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    query = parse_qs(urlsplit(tab.url).query)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(tab, f"{size}-2-back-at-shop")
    got = await live_payment(setup, txn)
    assert got["status"] == "completed"
    assert got["provider_transaction_id"] == sim.session(ref).issuer_ref
    await tab.goto(created["payment_url"])
    await expect(tab.get_by_text("Payment received").first).to_be_visible()
    await shot(tab, f"{size}-3-paid")


async def test_cancel_at_nagad_on_a_phone(phone_page: Page, shot: Shot, setup: Setup) -> None:
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await phone_page.goto(created["payment_url"])
    await at_nagad(phone_page, setup, shot, "1-nagad-page")
    await phone_page.get_by_role("button", name="Cancel").click()
    # Nagad says Aborted: the payment is cancelled and the customer sent back to the shop
    await phone_page.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    assert parse_qs(urlsplit(phone_page.url).query)["status"] == ["cancelled"]
    await shot(phone_page, "2-cancelled-back-at-shop")
    assert (await live_payment(setup, txn))["status"] == "cancelled"


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_declined_at_nagad_shows_the_failure_page(
    page: Page, phone_page: Page, shot: Shot, setup: Setup, size: str,
) -> None:
    tab = page if size == "desktop" else phone_page
    await axe.enable(tab.context)
    sim: NagadSimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    ref = await at_nagad(tab, setup, shot, f"{size}-1-nagad-page")
    # the wallet declines (the stand-in's page has no such button: its ``choice`` query)
    await tab.goto(f"{setup.sim.url}/check-out/{ref}?choice=fail")
    # Nagad's verify says Failed: the payment failed, in Nagad's words on our page
    await at_failure_page(tab, setup, shot, txn, DECLINED, f"{size}-2-failed")
    assert sim.session(ref).status == "Failed"
    assert "verify" in [c[0] for c in sim.calls]
