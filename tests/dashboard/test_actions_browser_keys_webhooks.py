"""API keys and webhooks in Chromium at desktop and phone size, every action through the
real buttons: a manager revokes an API key (its confirmation page, then "Confirm it is
you"), and the API refuses the key afterwards; edits a webhook endpoint, disables and
enables it, sends a test ping, opens a delivery and sends it again, and removes the
endpoint.  Each outcome is checked on the page and in the database."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from ownpay.merchants.models import ApiKey
from ownpay.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.dashboard.actions_support import age_step_up, confirm_it_is_me
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow, pay_something
from tests.support.factories import create_merchant
from tests.support.webhooks import pump

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CLOSED = "http://127.0.0.1:9/ownpay-hooks"  # nothing listens on the discard port


async def test_a_manager_revokes_an_api_key(live_server: Any, ctx: Any, dash: Any,
                                            shot: Any) -> None:
    brand = await create_merchant(ctx, name=f"Keys Shop {secrets.token_hex(3)}")
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    base = live_server.url
    async with httpx.AsyncClient(base_url=base, timeout=15) as api:
        before = await api.get("/api/v1/webhook-endpoints", headers=brand.auth())
        assert before.status_code == 200, before.text
    prefix = brand.test_key[:12]
    await browser_sign_in(dash, base, manager.email, manager.password)
    await age_step_up(ctx, manager.id)

    await follow(dash, dash.get_by_role("link", name="API keys"))
    await follow(dash, dash.get_by_role("link", name=f"Revoke {prefix}"))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text(prefix)
    await check_page(dash, shot, "key-revoke")
    await follow(dash, dash.get_by_role("button", name="Revoke the key"))
    await confirm_it_is_me(dash, shot, manager.password, "key-revoke-confirm")
    await expect(dash.get_by_role("heading", level=1)).to_contain_text(prefix)
    await dash.get_by_role("button", name="Revoke the key").click()
    await expect(dash.get_by_role("status").filter(has_text="The key is revoked.")).to_be_visible()
    row = dash.get_by_role("row").filter(has_text=prefix)
    await expect(row).to_contain_text("Revoked")
    await expect(dash.get_by_role("link", name=f"Revoke {prefix}")).to_have_count(0)
    await check_page(dash, shot, "key-revoked")

    async with ctx.sessions() as s:
        key = await s.scalar(select(ApiKey).where(ApiKey.merchant_id == brand.id,
                                                  ApiKey.prefix == prefix))
    assert key is not None and key.revoked_at is not None
    async with httpx.AsyncClient(base_url=base, timeout=15) as api:
        refused = await api.get("/api/v1/webhook-endpoints", headers=brand.auth())
        assert refused.status_code == 401, refused.text
        still = await api.get("/api/v1/webhook-endpoints", headers=brand.auth("live"))
        assert still.status_code == 200, still.text  # only that key


async def endpoint_row(ctx: Any, endpoint_id: str) -> WebhookEndpoint:
    async with ctx.sessions() as s:
        row = await s.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        return row


async def a_delivery(ctx: Any, endpoint_id: str) -> WebhookDelivery:
    """The worker step until the paid payment's events are fanned out to the endpoint."""
    for _ in range(200):  # other tests' events may be queued ahead of ours: bounded
        async with ctx.sessions() as s:
            found = await s.scalar(select(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id))
        if found is not None:
            return found
        if not await pump(ctx):
            await asyncio.sleep(0.05)
    raise AssertionError("no delivery to the endpoint was made")


