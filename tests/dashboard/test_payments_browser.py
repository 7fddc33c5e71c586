"""Payments and refunds in Chromium at desktop and phone size: list → filter → detail →
approve a manual payment; a partial refund through its confirmation; the refunds list
and a refund's page.  Each page passes axe-core and is kept as a screenshot."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.factories import create_merchant
from tests.support.transactions import BASE, insert_specs, spec

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_an_operator_approves_and_refunds(live_server: Any, ctx: Any, dash: Any,
                                                shot: Any) -> None:
    brand = await create_merchant(ctx, name="Northwind <Coffee> & Tea")
    manual = spec(brand, BASE + timedelta(days=400), status="awaiting_verification",
                  gateway="manual", amount_minor=4500, customer_name="Ada <b>Lovelace</b>",
                  order_id="ORD-MANUAL-1", customer_email="ada@example.com")
    paid = spec(brand, BASE + timedelta(days=399), status="completed", amount_minor=8000,
                order_id="ORD-PAID-1", customer_email="grace@example.com")
    others = [spec(brand, BASE + timedelta(days=i),
                   status=("failed", "pending", "expired")[i % 3],
                   description="{{ 7*7 }} <script>x</script>") for i in range(6)]
    await insert_specs(ctx, [manual, paid, *others])
    user = await make_user(ctx, "manager", merchant=brand.slug)
    base = live_server.url
    await browser_sign_in(dash, base, user.email, user.password)

    await follow(dash, dash.get_by_role("link", name="Payments", exact=True))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Payments")
    await expect(dash.get_by_role("link", name=manual.id)).to_be_visible()
    await check_page(dash, shot, "payments")
    await dash.get_by_text("More filters").click()
    await dash.get_by_label("Awaiting verification").check()
    await dash.get_by_role("button", name="Show payments").click()
    await expect(dash).to_have_url(re.compile(r"status=awaiting_verification"))
    await expect(dash.get_by_role("link", name=manual.id)).to_be_visible()
    await expect(dash.get_by_role("link", name=paid.id)).to_have_count(0)
    await check_page(dash, shot, "payments-filtered")

    await follow(dash, dash.get_by_role("link", name=manual.id))
    await expect(dash.get_by_text("Ada <b>Lovelace</b>")).to_be_visible()
    await check_page(dash, shot, "payment-awaiting")
    await dash.get_by_label("Note (optional)").fill("Seen on the bank statement")
    await dash.get_by_role("button", name="Approve payment").click()
    await expect(dash.get_by_role("status").filter(has_text="approved")).to_be_visible()
    await expect(dash.locator("h1 .status")).to_have_text("Completed")
    await check_page(dash, shot, "payment-approved")

    await follow(dash, dash.get_by_role("link", name="Payments", exact=True))
    await dash.get_by_label("Search").fill("ORD-PAID-1")
    await dash.get_by_role("button", name="Show payments").click()
    await follow(dash, dash.get_by_role("link", name=paid.id))
    await follow(dash, dash.get_by_role("link", name="Refund…"))
    await check_page(dash, shot, "refund-form")
    await dash.get_by_label("Amount (USD)").fill("abc")
    await dash.get_by_role("button", name="Continue").click()
    await expect(dash.get_by_role("alert")).to_contain_text("number")
    await check_page(dash, shot, "refund-form-error")
    await dash.get_by_label("Amount (USD)").fill("25.00")
    await dash.get_by_label("Reason (optional)").fill("One cup arrived broken")
    await dash.get_by_role("button", name="Continue").click()
    await expect(dash.get_by_role("heading", name="Confirm the refund")).to_be_visible()
    await expect(dash.locator(".confirm")).to_contain_text("80.00 USD")
    await check_page(dash, shot, "refund-confirm")
    await dash.get_by_role("button", name="Refund 25.00 USD").click()
    await expect(dash).to_have_url(re.compile(r"/admin/refunds/rf_[0-9a-f]{16}\?done=created"))
    await expect(dash.locator("h1 .status")).to_have_text("Completed")
    await check_page(dash, shot, "refund")

    await follow(dash, dash.get_by_role("link", name="Refunds", exact=True))
    await expect(dash.get_by_role("cell", name="25.00 USD")).to_be_visible()
    await check_page(dash, shot, "refunds")
    await dash.get_by_label("Status").select_option("completed")
    await dash.get_by_role("button", name="Show refunds").click()
    await expect(dash.get_by_role("cell", name="25.00 USD")).to_be_visible()
    await follow(dash, dash.get_by_role("link", name=paid.id))
    await expect(dash.locator("h1 .status")).to_have_text("Partially refunded")
    await expect(dash.get_by_text("55.00 USD").first).to_be_visible()
    await check_page(dash, shot, "payment-refunded")
