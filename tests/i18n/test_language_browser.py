"""The checkout in Bangla and English in a real browser (headless Debian Chromium, a real
``ownpay serve``), at desktop and phone size: a ``bn`` brand's pages in Bangla with
Bengali digits (the amount, the expiry, checkout.js's countdown), the language switch to
English and back, remembered by the cookie across a reload, and nothing clipped or
overflowing on a phone -- Bangla words are longer than the English ones.  Screenshots of
each page go to ``test-output/screenshots/``."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import new_page
from tests.support.commands import ownpay_cli
from tests.support.factories import intent_body
from tests.support.live_checkout import SIZES
from tests.support.processes import ServerProcess, server_env, start_server

pytestmark = pytest.mark.e2e
Shot = Callable[[Page, str], Awaitable[Path]]
BENGALI_DIGIT = "[০-৯]"
WALLET = "01712345678"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("i18n-browser")
    started = start_server(server_env(database_url, data), data / "server.log")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def bangla_shop(server: ServerProcess) -> tuple[str, str]:
    """A brand whose checkout speaks Bangla, set up with the CLI: (slug, API key)."""
    slug = "bn-" + secrets.token_hex(4)
    env = server.env
    ownpay_cli(env, "merchants", "create", "--slug", slug, "--name", "ঢাকা বুক হাউস",
               "--checkout-language", "bn", "--primary-color", "#0f766e", "--json")
    ownpay_cli(env, "gateways", "enable", "sandbox", "--merchant", slug, "--mode", "test")
    ownpay_cli(env, "gateways", "enable", "bkash_personal", "--merchant", slug, "--mode",
               "test", "--set", f"wallet_number={WALLET}")
    created = ownpay_cli(env, "api-keys", "create", "--merchant", slug, "--mode", "test",
                         "--json")
    return slug, json.loads(created.stdout)["api_key"]


async def new_payment(server: ServerProcess, key: str, **overrides: Any) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=15,
                                 headers={"Authorization": f"Bearer {key}"}) as api:
        r = await api.post("/api/v1/payment-intents", json=intent_body(
            currency="BDT", amount="1250.50", **overrides))
    assert r.status_code == 201, r.text
    return str(r.json()["payment_url"])


async def assert_fits(page: Page, what: str) -> None:
    """No sideways scroll, no zoom-out, no element past the viewport's edge, and no text
    cut inside its own box (a button or heading whose Bangla words do not fit)."""
    device = page.viewport_size
    assert device is not None
    sizes = await page.evaluate(
        """() => {
            const inner = window.innerWidth;
            const all = [...document.querySelectorAll('body *')];
            const wide = all.filter(el => el.getBoundingClientRect().right > inner + 0.5)
              .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
            // (.sr: visually hidden on purpose, for screen readers only)
            const clipped = all.filter(el => el.offsetParent !== null
                && !el.classList.contains('sr') && el.clientWidth > 1
                && getComputedStyle(el).overflowX !== 'visible'
                && el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'HTML')
              .map(el => el.tagName.toLowerCase() + ': ' + el.textContent.trim().slice(0, 40));
            return {scroll: document.documentElement.scrollWidth, inner, wide, clipped};
        }"""
    )
    assert sizes["inner"] == device["width"], f"{what} was zoomed out to fit: {sizes}"
    assert sizes["scroll"] <= sizes["inner"], f"{what} overflows horizontally: {sizes}"
    assert sizes["wide"] == [], f"{what}: elements wider than the viewport: {sizes['wide']}"
    assert sizes["clipped"] == [], f"{what}: text cut off: {sizes['clipped']}"


async def assert_bengali_glyphs(page: Page) -> None:
    """The page's Bangla is drawn with a Bengali font (Noto Sans Bengali from
    fonts-noto-core), not as boxes: a Bengali word is measurably wider than nothing and
    the font is available to the page."""
    ok = await page.evaluate(
        """async () => {
            await document.fonts.ready;
            return document.fonts.check('16px "Noto Sans Bengali"', 'পরিশোধ');
        }""")
    assert ok is not False


def problems_of(page: Page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: found.append(f"page error: {exc}"))
    return found


@pytest.mark.parametrize("screen", sorted(SIZES))
async def test_bangla_checkout_switches_to_english_and_back(
        browser: Browser, server: ServerProcess, bangla_shop: tuple[str, str], shot: Shot,
        screen: str) -> None:
    _slug, key = bangla_shop
    url = await new_payment(server, key, gateway="sandbox",
                            order_id="ORD-" + secrets.token_hex(3))
    context, page = await new_page(browser, timezone_id="Asia/Dhaka", **SIZES[screen])
    try:
        problems = problems_of(page)
        await page.goto(url)
        await expect(page.locator("html")).to_have_attribute("lang", "bn")
        await expect(page.get_by_test_id("amount")).to_have_text("৳১,২৫০.৫০")
        await expect(page.get_by_text("প্রাপক")).to_be_visible()
        await expect(page.get_by_role(
            "button", name="৳১,২৫০.৫০ পরিশোধ করুন (সফল)")).to_be_visible()
        # checkout.js: the countdown and the local expiry in Bangla, in Bengali digits
        await expect(page.locator("#countdown")).to_have_text(
            re.compile(rf"^{BENGALI_DIGIT}+:{BENGALI_DIGIT}{{2}} বাকি$"))
        await expect(page.get_by_test_id("expires")).to_have_attribute("data-local", "true")
        await expect(page.get_by_test_id("expires")).to_have_text(re.compile(BENGALI_DIGIT))
        await assert_bengali_glyphs(page)
        await assert_fits(page, f"Bangla sandbox page ({screen})")
        await shot(page, "1-bn-pay")

        await page.get_by_role("link", name="English").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.get_by_test_id("amount")).to_have_text(re.compile(r"1,250\.50"))
        await expect(page.get_by_text("Pay to")).to_be_visible()
        await expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d+:\d\d left$"))
        await assert_fits(page, f"English sandbox page ({screen})")
        await shot(page, "2-en-pay")

        # The cookie keeps English on the plain link, then the switch goes back to Bangla.
        await page.goto(url)
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.get_by_role("link", name="বাংলা").click()
        await expect(page.locator("html")).to_have_attribute("lang", "bn")
        await page.goto(url)
        await expect(page.locator("html")).to_have_attribute("lang", "bn")

        # The outcome in Bangla: a declined sandbox payment.
        await page.get_by_role("button", name="পেমেন্ট প্রত্যাখ্যান করুন (ব্যর্থ)").click()
        await expect(page.get_by_role("heading", name="পেমেন্ট ব্যর্থ হয়েছে")).to_be_visible()
        await expect(page.get_by_test_id("outcome-money")).to_have_text("কোনো টাকা কাটা হয়নি।")
        await assert_fits(page, f"Bangla failed page ({screen})")
        await shot(page, "3-bn-failed")
        assert problems == [], problems
    finally:
        await context.close()


@pytest.mark.parametrize("screen", sorted(SIZES))
async def test_the_bkash_personal_page_in_bangla_fits_and_takes_bengali_digits(
        browser: Browser, server: ServerProcess, bangla_shop: tuple[str, str], shot: Shot,
        screen: str) -> None:
    _slug, key = bangla_shop
    url = await new_payment(server, key, gateway="bkash_personal")
    context, page = await new_page(browser, timezone_id="Asia/Dhaka", **SIZES[screen])
    try:
        problems = problems_of(page)
        await page.goto(url)
        await expect(page.get_by_role(
            "heading", name="bKash দিয়ে ৳১,২৫০.৫০ পরিশোধ করুন")).to_be_visible()
        await expect(page.get_by_text(
            "bKash অ্যাপ খুলুন (অথবা *247# ডায়াল করুন) এবং Send Money বেছে নিন।")).to_be_visible()
        await assert_bengali_glyphs(page)
        await assert_fits(page, f"Bangla bKash page ({screen})")
        await shot(page, "1-bn-bkash")

        # A customer on a Bangla keyboard types Bengali digits: accepted as 0-9.
        await page.get_by_label("যে bKash নম্বর থেকে টাকা পাঠিয়েছেন").fill("০১৮১২৩৪৫৬৭৮")
        trx = "BH" + secrets.token_hex(4).upper()  # 10 letters and digits, fresh per run
        await page.get_by_label("ট্রানজেকশন আইডি (TrxID)").fill(trx)
        await page.get_by_role("button", name="আমি পরিশোধ করেছি — যাচাইয়ের জন্য জমা দিন").click()
        await expect(page.get_by_role("heading", name="আপনার পেমেন্ট যাচাই করা হচ্ছে")).to_be_visible()
        await assert_fits(page, f"Bangla verifying page ({screen})")
        await shot(page, "2-bn-verifying")
        assert problems == [], problems
    finally:
        await context.close()
