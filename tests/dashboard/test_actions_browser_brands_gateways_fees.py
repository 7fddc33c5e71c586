"""Brands, gateways, fees and the ledger in Chromium at desktop and phone size, every
action through the real buttons: an owner adds a brand; a manager tests the sandbox
gateway's connection and turns the manual gateway off (the API then refuses it), sets a
fee rule and verifies the ledger.  Each outcome is checked on the page and in the
database."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ownpay.ledger import fees
from ownpay.merchants.models import GatewayAccount, Merchant
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow, pay_something
from tests.support.factories import create_merchant, intent_body

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_an_owner_adds_a_brand(live_server: Any, ctx: Any, dash: Any, shot: Any) -> None:
    owner = await make_user(ctx, "owner")
    slug = f"roastery-{secrets.token_hex(4)}"
    await browser_sign_in(dash, live_server.url, owner.email, owner.password)

    await follow(dash, dash.get_by_role("link", name="Brands"))
    await expect(dash.get_by_role("heading", name="Add a brand")).to_be_visible()
    await dash.get_by_label("Name", exact=True).fill("Harbour <Roastery> & Co")
    await dash.get_by_label("Slug").fill("Bad Slug!")
    await dash.get_by_role("button", name="Add brand").click()
    await expect(dash.locator("#form-errors")).to_be_visible()
    await check_page(dash, shot, "brand-add-error")
    await dash.get_by_label("Slug").fill(slug)
    await dash.get_by_label("Primary colour (optional)").fill("#0f766e")
    await check_page(dash, shot, "brand-add")
    await follow(dash, dash.get_by_role("button", name="Add brand"))
    await expect(dash).to_have_url(re.compile(r"/admin/brands/\d+\?created=1"))
    await expect(dash.get_by_label("Name", exact=True)).to_have_value("Harbour <Roastery> & Co")
    await check_page(dash, shot, "brand-added")
    async with ctx.sessions() as s:
        made = await s.scalar(select(Merchant).where(Merchant.slug == slug))
    assert made is not None and made.name == "Harbour <Roastery> & Co"
    assert made.primary_color == "#0f766e"
    await follow(dash, dash.get_by_role("link", name="Brands"))
    await expect(dash.get_by_role("row").filter(has_text=slug)).to_contain_text("Harbour")


async def test_a_manager_works_gateways_fees_and_the_ledger(live_server: Any, ctx: Any,
                                                            dash: Any, shot: Any) -> None:
    brand = await create_merchant(ctx, name=f"Gateway Shop {secrets.token_hex(3)}")
    await pay_something(live_server.url, brand.test_key)
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    await browser_sign_in(dash, live_server.url, manager.email, manager.password)

    # test connection: the sandbox offers a check
    await follow(dash, dash.get_by_role("link", name="Gateways"))
    sandbox = dash.get_by_role("row").filter(has_text="Sandbox (test payments)")
    manual = dash.get_by_role("row").filter(has_text="Manual / offline payment")
    await expect(sandbox).to_contain_text("On")
    await expect(manual).to_contain_text("On")
    await follow(dash, dash.get_by_role("button", name="Test connection of Sandbox"))
    await expect(dash.get_by_role("status").filter(
        has_text="the credentials work.")).to_be_visible()
    await check_page(dash, shot, "gateways-tested")

    # turn the manual gateway off: new payments cannot use it
    await follow(dash, dash.get_by_role("button", name="Turn off Manual / offline payment"))
    await expect(dash.get_by_role("status").filter(
        has_text="Manual / offline payment is off")).to_be_visible()
    await expect(manual).to_contain_text("Off")
    await expect(dash.get_by_role("link", name="Turn on Manual / offline payment")).to_be_visible()
    await check_page(dash, shot, "gateways-manual-off")
    async with ctx.sessions() as s:
        account = await s.scalar(select(GatewayAccount).where(
            GatewayAccount.merchant_id == brand.id, GatewayAccount.mode == "test",
            GatewayAccount.gateway == "manual"))
    assert account is not None and not account.active
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        refused = await api.post("/api/v1/payment-intents", headers=brand.auth(),
                                 json=intent_body(gateway="manual"))
        assert 400 <= refused.status_code < 500, refused.text
        live = await api.post("/api/v1/payment-intents", headers=brand.auth("live"),
                              json=intent_body(gateway="manual"))
        assert live.status_code == 201, live.text  # only the test mode's account is off

    # a fee rule
    await follow(dash, dash.get_by_role("link", name="Fees"))
    await expect(dash.get_by_text("No fee rules")).to_be_visible()
    await dash.get_by_label("Gateway").select_option("sandbox")
    await dash.get_by_label("Currency (empty: any)").fill("USD")
    await dash.get_by_label("Flat amount").fill("0.30")
    await dash.get_by_label("Percent").fill("2.9")
    await dash.get_by_label("Maximum fee (optional)").fill("5.00")
    await check_page(dash, shot, "fees-form")
    await follow(dash, dash.get_by_role("button", name="Set rule"))
    await expect(dash.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    rule_row = dash.get_by_role("region", name="Fee rules").locator("tbody tr")
    await expect(rule_row).to_have_count(1)
    await expect(rule_row).to_contain_text("2.9 %")
    await check_page(dash, shot, "fees-saved")
    async with ctx.sessions() as s:
        rules = await fees.list_rules(s, merchant_id=brand.id, mode="test")
    assert [(r.gateway, r.currency, r.flat_minor, r.rate_ppm, r.max_minor)
            for r in rules] == [("sandbox", "USD", 30, 29000, 500)]
    await expect(rule_row).to_contain_text("0.30 USD")
    await follow(dash, dash.get_by_role("button", name="Remove the sandbox rule (USD)"))
    await expect(dash.get_by_role("status").filter(has_text="Removed.")).to_be_visible()
    await expect(dash.get_by_text("No fee rules")).to_be_visible()
    await check_page(dash, shot, "fees-removed")
    async with ctx.sessions() as s:
        assert await fees.list_rules(s, merchant_id=brand.id, mode="test") == []

    # verify the ledger of this brand and mode
    await follow(dash, dash.get_by_role("link", name="Ledger"))
    await expect(dash.get_by_role("region", name="Balances in USD")).to_be_visible()
    await follow(dash, dash.get_by_role("button", name="Verify the ledger"))
    await expect(dash.get_by_role("status").filter(has_text="ledger OK")).to_contain_text(
        "This brand and mode")
    await check_page(dash, shot, "ledger-verified")
