"""A customer pays a sandbox payment on the brand's own domain in Chromium, at desktop and
phone size, on a real ``ownpay serve``: Chromium maps the brand's host name to loopback
(``--host-resolver-rules``), so the server sees ``Host: pay-….brand.example``.  The
checkout page there is the brand's, passes axe-core, does not scroll sideways, pays and
sends the customer back to the shop; another brand's payment on that domain is the 404
page.  Screenshots go to ``test-output/screenshots/``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from ownpay.domains import service
from tests.support import axe
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, new_page
from tests.support.dns import Zone
from tests.support.factories import create_merchant, intent_body
from tests.support.live_checkout import SIZES

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
HOST_SUFFIX = ".brand.example"


@pytest.fixture(scope="module")
async def mapped_browser() -> AsyncIterator[Any]:
    """A Chromium whose resolver sends every ``*.brand.example`` name to loopback."""
    rules = f"MAP *{HOST_SUFFIX} 127.0.0.1"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"])
        try:
            yield browser
        finally:
            await browser.close()


async def _checked(page: Any, shot: Any, name: str) -> None:
    found = await axe.violations(page)
    await shot(page, name)
    assert not found, found
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"scrolls sideways ({width}px)"


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_a_customer_pays_on_the_brands_domain(
        live_server: Any, ctx: Any, zone: Zone, mapped_browser: Any, shop_site: str,
        shot: Any, size: str) -> None:
    brand = await create_merchant(ctx, name="Dhaka Sweets")
    other = await create_merchant(ctx, name="Other Shop")
    async with ctx.sessions() as s, s.begin():
        row = await service.add_domain(s, brand.id, f"pay-{brand.id}-{size}{HOST_SUFFIX}",
                                       settings=ctx.settings)
    zone.prove(row.domain, row.token)
    assert (await service.verify(ctx, brand.id, row.id)).status == "verified"
    port = urlsplit(live_server.url).port
    origin = f"http://{row.domain}:{port}"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        mine = await api.post("/api/v1/payment-intents", headers=brand.auth(), json=intent_body(
            amount="42.00", return_url=f"{shop_site}/orders/done"))
        theirs = await api.post("/api/v1/payment-intents", headers=other.auth(),
                                json=intent_body())
    assert mine.status_code == 201 and theirs.status_code == 201, mine.text + theirs.text
    txn = mine.json()["transaction_id"]

    context, page = await new_page(mapped_browser, **SIZES[size])
    try:
        await axe.enable(context)
        await page.goto(f"{origin}/checkout/{txn}")
        await expect(page.get_by_test_id("amount")).to_have_text("$42.00")
        await expect(page.locator("header .brand-name")).to_have_text("Dhaka Sweets")
        assert urlsplit(page.url).hostname == row.domain
        await _checked(page, shot, f"{size}-brand-domain-checkout")
        await page.get_by_role("button", name="Pay $42.00 (succeed)").click()
        await page.wait_for_url(f"{shop_site}/orders/done*")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Back at the shop")

        answer = await page.goto(f"{origin}/checkout/{theirs.json()['transaction_id']}")
        assert answer is not None and answer.status == 404
        await expect(page.get_by_text("Other Shop")).to_have_count(0)
        await _checked(page, shot, f"{size}-brand-domain-foreign-404")
        admin = await page.goto(f"{origin}/admin/signin")
        assert admin is not None and admin.status == 404
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        got = await api.get(f"/api/v1/payment-intents/{txn}", headers=brand.auth())
    assert got.json()["status"] == "completed"


BENGALI_DIGIT = re.compile("[০-৯]")


@pytest.mark.parametrize("language", ["bn", "en"])
async def test_a_link_and_its_checkout_on_the_brands_domain_in_each_language(
        live_server: Any, ctx: Any, zone: Zone, mapped_browser: Any, shot: Any,
        language: str) -> None:
    """At phone size, a brand whose checkout language is ``language``: its payment link's
    page and the checkout it leads to, and its invoice's page, are served on the brand's
    domain, in that language (``<html lang>``, Bengali digits in the amounts for Bangla);
    the customer's switch to the other language stays on the domain; another brand's link
    and invoice there are 404s."""
    brand = await create_merchant(ctx, name="Dhaka Sweets", checkout_language=language)
    other = await create_merchant(ctx, name="Other Shop")
    async with ctx.sessions() as s, s.begin():
        row = await service.add_domain(s, brand.id, f"links-{brand.id}-{language}{HOST_SUFFIX}",
                                       settings=ctx.settings)
    zone.prove(row.domain, row.token)
    assert (await service.verify(ctx, brand.id, row.id)).status == "verified"
    origin = f"http://{row.domain}:{urlsplit(live_server.url).port}"
    links, invoices = {}, {}
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        for shop in (brand, other):
            r = await api.post("/api/v1/payment-links", headers=shop.auth(), json={
                "title": "Mishti box", "currency": "BDT", "amount": "250.00",
                "gateways": ["sandbox"]})
            assert r.status_code == 201, r.text
            links[shop.id] = r.json()["slug"]
            r = await api.post("/api/v1/invoices", headers=shop.auth(), json={
                "currency": "BDT", "lines": [{"description": "মিষ্টি", "unit_price": "250.00"}]})
            assert r.status_code == 201, r.text
            opened = await api.post(f"/api/v1/invoices/{r.json()['id']}/finalize",
                                    headers=shop.auth())
            assert opened.status_code == 200, opened.text
            invoices[shop.id] = r.json()["url"].rsplit("/", 1)[1]

    context, page = await new_page(mapped_browser, **SIZES["phone"])
    try:
        await axe.enable(context)
        await page.goto(f"{origin}/pay/{links[brand.id]}")
        assert await page.evaluate("document.documentElement.lang") == language
        amount = await page.get_by_test_id("amount").inner_text()
        assert bool(BENGALI_DIGIT.search(amount)) == (language == "bn"), amount
        await _checked(page, shot, f"phone-{language}-brand-domain-link")

        await page.locator('input[name="customer_name"]').fill("Rahim Uddin")
        await page.locator('input[name="customer_email"]').fill("rahim@example.com")
        await page.locator("form button[type=submit]").last.click()
        await page.wait_for_url("**/checkout/txn_*")
        assert urlsplit(page.url).hostname == row.domain
        assert await page.evaluate("document.documentElement.lang") == language
        await expect(page.locator("header .brand-name")).to_have_text("Dhaka Sweets")
        await _checked(page, shot, f"phone-{language}-brand-domain-link-checkout")

        switched = "en" if language == "bn" else "bn"
        await page.get_by_test_id(f"lang-{switched}").click()
        await page.wait_for_function(f"document.documentElement.lang === '{switched}'")
        assert urlsplit(page.url).hostname == row.domain
        await _checked(page, shot, f"phone-{language}-brand-domain-switched-{switched}")

        answer = await page.goto(f"{origin}/pay/{links[other.id]}")
        assert answer is not None and answer.status == 404
        await expect(page.get_by_text("Other Shop")).to_have_count(0)

        # The brand's invoice on its domain, in the brand's language; Pay goes on to the
        # checkout on the same host; another brand's invoice there is a 404.
        await context.clear_cookies()  # the language switch above is remembered
        await page.goto(f"{origin}/invoice/{invoices[brand.id]}")
        assert await page.evaluate("document.documentElement.lang") == language
        total = await page.get_by_test_id("amount").inner_text()
        assert bool(BENGALI_DIGIT.search(total)) == (language == "bn"), total
        await _checked(page, shot, f"phone-{language}-brand-domain-invoice")
        await page.locator("form button[type=submit]").last.click()
        await page.wait_for_url("**/checkout/txn_*")
        assert urlsplit(page.url).hostname == row.domain
        answer = await page.goto(f"{origin}/invoice/{invoices[other.id]}")
        assert answer is not None and answer.status == 404
    finally:
        await context.close()
