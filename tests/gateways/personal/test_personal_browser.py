"""A customer pays a personal bKash number in Chromium at phone and desktop size on a real
``ownpay serve``: the page passes axe-core and does not scroll sideways, the copy button
copies the number, a wrong transaction id is refused beside its field, and the claim then
waits for the merchant.  Screenshots go to ``test-output/screenshots/``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.support import axe
from tests.support.browser import new_page
from tests.support.factories import create_merchant, intent_body
from tests.support.personal_wallets import SAMPLES, enable

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_a_customer_pays_a_personal_bkash_number(live_server: Any, ctx: Any, browser: Any,
                                                       shot: Any, size: str) -> None:
    merchant = await create_merchant(ctx, name="Dhaka Books")
    wallet, sender, trx = SAMPLES["bkash_personal"]
    await enable(ctx, merchant, "bkash_personal", qr_payload=f"bkash:{wallet}")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        r = await api.post("/api/v1/payment-intents", headers=merchant.auth(), json=intent_body(
            gateway="bkash_personal", currency="BDT", amount=1250.5, order_id="BOOK-77"))
        assert r.status_code == 201, r.text
        txn = r.json()["transaction_id"]
    context, page = await new_page(browser, **SIZES[size])
    try:
        await context.grant_permissions(["clipboard-read", "clipboard-write"],
                                        origin=live_server.url)
        await axe.enable(context)
        await page.goto(f"{live_server.url}/checkout/{txn}")
        await expect(page.get_by_role("heading", name="Pay")).to_contain_text("by bKash")
        await expect(page.locator("#wallet-ref")).to_have_text("BOOK-77")  # the reference to type
        copy = page.get_by_role("button", name=f"Copy {wallet}")
        await expect(copy).to_be_visible()
        await copy.click()
        await expect(page.locator("button[data-copy='wallet-1']")).to_contain_text("Copied")
        await expect(page.get_by_role("status")).to_have_text(f"Copied {wallet}")
        assert await page.evaluate("navigator.clipboard.readText()") == wallet
        found = await axe.violations(page)
        await shot(page, f"{size}-bkash-personal")
        assert not found, found
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"] + 1, f"scrolls sideways ({width}px)"

        await page.get_by_label("The bKash number you paid from").fill(sender)
        await page.get_by_label("Transaction ID").fill("ABC")
        await page.get_by_role("button", name="I have paid").click()
        await expect(page.locator("#e-trx_id")).to_contain_text("10 letters and digits")
        await expect(page.get_by_label("Transaction ID")).to_be_focused()
        await shot(page, f"{size}-bkash-personal-refused")
        await page.get_by_label("Transaction ID").fill(trx.lower())
        await page.get_by_role("button", name="I have paid").click()
        await expect(page.get_by_text("Verifying your payment")).to_be_visible()
        await shot(page, f"{size}-bkash-personal-waiting")
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        got = (await api.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())).json()
    assert (got["status"], got["provider_transaction_id"]) == ("awaiting_verification", trx)
