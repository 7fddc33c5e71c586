"""The dashboard's switch for the UddoktaPay and PipraPay facades: the same switch as
``ownpay compat``, per brand and mode, with step-up and an audit row; the facade answers
accordingly at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from ownpay.audit.models import AuditEntry
from ownpay.compat import switches
from ownpay.dashboard.models import UserSession
from ownpay.db import utcnow
from ownpay.tenancy import TenantScope
from tests.support.dashboard import csrf_of, make_user, post_form, sign_in
from tests.support.dashboard_browser import browser_sign_in, check_page, follow

UDDOKTA_BODY = {"full_name": "Rahim", "email": "rahim@example.com", "amount": "100",
                "metadata": {}, "redirect_url": "https://shop.example/ok",
                "cancel_url": "https://shop.example/no", "webhook_url": "https://shop.example/ipn"}


async def enabled(ctx: Any, merchant: Any, api: str, mode: str = "test") -> bool:
    async with ctx.sessions() as s:
        return await switches.is_enabled(s, TenantScope(merchant.id, mode), api)


@pytest.mark.api
async def test_a_manager_switches_uddoktapay_on_and_off(client: httpx.AsyncClient, ctx: Any,
                                                         merchant: Any) -> None:
    manager = await make_user(ctx, "manager", merchant=merchant.slug)
    await sign_in(client, manager.email, manager.password)
    page = await client.get("/admin/compatibility")
    assert page.status_code == 200 and "weaker than ours" in page.text
    assert "Switch on UddoktaPay" in page.text and "Switch on PipraPay" in page.text
    facade = {"RT-UDDOKTAPAY-API-KEY": merchant.test_key}
    refused = await client.post("/api/checkout-v2", json=UDDOKTA_BODY, headers=facade)
    assert refused.status_code == 401

    on = await post_form(client, "/admin/compatibility", "/admin/compatibility",
                         {"api": "uddoktapay", "enabled": "on"})
    assert on.status_code == 303 and await enabled(ctx, merchant, "uddoktapay")
    assert not await enabled(ctx, merchant, "uddoktapay", "live")  # per mode
    assert not await enabled(ctx, merchant, "piprapay")
    made = await client.post("/api/checkout-v2", json=UDDOKTA_BODY, headers=facade)
    assert made.status_code == 200 and made.json()["status"] is True

    off = await post_form(client, "/admin/compatibility", "/admin/compatibility",
                          {"api": "uddoktapay", "enabled": "off"})
    assert off.status_code == 303 and not await enabled(ctx, merchant, "uddoktapay")
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.merchant_id == merchant.id, AuditEntry.object_type == "compat_api")
            .order_by(AuditEntry.id)))
    assert actions == ["compat.enabled", "compat.disabled"]


@pytest.mark.api
async def test_switching_on_needs_a_recent_re_authentication_and_a_known_api(
        client: httpx.AsyncClient, ctx: Any, merchant: Any) -> None:
    manager = await make_user(ctx, "manager", merchant=merchant.slug)
    await sign_in(client, manager.email, manager.password)
    page = await client.get("/admin/compatibility")
    bogus = await client.post("/admin/compatibility", data={
        "csrf_token": csrf_of(page.text), "api": "stripe", "enabled": "on"})
    assert bogus.status_code == 303 and bogus.headers["location"] == "/admin/compatibility"
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(UserSession).where(UserSession.user_id == manager.id).values(
            reauthenticated_at=utcnow() - timedelta(hours=1)))
    stale = await client.post("/admin/compatibility", data={
        "csrf_token": csrf_of(page.text), "api": "piprapay", "enabled": "on"})
    assert stale.headers["location"].startswith("/admin/confirm")
    assert not await enabled(ctx, merchant, "piprapay")


@pytest.mark.browser
@pytest.mark.e2e
async def test_the_compatibility_page_in_a_browser(live_server: Any, ctx: Any, merchant: Any,
                                                   dash: Any, shot: Any) -> None:
    manager = await make_user(ctx, "manager", merchant=merchant.slug)
    await browser_sign_in(dash, live_server.url, manager.email, manager.password)
    await follow(dash, dash.get_by_role("link", name="Compatibility"))
    await check_page(dash, shot, "compat-off")
    await dash.get_by_role("button", name="Switch on PipraPay").click()
    await dash.get_by_role("button", name="Switch off PipraPay").wait_for()
    await check_page(dash, shot, "compat-on")
    assert await enabled(ctx, merchant, "piprapay")
