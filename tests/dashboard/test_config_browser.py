"""The configuration pages in Chromium at desktop and phone size: a manager edits the
brand colour, creates an API key (shown once, then only its prefix), adds a webhook
endpoint and rotates its secret, and enables Stripe with secrets (then the form shows
"set"); each page passes axe-core and is kept as a screenshot."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.factories import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_a_manager_configures_their_brand(live_server: Any, ctx: Any, dash: Any,
                                                shot: Any) -> None:
    brand = await create_merchant(ctx, name="Northwind <Coffee> & \"Tea\"")
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    base = live_server.url
    await browser_sign_in(dash, base, manager.email, manager.password)

    await follow(dash, dash.get_by_role("link", name="Brands"))
    await expect(dash.locator("table")).to_contain_text("Northwind <Coffee> & \"Tea\"")
    await check_page(dash, shot, "config-brands")
    await follow(dash, dash.get_by_role("link", name=re.compile("^Edit")))
    await dash.get_by_label("Primary colour").fill("#0f766e")
    await check_page(dash, shot, "config-brand-edit")
    await dash.get_by_role("button", name="Save").click()
    await expect(dash.locator(".alert.success")).to_contain_text("Saved.")
    await expect(dash.locator("table")).to_contain_text("#0f766e")

    await follow(dash, dash.get_by_role("link", name="API keys"))
    await follow(dash, dash.get_by_role("link", name="Create an API key"))
    await dash.get_by_label("Name (optional)").fill("Web shop")
    await dash.get_by_label(re.compile("^admin")).uncheck()
    await check_page(dash, shot, "config-api-key-new")
    await dash.get_by_role("button", name="Create key").click()
    key = (await dash.locator("#new-secret").inner_text()).strip()
    assert key.startswith("op_test_")
    await expect(dash.get_by_role("button", name="Copy the key")).to_be_visible()
    await check_page(dash, shot, "config-api-key-created")
    await follow(dash, dash.get_by_role("link", name="Done"))
    await expect(dash.get_by_text(key[:12] + "…")).to_be_visible()
    assert key not in await dash.content()
    await check_page(dash, shot, "config-api-keys")

    await follow(dash, dash.get_by_role("link", name="Webhooks"))
    await dash.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    await dash.get_by_label("Description (optional)").fill("<b>orders</b>")
    await check_page(dash, shot, "config-webhooks")
    await dash.get_by_role("button", name="Add endpoint").click()
    first = (await dash.locator("#new-secret").inner_text()).strip()
    await check_page(dash, shot, "config-webhook-secret")
    await follow(dash, dash.get_by_role("link", name="Done"))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Webhook endpoint")
    await check_page(dash, shot, "config-webhook-edit")
    await follow(dash, dash.get_by_role("link", name="Rotate the secret"))
    await dash.get_by_role("button", name="Rotate the secret").click()
    second = (await dash.locator("#new-secret").inner_text()).strip()
    assert second != first
    await expect(dash.get_by_text("second signature")).to_be_visible()
    await check_page(dash, shot, "config-webhook-rotated")

    await follow(dash, dash.get_by_role("link", name="Gateways"))
    await check_page(dash, shot, "config-gateways")
    await dash.locator('a[href="/admin/gateways/configure?gateway=stripe"]').click()
    await dash.locator("#f-cfg_secret_key").fill("sk_test_" + "a1" * 12)
    await dash.locator("#f-cfg_publishable_key").fill("pk_test_" + "c3" * 6)
    await dash.locator("#f-cfg_webhook_secret").fill("whsec_" + "b2" * 12)
    await check_page(dash, shot, "config-gateway-form")
    await dash.get_by_role("button", name="Save and turn on").click()
    await expect(dash.locator(".alert.success")).to_contain_text("the gateway is on")
    await dash.locator('a[href="/admin/gateways/configure?gateway=stripe"]').click()
    await expect(dash.get_by_text("Secret key (set)")).to_be_visible()
    assert "a1a1a1a1" not in await dash.content()
    await check_page(dash, shot, "config-gateway-set")
