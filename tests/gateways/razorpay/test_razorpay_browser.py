"""Paying with Razorpay in a real browser: headless Chromium (Playwright) on a real
``ownpay serve`` process, the Razorpay stand-in (API and its Checkout.js) and a stand-in
shop on loopback, at desktop (1280x800) and phone (390x844) size.  Screenshots of every
page the customer sees go to ``test-output/screenshots/``.

Checkout.js is loaded from the stand-in's origin (``checkout_js_url``), which is exactly
what the page's CSP allows.  One test opens Razorpay's form on our page, pays, and our
script posts the signed handler fields to our return route and on to the shop; the other
fails an attempt and closes the form (the order stays payable), then the payment is made
and reaches us only by Razorpay's webhook; in another the customer closes the form
(Checkout.js's ``modal.ondismiss``): nothing is paid, the payment stays pending on our page
and the form opens again for the same order.
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
from tests.simulators.razorpay import RazorpaySimulator
from tests.support import axe
from tests.support.factories import create_merchant
from tests.support.live_checkout import (
    Setup,
    Shot,
    check_page,
    create_live_intent,
    live_payment,
    size_of,
)
from tests.support.processes import ServerProcess
from tests.support.razorpay import CREDENTIALS, intent
from tests.support.standins import SimServer, enable


@pytest.fixture
async def setup(live_server: ServerProcess, ctx: AppContext, shop_site: str,
                sim_server: SimServer) -> AsyncIterator[Setup]:
    merchant = await create_merchant(ctx, gateways=(), name="Mumbai Books")
    await enable(ctx, merchant, "razorpay", **CREDENTIALS, base_url=sim_server.url,
                          checkout_js_url=f"{sim_server.url}/v1/checkout.js")
    yield Setup(server=live_server, sim=sim_server, shop_url=shop_site, merchant=merchant)


async def create_intent(setup: Setup, **overrides: Any) -> dict[str, Any]:
    return await create_live_intent(setup, intent(return_url=f"{setup.shop_url}/return",
                                                  **overrides))


async def razorpay_form(page: Page, setup: Setup, shot: Shot, name: str) -> str:
    """Our checkout page with Razorpay's button; opened: the stand-in's form.  The order."""
    # The button is enabled only by our script, once the stand-in's Checkout.js (from its
    # own origin, which the page's CSP must allow) has defined window.Razorpay.
    button = page.get_by_role("button", name=re.compile(r"^Pay .*1,250\.50 with Razorpay$"))
    await expect(button).to_be_enabled()
    await shot(page, f"{name}-our-page")
    await button.click()
    dialog = page.get_by_role("dialog", name="Razorpay (stand-in)")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#rzp-standin-prefill")).to_contain_text("Gaurav Kumar")
    await expect(dialog).to_contain_text("Mumbai Books")
    await shot(page, f"{name}-razorpay-form")
    order_id = await page.locator("#razorpay-form").get_attribute("data-order-id")
    assert order_id
    return order_id


async def test_pay_with_checkout_js_and_come_back_signed(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    sim: RazorpaySimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await tab.goto(created["payment_url"])
    order_id = await razorpay_form(tab, setup, shot, f"{size}-1")
    assert sim.order(order_id).receipt == txn
    await tab.get_by_role("button", name="Pay INR 1250.50").click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    query = parse_qs(urlsplit(tab.url).query)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(tab, f"{size}-2-back-at-shop")
    got = await live_payment(setup, txn)
    assert got["provider_transaction_id"] == sim.order(order_id).payments[0].id
    assert not [e for e in errors if "Content Security Policy" in e], errors
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
    order_id = await razorpay_form(tab, setup, shot, f"{size}-1")
    await tab.get_by_role("button", name="Make this attempt fail").click()
    await expect(tab.locator("#razorpay-errors")).to_contain_text("Payment failed")
    await tab.get_by_role("button", name="Close").click()
    await expect(tab.locator("#razorpay-status")).to_contain_text("closed Razorpay's form")
    await shot(tab, f"{size}-2-attempt-failed")
    assert (await live_payment(setup, txn))["status"] == "pending"
    # the customer pays on another device and never comes back: only the webhook tells us
    fields = sim.pay(order_id)
    assert fields is not None
    async with httpx.AsyncClient(timeout=10) as http:
        (answer,) = await sim.send_webhook(
            f"{setup.server.url}/gateways/razorpay/webhooks/{setup.merchant.slug}/test",
            http, "payment.captured", payment_id=fields["razorpay_payment_id"])
    assert answer.status_code < 300, answer.text
    assert (await live_payment(setup, txn))["status"] == "completed"
    await tab.goto(created["payment_url"])
    await expect(tab.get_by_text("Payment received").first).to_be_visible()
    await shot(tab, f"{size}-3-paid")


async def test_a_handler_called_twice_posts_once_and_completes_once(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    sim: RazorpaySimulator = setup.sim.sim
    sim.checkout_choice = "duplicate"  # the stand-in's form pays at once, handler twice
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    button = tab.get_by_role("button", name=re.compile(r"^Pay .*1,250\.50 with Razorpay$"))
    await expect(button).to_be_enabled()
    await button.click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    assert parse_qs(urlsplit(tab.url).query)["status"] == ["completed"]
    await shot(tab, f"{size}-1-back-at-shop")
    assert [c[0] for c in sim.calls].count("checkout_pay") == 1
    got = await live_payment(setup, txn)
    assert got["status"] == "completed"
    (order,) = sim.orders.values()
    assert [p.status for p in order.payments] == ["captured"]


async def test_closing_the_form_leaves_the_payment_payable(
    tab: Page, shot: Shot, setup: Setup,
) -> None:
    size = size_of(tab)
    await axe.enable(tab.context)
    sim: RazorpaySimulator = setup.sim.sim
    created = await create_intent(setup)
    txn = created["transaction_id"]
    await tab.goto(created["payment_url"])
    order_id = await razorpay_form(tab, setup, shot, f"{size}-1")
    await tab.get_by_role("button", name="Close").click()  # Checkout.js's ondismiss
    dialog = tab.get_by_role("dialog", name="Razorpay (stand-in)")
    await expect(dialog).to_have_count(0)
    await expect(tab.locator("#razorpay-status")).to_have_text(
        "You closed Razorpay's form before paying. You can open it again.")
    await expect(tab.locator("#razorpay-errors")).to_have_text("")
    button = tab.get_by_role("button", name=re.compile(r"^Pay .*1,250\.50 with Razorpay$"))
    await expect(button).to_be_enabled()
    await check_page(tab, shot, f"{size}-2-form-closed")
    # nothing was tried at Razorpay, nothing changed here: still pending, same order
    assert sim.order(order_id).payments == [] and sim.order(order_id).status == "created"
    got = await live_payment(setup, txn)
    assert (got["status"], got["provider_reference"]) == ("pending", order_id)
    # the form opens again for that order, and paying then completes the payment
    await button.click()
    await expect(tab.get_by_role("dialog", name="Razorpay (stand-in)")).to_be_visible()
    await tab.get_by_role("button", name="Pay INR 1250.50").click()
    await tab.wait_for_url(re.compile(re.escape(setup.shop_url) + r"/return\?"))
    assert parse_qs(urlsplit(tab.url).query)["status"] == ["completed"]
    await shot(tab, f"{size}-3-back-at-shop")
    assert [o.id for o in sim.orders.values()] == [order_id]
    assert (await live_payment(setup, txn))["status"] == "completed"
