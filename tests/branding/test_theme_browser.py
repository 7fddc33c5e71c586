"""A themed brand's checkout and payment-link page in Chromium at desktop and phone size on
a real ``ownpay serve``: the uploaded logo loads and shows, the primary and accent colours
and the custom stylesheet are applied, the support contact and footer are in the footer,
axe-core finds nothing serious, nothing scrolls sideways, and the browser reports no
Content-Security-Policy violation and no console error.  Screenshots go to
``test-output/screenshots/``."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from playwright.async_api import expect

from ownpay.branding.service import update_theme
from ownpay.merchants import service
from tests.support import axe
from tests.support.browser import new_page
from tests.support.factories import create_merchant, intent_body
from tests.support.live_checkout import SIZES

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PRIMARY, ACCENT = "#0f766e", "#b45309"
CSS = (".brand-name{text-transform:uppercase;letter-spacing:.12em}\n"
       ".card{box-shadow:0 0 0 2px #b45309}\n")
# Collects CSP violations the page itself sees (they are not always console messages).
WATCH = ("window.__csp = [];"
         "document.addEventListener('securitypolicyviolation',"
         " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


def logo_png() -> bytes:
    image = Image.new("RGB", (360, 120), "#0f766e")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 340, 100), fill="#fbbf24")
    draw.ellipse((40, 30, 100, 90), fill="#b45309")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def themed_brand(ctx: Any) -> Any:
    brand = await create_merchant(ctx, name="Northwind Coffee")
    async with ctx.sessions() as s, s.begin():
        await update_theme(s, await service.get_merchant(s, brand.slug), changes={
            "logo": logo_png(), "favicon": logo_png(), "primary_color": PRIMARY,
            "accent_color": ACCENT, "support_email": "help@example.com",
            "support_phone": "+880 1700-000000", "footer_text": "Northwind Coffee Ltd, Dhaka",
            "css": CSS})
    return brand


async def _style(page: Any, selector: str, prop: str) -> str:
    return str(await page.eval_on_selector(
        selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')"))


async def _checked(page: Any, shot: Any, name: str, problems: list[str]) -> None:
    found = await axe.violations(page)
    await shot(page, name)
    assert not found, found
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"scrolls sideways ({width}px)"
    assert await page.evaluate("window.__csp") == []
    assert problems == [], problems


async def _themed(page: Any) -> None:
    logo = page.locator("header.brand img.logo")
    await expect(logo).to_be_visible()
    assert await logo.evaluate("e => e.complete && e.naturalWidth") == 360
    assert (await logo.get_attribute("src") or "").startswith("/brand-assets/")
    assert "rgb(180, 83, 9)" in await _style(page, "header.brand", "box-shadow")  # accent
    assert await _style(page, ".brand-name", "text-transform") == "uppercase"  # custom CSS
    assert "rgb(180, 83, 9)" in await _style(page, ".card", "box-shadow")
    footer = page.get_by_test_id("brand-footer")
    await expect(footer).to_contain_text("help@example.com")
    await expect(footer).to_contain_text("Northwind Coffee Ltd, Dhaka")
    icon = await page.eval_on_selector("link[rel=icon]", "e => e.href")
    assert "/brand-assets/" in icon


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_a_themed_checkout_and_link_page(live_server: Any, ctx: Any, browser: Any,
                                               shot: Any, size: str) -> None:
    brand = await themed_brand(ctx)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        made = await api.post("/api/v1/payment-intents", headers=brand.auth(),
                              json=intent_body(gateway="sandbox"))
        assert made.status_code == 201, made.text
        link = await api.post("/api/v1/payment-links", headers=brand.auth(), json={
            "title": "Coffee beans", "currency": "USD", "amount": "12.00"})
        assert link.status_code == 201, link.text
    context, page = await new_page(browser, **SIZES[size])
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        await axe.enable(context)
        await context.add_init_script(WATCH)
        await page.goto(made.json()["payment_url"])
        button = page.get_by_role("button", name="Pay $99.99 (succeed)")
        await expect(button).to_be_visible()
        assert await button.evaluate("e => getComputedStyle(e).backgroundColor") == \
            "rgb(15, 118, 110)"
        assert await button.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
        await _themed(page)
        await _checked(page, shot, f"{size}-themed-checkout", problems)

        await page.goto(f"{live_server.url}/pay/{link.json()['slug']}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Coffee beans")
        await _themed(page)
        await _checked(page, shot, f"{size}-themed-link", problems)
    finally:
        await context.close()
