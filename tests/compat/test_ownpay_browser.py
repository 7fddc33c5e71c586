"""The checkout of a payment made through the OwnPay merchant API without a gateway, in
Chromium at desktop and phone size: the customer chooses how to pay, pays with the sandbox
and lands back at the shop with ``payment_id`` and ``status``.  Screenshots of each page
are kept under test-output/screenshots/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from ownpay.context import AppContext
from tests.support.factories import create_merchant
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

Shot = Callable[[Page, str], Awaitable[Path]]


async def fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    device = page.viewport_size
    assert device is not None and width <= device["width"], f"{width} > {device['width']}"


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_the_customer_chooses_a_method_and_pays(
    ctx: AppContext, live_server: ServerProcess, shop_site: str, page: Page,
    phone_page: Page, shot: Shot, size: str,
) -> None:
    pg = page if size == "desktop" else phone_page
    shop = await create_merchant(ctx, name="Dhaka Digital Store")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        r = await api.post("/api/v1/payments", headers=shop.auth(), json={
            "amount": "1250.00", "currency": "BDT", "reference": "INV-2031",
            "redirect_url": f"{shop_site}/invoice/2031", "customer_name": "Nusrat Jahan"})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()["data"]
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(str(exc)))

    await pg.goto(made["checkout_url"])
    await expect(pg.get_by_role("heading", name="Choose how to pay")).to_be_visible()
    await expect(pg.get_by_test_id("amount")).to_contain_text("1,250.00")
    await fits(pg)
    await shot(pg, f"{size}-1-choose")
    await pg.get_by_role("button", name="Sandbox (test payments)").click()

    await expect(pg.get_by_role("heading", name="Sandbox (test payments)")).to_be_visible()
    await shot(pg, f"{size}-2-pay")
    await pg.get_by_role("button", name="(succeed)").click()

    await pg.wait_for_url(lambda url: url.startswith(f"{shop_site}/invoice/2031"))
    await expect(pg.get_by_role("heading", name="Back at the shop")).to_be_visible()
    query = parse_qs(urlsplit(pg.url).query)
    assert query == {"payment_id": [made["payment_id"]], "status": ["completed"]}
    assert problems == []
