"""Payment links in Chromium at desktop and phone size on a real ``ownpay serve``: a
manager opens *Payment links*, makes a link with a select question, a gateway and a cap
through *New link*, copies its address, opens its public ``/pay/`` page from the
dashboard, edits it (a refusal shown beside its input first), turns it off and finds it
under *Turned off*.  Every page passes axe-core, does not scroll sideways, and is
screenshotted; each outcome is checked in the database too."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ownpay.links.models import PaymentLink
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.factories import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def the_link(ctx: Any, merchant_id: int) -> PaymentLink:
    async with ctx.sessions() as s:
        [row] = list(await s.scalars(select(PaymentLink).where(
            PaymentLink.merchant_id == merchant_id)))
    return row


async def test_a_manager_makes_shares_edits_and_turns_off_a_link(
        live_server: Any, ctx: Any, dash: Any, shot: Any) -> None:
    brand = await create_merchant(ctx, name=f"Dhaka Sweets {secrets.token_hex(3)}")
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    base = live_server.url
    await dash.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    await browser_sign_in(dash, base, manager.email, manager.password)

    await follow(dash, dash.get_by_role("link", name="Payment links"))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Payment links")
    await expect(dash.get_by_text("No payment links in test mode yet.")).to_be_visible()
    await check_page(dash, shot, "links-empty")
    await follow(dash, dash.get_by_role("link", name="New link"))
    await check_page(dash, shot, "link-new")

    await dash.get_by_label("Title", exact=True).fill("Eid gift box")
    await dash.get_by_label("Description (optional)").fill("Dates, **sweets** and a card.")
    await dash.get_by_label("Currency").fill("USD")
    await dash.get_by_label("A fixed price").check()
    await dash.get_by_label("Price", exact=True).fill("25.00")
    await dash.get_by_role("checkbox", name=re.compile("Sandbox")).check()
    await dash.locator("#f-field_0_label").fill("Box size")
    await dash.locator("#f-field_0_name").fill("size")
    await dash.locator("#f-field_0_type").select_option("select")
    await dash.locator("#f-field_0_options").fill("Small\nLarge")
    await dash.locator("#f-field_0_required").check()
    await dash.get_by_label("Usage cap (optional)").fill("50")
    await follow(dash, dash.get_by_role("button", name="Create link"))
    await expect(dash.get_by_role("status").filter(has_text="The link is made")).to_be_visible()
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Eid gift box")
    await check_page(dash, shot, "link-made")
    row = await the_link(ctx, brand.id)
    assert (row.amount_minor, row.gateways, row.max_uses, row.active) == (
        2500, ["sandbox"], 50, True)
    assert row.fields == [{"name": "size", "label": "Box size", "type": "select",
                           "required": True, "options": ["Small", "Large"]}]
    public = f"{base}/pay/{row.slug}"

    await dash.get_by_role("button", name="Copy the address").click()
    await expect(dash.locator("#link-url-status")).to_have_text("Copied.")
    assert await dash.evaluate("navigator.clipboard.readText()") == public

    # The public page, opened from the dashboard.
    await follow(dash, dash.get_by_role("link", name=public))
    await expect(dash.get_by_role("heading", level=1)).to_have_text("Eid gift box")
    await expect(dash.get_by_label("Box size")).to_be_visible()
    await shot(dash, f"{dash.size_name}-link-public")
    await dash.go_back()

    # Edit: a cap of Bengali digits is refused beside its input, then a real change.
    await dash.get_by_label("Title", exact=True).fill("Eid gift box, large")
    await dash.get_by_label("Usage cap (optional)").fill("১০")
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.locator("#e-max_uses")).to_contain_text("A whole number")
    await check_page(dash, shot, "link-edit-refused")
    assert (await the_link(ctx, brand.id)).title == "Eid gift box"
    await dash.get_by_label("Usage cap (optional)").fill("80")
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Eid gift box, large")
    row = await the_link(ctx, brand.id)
    assert (row.title, row.max_uses) == ("Eid gift box, large", 80)

    await follow(dash, dash.get_by_role("button", name="Turn off"))
    await expect(dash.get_by_role("status").filter(
        has_text="The link is turned off.")).to_be_visible()
    await expect(dash.get_by_role("button", name="Turn on")).to_be_visible()
    await check_page(dash, shot, "link-off")
    assert not (await the_link(ctx, brand.id)).active

    await follow(dash, dash.get_by_role("link", name="← Payment links"))
    await dash.get_by_label("Show").select_option("inactive")
    await follow(dash, dash.get_by_role("button", name="Filter"))
    row_on_list = dash.get_by_role("row").filter(has_text="Eid gift box, large")
    await expect(row_on_list).to_contain_text("Off")
    await expect(row_on_list).to_contain_text("0 / 80")
    await check_page(dash, shot, "links-off")