async def test_a_manager_works_a_webhook_endpoint(live_server: Any, ctx: Any, dash: Any,
                                                  shot: Any) -> None:
    brand = await create_merchant(ctx, name=f"Hooks Shop {secrets.token_hex(3)}")
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    base = live_server.url
    async with httpx.AsyncClient(base_url=base, timeout=15) as api:
        made = await api.post("/api/v1/webhook-endpoints", headers=brand.auth(),
                              json={"url": CLOSED, "description": "orders"})
        assert made.status_code == 201, made.text
    endpoint_id = made.json()["id"]
    await pay_something(base, brand.test_key)
    delivery = await a_delivery(ctx, endpoint_id)
    await browser_sign_in(dash, base, manager.email, manager.password)

    await follow(dash, dash.get_by_role("link", name="Webhooks"))
    await expect(dash.get_by_role("row").filter(has_text=CLOSED)).to_contain_text("Enabled")
    await check_page(dash, shot, "webhooks")
    await follow(dash, dash.get_by_role("link", name=f"Manage {CLOSED}"))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text(endpoint_id)
    await check_page(dash, shot, "webhook-edit")

    # edit: a new description and only two events, and disabled
    await dash.get_by_label("Description (optional)").fill("Orders & refunds <desk>")
    await dash.get_by_label("All events (including ones added later)").uncheck()
    await dash.get_by_label("payment.completed", exact=True).check()
    await dash.get_by_label("refund.failed", exact=True).check()
    await dash.get_by_label("Enabled (deliveries are sent)").uncheck()
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(dash.get_by_label("Enabled (deliveries are sent)")).not_to_be_checked()
    await expect(dash.get_by_label("Description (optional)")).to_have_value(
        "Orders & refunds <desk>")
    await check_page(dash, shot, "webhook-disabled")
    saved = await endpoint_row(ctx, endpoint_id)
    assert not saved.enabled and saved.description == "Orders & refunds <desk>"
    assert sorted(saved.events) == ["payment.completed", "refund.failed"]
    await follow(dash, dash.get_by_role("link", name="Back to webhooks"))
    await expect(dash.get_by_role("row").filter(has_text=CLOSED)).to_contain_text("Disabled")
    await follow(dash, dash.get_by_role("link", name=f"Manage {CLOSED}"))
    await dash.get_by_label("Enabled (deliveries are sent)").check()
    await follow(dash, dash.get_by_role("button", name="Save"))
    await expect(dash.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(dash.get_by_label("Enabled (deliveries are sent)")).to_be_checked()
    assert (await endpoint_row(ctx, endpoint_id)).enabled

    # a test ping to the closed port: the page says it was not accepted
    await follow(dash, dash.get_by_role("button", name="Send a test ping"))
    await expect(dash.get_by_role("heading", name="Test ping")).to_be_visible()
    await expect(dash.get_by_role("alert")).to_contain_text("did not accept it")
    await check_page(dash, shot, "webhook-ping")
    await follow(dash, dash.get_by_role("link", name="Back to the endpoint"))

    # the delivery's page, and sending it again
    await follow(dash, dash.get_by_role("link", name=delivery.id))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text(delivery.id)
    await expect(dash.locator("pre.excerpt").first).to_contain_text(delivery.event_type)
    await check_page(dash, shot, "webhook-delivery")
    await follow(dash, dash.get_by_role("button", name="Send again now"))
    await expect(dash.get_by_role("status").filter(
        has_text="The delivery is due now")).to_be_visible()
    await check_page(dash, shot, "webhook-delivery-retried")
    async with ctx.sessions() as s:
        retried = await s.scalar(select(AuditEntry).where(
            AuditEntry.merchant_id == brand.id, AuditEntry.action == "webhook_delivery.retried",
            AuditEntry.object_id == delivery.id))
    assert retried is not None

    # remove, through its confirmation page
    await follow(dash, dash.get_by_role("link", name="Back to webhooks"))
    await follow(dash, dash.get_by_role("link", name=f"Manage {CLOSED}"))
    await follow(dash, dash.get_by_role("link", name="Remove"))
    await expect(dash.get_by_role("heading", name="Remove this endpoint?")).to_be_visible()
    await check_page(dash, shot, "webhook-remove")
    await follow(dash, dash.get_by_role("button", name="Remove the endpoint"))
    await expect(dash.get_by_role("status").filter(
        has_text="The endpoint is removed.")).to_be_visible()
    await expect(dash.get_by_role("link", name=f"Manage {CLOSED}")).to_have_count(0)
    await check_page(dash, shot, "webhook-removed")
    assert (await endpoint_row(ctx, endpoint_id)).deleted_at is not None
