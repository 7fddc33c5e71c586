"""Payments and refunds in Chromium at desktop and phone size, the actions the approve
walk (test_payments_browser) leaves out: a manager cancels a pending payment and rejects a
manual one; refunds a manual (offline) payment twice and, from the refunds pages, confirms
one refund (the money was given back) and marks the other failed.  Each outcome is checked
on the page and in the database."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.factories import create_merchant, intent_body
from tests.support.transactions import insert_specs, spec

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def intent_of(ctx: Any, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        intent = await s.get(PaymentIntent, txn)
        assert intent is not None
        return intent


async def refund_of(ctx: Any, refund_id: str) -> Refund:
    async with ctx.sessions() as s:
        refund = await s.scalar(select(Refund).where(Refund.id == refund_id))
        assert refund is not None
        return refund


async def open_payment(page: Any, txn: str) -> None:
    """From anywhere: Payments, search for the id, open it."""
    await follow(page, page.get_by_role("link", name="Payments", exact=True))
    await page.get_by_label("Search").fill(txn)
    await follow(page, page.get_by_role("button", name="Show payments"))
    await follow(page, page.get_by_role("link", name=txn))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(txn)


async def test_a_manager_cancels_and_rejects_payments(live_server: Any, ctx: Any, dash: Any,
                                                      shot: Any) -> None:
    brand = await create_merchant(ctx, name=f"Cancel Shop {secrets.token_hex(3)}")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as api:
        made = await api.post("/api/v1/payment-intents", json=intent_body(),
                              headers=brand.auth())
        assert made.status_code == 201, made.text
    pending = made.json()["transaction_id"]
    manual = spec(brand, datetime.now(UTC), status="awaiting_verification", gateway="manual",
                  amount_minor=4200, customer_name="Ada Lovelace")
    await insert_specs(ctx, [manual])
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    await browser_sign_in(dash, live_server.url, manager.email, manager.password)

    await open_payment(dash, pending)
    await expect(dash.locator("h1 .status")).to_have_text("Pending")
    await check_page(dash, shot, "payment-pending")
    await dash.get_by_label("Why it is cancelled (optional)").fill("Customer changed their mind")
    await follow(dash, dash.get_by_role("button", name="Cancel payment"))
    await expect(dash.get_by_role("status").filter(
        has_text="The payment is cancelled.")).to_be_visible()
    await expect(dash.locator("h1 .status")).to_have_text("Cancelled")
    await expect(dash.get_by_role("button", name="Cancel payment")).to_have_count(0)
    await expect(dash.locator("div[role=region][aria-label='Status history']")).to_contain_text(
        "Customer changed their mind")
    await check_page(dash, shot, "payment-cancelled")
    assert (await intent_of(ctx, pending)).status == "cancelled"

    await open_payment(dash, manual.id)
    await expect(dash.locator("h1 .status")).to_have_text("Awaiting verification")
    await dash.get_by_label("Why it is rejected (optional)").fill("Nothing on the statement")
    await follow(dash, dash.get_by_role("button", name="Reject payment"))
    await expect(dash.get_by_role("status").filter(
        has_text="The payment is rejected.")).to_be_visible()
    await expect(dash.locator("h1 .status")).to_have_text("Failed")
    await expect(dash.get_by_role("button", name="Approve payment")).to_have_count(0)
    await expect(dash.locator("div[role=region][aria-label='Status history']")).to_contain_text(
        "Nothing on the statement")
    await check_page(dash, shot, "payment-rejected")
    assert (await intent_of(ctx, manual.id)).status == "failed"


async def refund_through_the_form(page: Any, shot: Any, txn: str, amount: str,
                                  name: str) -> str:
    """Payment → Refund… → amount → confirmation → the refund's page; its id."""
    await open_payment(page, txn)
    await follow(page, page.get_by_role("link", name="Refund…"))
    await page.get_by_label("Amount (USD)").fill(amount)
    await page.get_by_label("Reason (optional)").fill("Returned by post")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Confirm the refund")).to_be_visible()
    await check_page(page, shot, f"{name}-confirm")
    await follow(page, page.get_by_role("button", name=f"Refund {amount} USD"))
    await expect(page).to_have_url(re.compile(r"/admin/refunds/rf_[0-9a-f]{16}\?done=created"))
    await expect(page.locator("h1 .status")).to_have_text("Pending")
    await expect(page.get_by_role("heading", name="Settle this refund")).to_be_visible()
    return str(page.url.split("/admin/refunds/")[1].split("?")[0])


async def test_a_manager_settles_offline_refunds(live_server: Any, ctx: Any, dash: Any,
                                                 shot: Any) -> None:
    brand = await create_merchant(ctx, name=f"Offline Shop {secrets.token_hex(3)}")
    paid = spec(brand, datetime.now(UTC), status="completed", gateway="manual",
                amount_minor=3000)
    await insert_specs(ctx, [paid])
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    await browser_sign_in(dash, live_server.url, manager.email, manager.password)

    given = await refund_through_the_form(dash, shot, paid.id, "10.00", "refund-given")
    await check_page(dash, shot, "refund-pending")
    lost = await refund_through_the_form(dash, shot, paid.id, "5.00", "refund-lost")
    assert (await refund_of(ctx, given)).status == "pending"

    # from the refunds list, filtered to the pending ones
    await follow(dash, dash.get_by_role("link", name="Refunds", exact=True))
    await dash.get_by_label("Status").select_option("pending")
    await follow(dash, dash.get_by_role("button", name="Show refunds"))
    await expect(dash.get_by_role("link", name=given)).to_be_visible()
    await expect(dash.get_by_role("link", name=lost)).to_be_visible()
    await check_page(dash, shot, "refunds-pending")
    await follow(dash, dash.get_by_role("link", name=given))
    await dash.get_by_label("Note (optional)").fill("Bank transfer sent")
    await follow(dash, dash.get_by_role("button", name="Money was given back"))
    await expect(dash.get_by_role("status").filter(
        has_text="The refund is confirmed.")).to_be_visible()
    await expect(dash.locator("h1 .status")).to_have_text("Completed")
    await expect(dash.get_by_role("heading", name="Settle this refund")).to_have_count(0)
    await check_page(dash, shot, "refund-confirmed")
    assert (await refund_of(ctx, given)).status == "completed"

    await follow(dash, dash.get_by_role("link", name="← Refunds"))
    await dash.get_by_label("Status").select_option("pending")
    await follow(dash, dash.get_by_role("button", name="Show refunds"))
    await expect(dash.get_by_role("link", name=given)).to_have_count(0)
    await follow(dash, dash.get_by_role("link", name=lost))
    await dash.get_by_label("Why it failed (optional)").fill("Account closed")
    await follow(dash, dash.get_by_role("button", name="Mark as failed"))
    await expect(dash.get_by_role("status").filter(
        has_text="The refund is marked failed.")).to_be_visible()
    await expect(dash.locator("h1 .status")).to_have_text("Failed")
    await check_page(dash, shot, "refund-failed")
    assert (await refund_of(ctx, lost)).status == "failed"

    intent = await intent_of(ctx, paid.id)
    assert intent.status == "partially_refunded"
    assert intent.refunded_minor == 1000 and intent.refund_reserved_minor == 0
    await follow(dash, dash.get_by_role("link", name=f"Payment {paid.id}"))
    await expect(dash.locator("h1 .status")).to_have_text("Partially refunded")
    await check_page(dash, shot, "refund-payment-after")
