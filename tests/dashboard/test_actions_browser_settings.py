"""The installation settings page in Chromium at desktop and phone size: an owner without
2FA cannot require it (they would lock themselves out); after enrolling on My account they
turn "every user must use two-factor authentication" on, and a user without 2FA who signs
in is sent to enrol before any other page; turned off again, that user reaches the
dashboard.  The setting is checked in the database and always put back."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pyotp
import pytest
from playwright.async_api import expect

from ownpay.dashboard.models import InstallationSetting
from ownpay.dashboard.web import REQUIRE_2FA
from tests.dashboard.actions_support import second_page
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.factories import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def required(ctx: Any) -> bool:
    async with ctx.sessions() as s:
        row = await s.get(InstallationSetting, REQUIRE_2FA)
        return bool(row.value) if row else False


@pytest.fixture
async def restore_setting(ctx: Any) -> AsyncIterator[None]:
    """The setting is installation-wide: whatever happens, it is off again afterwards."""
    yield
    async with ctx.sessions() as s, s.begin():
        row = await s.get(InstallationSetting, REQUIRE_2FA)
        if row is not None:
            row.value = False


async def test_an_owner_requires_two_factor(live_server: Any, ctx: Any, dash: Any,
                                            browser: Any, shot: Any,
                                            restore_setting: None) -> None:
    brand = await create_merchant(ctx, name=f"Strict Shop {secrets.token_hex(3)}")
    owner = await make_user(ctx, "owner")
    member = await make_user(ctx, "viewer", merchant=brand.slug)
    base = live_server.url
    await browser_sign_in(dash, base, owner.email, owner.password)

    await follow(dash, dash.get_by_role("link", name="Settings"))
    box = dash.get_by_label("Every user must use two-factor authentication")
    await expect(box).not_to_be_checked()
    await check_page(dash, shot, "settings")
    await box.check()
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.get_by_role("alert")).to_contain_text(
        "Turn on two-factor authentication for your own account first")
    await check_page(dash, shot, "settings-refused")
    assert not await required(ctx)

    await follow(dash, dash.get_by_role("link", name="My account"))
    await follow(dash, dash.get_by_role("link", name="Turn on two-factor authentication"))
    secret = (await dash.locator("code.secret").inner_text()).strip()
    await dash.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await follow(dash, dash.get_by_role("button", name="Turn on"))
    await follow(dash, dash.get_by_role("link", name="Done"))
    await follow(dash, dash.get_by_role("link", name="Settings"))
    await box.check()
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(box).to_be_checked()
    await check_page(dash, shot, "settings-required")
    assert await required(ctx)

    # a user without 2FA: every page sends them to enrol
    other, page = await second_page(browser, dash)
    try:
        await page.goto(f"{base}/admin/sign-in")
        await page.get_by_label("E-mail").fill(member.email)
        await page.get_by_label("Password").fill(member.password)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{base}/admin/account/2fa")
        await expect(page.get_by_label("Code from the app")).to_be_visible()
        await page.goto(f"{base}/admin/payments")
        await expect(page).to_have_url(f"{base}/admin/account/2fa")

        await box.uncheck()
        await follow(dash, dash.get_by_role("button", name="Save"))
        await expect(dash.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        await expect(box).not_to_be_checked()
        await check_page(dash, shot, "settings-not-required")
        assert not await required(ctx)
        await page.goto(f"{base}/admin/payments")
        await expect(page).to_have_url(re.compile(r"/admin/payments$"))
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Payments")
    finally:
        await other.close()
