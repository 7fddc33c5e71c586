"""A customer pays an invoice in Chromium at desktop and phone size on a real ``ownpay
serve``: the invoice's page (brand, number, Bangla and Latin lines, totals, due date)
passes axe-core and does not scroll sideways, the Pay button leads to the normal checkout
(the customer picks the sandbox), and back on the invoice it says "Paid".  Screenshots go
to ``test-output/screenshots/``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.support import axe
from tests.support.browser import new_page
from tests.support.factories import create_merchant
from tests.support.live_checkout import SIZES

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def _checked(page: Any, shot: Any, name: str) -> None:
    found = await axe.violations(page)
    await shot(page, name)
    assert not found, found
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"scrolls sideways ({width}px)"


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_a_customer_pays_an_invoice(live_server: Any, ctx: Any, browser: Any,
                                          shot: Any, size: str) -> None:
    merchant = await create_merchant(ctx, name="Dhaka Sweets")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        r = await api.post("/api/v1/invoices", headers=merchant.auth(), json={
            "currency": "USD", "customer_name": "Rahim Uddin",
            "customer_email": "rahim@example.com", "due_date": "2099-01-31",
            "notes": "Thank you for your order. ধন্যবাদ!",
            "lines": [{"description": "ইফতার বক্স (Iftar box)", "quantity": "2",
                       "unit_price": "12.50", "tax_rate": "5"},
                      {"description": "Delivery to Gulshan", "unit_price": "3.00"}],
            "discount_rate": "10"})
        assert r.status_code == 201, r.text
        invoice = (await api.post(f"/api/v1/invoices/{r.json()['id']}/finalize",
                                  headers=merchant.auth())).json()
    assert invoice["total"] == "26.45", invoice  # 28.00 - 2.80 (10 %) + 1.25 (line tax)
    path = "/invoice/" + invoice["url"].rsplit("/", 1)[1]
    context, page = await new_page(browser, **SIZES[size])
    try:
        await axe.enable(context)
        await page.goto(f"{live_server.url}{path}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Invoice {invoice['number']}")
        await expect(page.get_by_text("ইফতার বক্স (Iftar box)")).to_be_visible()
        await expect(page.get_by_text("Dhaka Sweets").first).to_be_visible()
        await expect(page.get_by_test_id("status")).to_have_text("Due")
        await expect(page.get_by_text("31 January 2099")).to_be_visible()
        await _checked(page, shot, f"{size}-invoice")

        await page.get_by_role("button", name="Pay $26.45").click()
        await page.wait_for_url("**/checkout/txn_*")
        await page.get_by_test_id("method-sandbox").click()
        await expect(page.get_by_test_id("amount")).to_contain_text("$26.45")
        await page.get_by_role("button", name="Pay $26.45 (succeed)").click()
        await page.wait_for_url(f"**{path}*")
        await expect(page.get_by_test_id("status")).to_have_text("Paid")
        await expect(page.get_by_text("this invoice is paid in full")).to_be_visible()
        await _checked(page, shot, f"{size}-invoice-paid")
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        got = await api.get(f"/api/v1/invoices/{invoice['id']}", headers=merchant.auth())
    assert (got.json()["status"], got.json()["amount_paid"]) == ("paid", "26.45")
