"""The return by a posted form (UddoktaPay's ``return_type`` POST; PipraPay's is the same
page), in Chromium at desktop and phone size and with JavaScript off: the customer pays with
the sandbox, our return page posts ``invoice_id`` to the shop by itself (a nonce'd script,
no CSP violation), and without JavaScript its button does.  Screenshots are kept under
test-output/screenshots/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from ownpay.context import AppContext
from tests.compat.facades import UDDOKTAPAY, checkout_body, key, switch
from tests.support.browser import new_page
from tests.support.factories import create_merchant
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

Shot = Callable[[Page, str], Awaitable[Path]]


async def fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    device = page.viewport_size
    assert device is not None and width <= device["width"], f"{width} > {device['width']}"


async def _payment(ctx: AppContext, live_server: ServerProcess, shop_site: str
                   ) -> dict[str, Any]:
    shop = await create_merchant(ctx, name="Dhaka Digital Store")
    await switch(ctx, shop, "uddoktapay")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        r = await api.post("/api/checkout-v2", headers=key(shop, UDDOKTAPAY), json=checkout_body(
            amount="1250", return_type="POST", redirect_url=f"{shop_site}/uddoktapay/return",
            webhook_url=None))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def _pay(pg: Page, url: str) -> None:
    await pg.goto(url)
    await expect(pg.get_by_role("heading", name="Choose how to pay")).to_be_visible()
    await pg.get_by_role("button", name="Sandbox (test payments)").click()
    await expect(pg.get_by_role("heading", name="Sandbox (test payments)")).to_be_visible()
    await pg.get_by_role("button", name="(succeed)").click()


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_the_return_page_posts_invoice_id_to_the_shop(
    ctx: AppContext, live_server: ServerProcess, shop_site: str, page: Page,
    phone_page: Page, shot: Shot, size: str,
) -> None:
    pg = page if size == "desktop" else phone_page
    made = await _payment(ctx, live_server, shop_site)
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(str(exc)))
    pg.on("console", lambda msg: problems.append(msg.text)
          if "Content Security Policy" in msg.text else None)
    await _pay(pg, made["payment_url"])
    await pg.wait_for_url(f"{shop_site}/uddoktapay/return")
    await expect(pg.get_by_role("heading", name="Back at the shop")).to_be_visible()
    posted = parse_qs(await pg.get_by_test_id("posted").inner_text())
    assert set(posted) == {"invoice_id"} and len(posted["invoice_id"][0]) == 36
    await shot(pg, f"{size}-posted")
    assert problems == []


async def test_without_javascript_the_button_posts_it(
    ctx: AppContext, live_server: ServerProcess, shop_site: str, browser: Browser, shot: Shot,
) -> None:
    made = await _payment(ctx, live_server, shop_site)
    context, pg = await new_page(browser, java_script_enabled=False,
                                 viewport={"width": 390, "height": 844})
    try:
        await _pay(pg, made["payment_url"])
        await expect(pg.get_by_role("heading", name="Returning to Dhaka Digital Store")
                     ).to_be_visible()
        await fits(pg)
        await shot(pg, "nojs-return")
        await pg.get_by_test_id("return-submit").click()
        await expect(pg.get_by_role("heading", name="Back at the shop")).to_be_visible()
        posted = parse_qs(await pg.get_by_test_id("posted").inner_text())
        assert set(posted) == {"invoice_id"}
    finally:
        await context.close()
