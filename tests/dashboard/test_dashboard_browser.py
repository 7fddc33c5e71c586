"""The dashboard in Chromium at desktop and phone size: sign in, the overview with a chart,
switching brand and mode, my account with 2FA enrolment, users, the audit log; each page
passes axe-core with no serious or critical violation and is kept as a screenshot."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pyotp
import pytest
from playwright.async_api import expect

from tests.support.dashboard import make_user
from tests.support.dashboard_browser import check_page, follow, pay_something
from tests.support.factories import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
async def test_an_owner_signs_in_and_walks_the_dashboard(live_server: Any, ctx: Any, dash: Any,
                                                        shot: Any) -> None:
    name = f"Northwind <Coffee> & Tea {secrets.token_hex(3)}"  # hostile-ish, unique
    brand = await create_merchant(ctx, name=name)
    await pay_something(live_server.url, brand.test_key)
    owner = await make_user(ctx, "owner")
    # a long unbroken e-mail and the longest brand name must not widen any page (the
    # switcher lists every brand)
    await create_merchant(ctx, name=("Pacific Northwest Artisanal Roasters " * 5)[:150])
    await make_user(ctx, "manager", merchant=brand.slug,
                    email=f"{'x' * 56}.{secrets.token_hex(4)}@accounts.northwind-coffee.example")
    base = live_server.url
    await dash.goto(f"{base}/admin/users")
    await expect(dash).to_have_url(re.compile(r"/admin/sign-in\?next="))
    await check_page(dash, shot, "sign-in")
    await dash.get_by_label("E-mail").fill(owner.email)
    await dash.get_by_label("Password").fill("wrong password here")
    await dash.get_by_role("button", name="Sign in").click()
    await expect(dash.get_by_role("alert")).to_contain_text("not right")
    await check_page(dash, shot, "sign-in-refused")
    await dash.get_by_label("Password").fill(owner.password)
    await dash.get_by_role("button", name="Sign in").click()
    await expect(dash).to_have_url(f"{base}/admin/users")
    await check_page(dash, shot, "users")

    await follow(dash, dash.get_by_role("link", name="Overview"))
    await dash.get_by_label("Brand").select_option(label=name)
    await dash.get_by_role("button", name="Show").click()
    await expect(dash.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(dash.locator(".badge.test")).to_have_text("Test mode")
    await expect(dash.locator("figure.chart svg rect")).to_have_count(30)
    await check_page(dash, shot, "overview")
    await dash.get_by_label("Mode").select_option("live")
    await dash.get_by_role("button", name="Show").click()
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Live mode")
    await check_page(dash, shot, "overview-live")

    await follow(dash, dash.get_by_role("link", name="My account"))
    await follow(dash, dash.get_by_role("link", name="Turn on two-factor authentication"))
    await check_page(dash, shot, "2fa-enrol")
    secret = (await dash.locator("code.secret").inner_text()).strip()
    await dash.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await dash.get_by_role("button", name="Turn on").click()
    await expect(dash.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    await check_page(dash, shot, "recovery-codes")
    await follow(dash, dash.get_by_role("link", name="Done"))
    await expect(dash.get_by_text("10 recovery codes left")).to_be_visible()
    await check_page(dash, shot, "account")

    await follow(dash, dash.get_by_role("link", name="Audit log"))
    mine = dash.get_by_role("row").filter(has_text=owner.email)
    await expect(mine.filter(has_text="user.2fa_enabled")).to_have_count(1)
    await dash.get_by_role("button", name="Verify the audit log").click()
    await expect(dash.get_by_role("status")).to_contain_text("intact")
    await check_page(dash, shot, "audit")

    await dash.get_by_role("button", name="Sign out").click()
    await expect(dash).to_have_url(re.compile(r"/admin/sign-in"))
    await dash.get_by_label("E-mail").fill(owner.email)
    await dash.get_by_label("Password").fill(owner.password)
    await dash.get_by_role("button", name="Sign in").click()
    await expect(dash.get_by_role("heading", name="Enter your code")).to_be_visible()
    await check_page(dash, shot, "2fa-code")
    await dash.get_by_label("Code").fill(pyotp.TOTP(secret).at(__import__("time").time() + 30))
    await dash.get_by_role("button", name="Continue").click()
    await expect(dash.get_by_role("heading", level=1)).to_be_visible()
    assert "/admin/" in dash.url


async def test_a_viewer_sees_no_admin_sections(live_server: Any, ctx: Any, dash: Any,
                                               shot: Any) -> None:
    brand = await create_merchant(ctx, name="Viewer's Shop")
    viewer = await make_user(ctx, "viewer", merchant=brand.slug)
    await dash.goto(f"{live_server.url}/admin/sign-in")
    await dash.get_by_label("E-mail").fill(viewer.email)
    await dash.get_by_label("Password").fill(viewer.password)
    await dash.get_by_role("button", name="Sign in").click()
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Viewer's Shop")
    nav = dash.get_by_role("navigation", name="Dashboard")
    await expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    await expect(dash.get_by_label("Brand").locator("option")).to_have_count(1)
    await check_page(dash, shot, "viewer-overview")
    await dash.goto(f"{live_server.url}/admin/users")
    await expect(dash.get_by_role("heading", name="Not allowed")).to_be_visible()
    await check_page(dash, shot, "viewer-denied")
