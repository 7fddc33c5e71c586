"""A customer pays through a payment link in Chromium at desktop and phone size on a real
``ownpay serve``: the link's page (brand, price, questions, choice of method) passes
axe-core and does not scroll sideways, a missing answer is shown beside its field, the
customer continues on the normal checkout, pays with the sandbox and is sent back to the link's
thank-you page.  Screenshots go to ``test-output/screenshots/``."""

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
async def test_a_customer_pays_through_a_link(live_server: Any, ctx: Any, browser: Any,
                                              shot: Any, size: str) -> None:
    merchant = await create_merchant(ctx, name="Dhaka Sweets")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        r = await api.post("/api/v1/payment-links", headers=merchant.auth(), json={
            "title": "Eid gift box", "currency": "USD", "amount": "25.00",
            "description": "Dates, **sweets** and a card.", "gateways": ["sandbox", "manual"],
            "fields": [{"name": "size", "label": "Box size", "type": "select",
                        "required": True, "options": ["Small", "Large"]},
                       {"name": "note", "label": "Card message"}]})
        assert r.status_code == 201, r.text
        link = r.json()
    context, page = await new_page(browser, **SIZES[size])
    try:
        await axe.enable(context)
        await page.goto(f"{live_server.url}/pay/{link['slug']}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Eid gift box")
        await expect(page.get_by_text("$25.00")).to_be_visible()
        await expect(page.get_by_text("Dhaka Sweets").first).to_be_visible()
        await _checked(page, shot, f"{size}-link")

        await page.get_by_label("Your name").fill("Rahim Uddin")
        await page.get_by_label("E-mail").fill("rahim@example.com")
        await page.get_by_role("button", name="Continue to payment").click()
        await expect(page.locator("#e-size")).to_contain_text("please fill this in")
        await expect(page.get_by_label("Box size")).to_be_focused()
        await _checked(page, shot, f"{size}-link-refused")

        await page.get_by_label("Box size").select_option("Large")
        await page.get_by_label("Card message").fill("Eid Mubarak!")
        await page.get_by_label("Sandbox").check()
        await page.get_by_role("button", name="Continue to payment").click()
        await page.wait_for_url("**/checkout/txn_*")
        await expect(page.get_by_test_id("amount")).to_contain_text("$25.00")
        await _checked(page, shot, f"{size}-link-checkout")
        await page.get_by_role("button", name="Pay $25.00 (succeed)").click()
        await page.wait_for_url(f"**/pay/{link['slug']}/thanks*")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
        await _checked(page, shot, f"{size}-link-thanks")
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        got = await api.get(f"/api/v1/payment-links/{link['id']}", headers=merchant.auth())
    assert got.json()["paid_count"] == 1
