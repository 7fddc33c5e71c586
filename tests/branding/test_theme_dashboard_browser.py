"""The dashboard's "Look & feel" page in Chromium at desktop and phone size on a real
``ownpay serve``: a manager reaches it from the brand's page, a button text under 4.5:1 is
refused beside its field with the measured ratio, then a logo upload and good colours are
saved and the page shows the stored logo.  axe-core finds nothing serious; screenshots go
to ``test-output/screenshots/``."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import expect

from ownpay.merchants import service
from tests.support import axe
from tests.support.browser import new_page
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import SIZES, browser_sign_in, check_page, follow
from tests.support.factories import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(params=sorted(SIZES))
async def dash(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    context, page = await new_page(browser, **SIZES[request.param])
    await axe.enable(context)
    page.size_name = request.param
    try:
        yield page
    finally:
        await context.close()


async def test_a_manager_sets_the_look_and_feel(live_server: Any, ctx: Any, dash: Any,
                                                shot: Any, tmp_path: Path) -> None:
    brand = await create_merchant(ctx, name=f"Harbour Roastery {secrets.token_hex(3)}")
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    logo = tmp_path / "logo.jpg"
    Image.new("RGB", (800, 300), "#0f766e").save(logo, "JPEG")
    await browser_sign_in(dash, live_server.url, manager.email, manager.password)
    await dash.goto(f"{live_server.url}/admin/brands/{brand.id}")
    await follow(dash, dash.get_by_role("link", name="Look & feel"))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Look & feel")
    await check_page(dash, shot, "theme")

    await dash.get_by_label("Primary colour").fill("#ffffff")
    await dash.get_by_label("Button text colour").fill("#777777")
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.locator("#e-button_text_color")).to_contain_text(
        "4.48:1 on the primary colour; it needs 4.5:1")
    await check_page(dash, shot, "theme-refused")

    await dash.get_by_label("Primary colour").fill("#0f766e")
    await dash.get_by_label("Button text colour").fill("#ffffff")
    await dash.get_by_label("Logo (PNG, JPEG or WebP)").set_input_files(str(logo))
    await dash.get_by_label("Footer text").fill("Harbour Roastery, Chattogram")
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.get_by_text("Saved.")).to_be_visible()
    current = dash.get_by_test_id("current-logo")
    await expect(current).to_be_visible()
    assert await current.evaluate("e => e.complete && e.naturalWidth") == 512
    await check_page(dash, shot, "theme-saved")
    async with ctx.sessions() as s:
        row = await service.get_merchant(s, brand.slug)
    assert row.primary_color == "#0f766e" and row.theme["logo"]
    assert row.theme["footer_text"] == "Harbour Roastery, Chattogram"
