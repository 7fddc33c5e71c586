"""Webhooks: an endpoint created (secret shown once), edited (hostile description escaped),
its secret rotated (step-up, the overlap window shown), a test ping, removal; the delivery
log with the request body and each attempt, a manual retry; another brand's objects 404."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from ownpay.tenancy import TenantScope
from ownpay.webhooks import service
from tests.dashboard.config_support import audit_rows, expire_step_up, signed_in
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import create_merchant, make_delivery, make_endpoint

pytestmark = pytest.mark.api
URL = "http://127.0.0.1:9/hooks"
HOSTILE = "<script>alert(1)</script> \"q\" {{ 7*7 }}"


def secret_of(html: str) -> str:
    return re.search(r'id="new-secret">([^<]+)<', html).group(1)


async def test_create_edit_rotate_and_remove_an_endpoint(client: httpx.AsyncClient,
                                                         ctx: Any) -> None:
    brand = await create_merchant(ctx)
    user = await signed_in(client, ctx, "developer", brand)
    made = await post_form(client, "/admin/webhooks", "/admin/webhooks", {
        "url": URL, "description": HOSTILE, "all_events": "on", "scheme": "ownpay"})
    assert made.status_code == 200, made.text
    first = secret_of(made.text)
    assert first.startswith("whsec_")
    listing = await client.get("/admin/webhooks")
    assert first not in listing.text and "&lt;script&gt;alert(1)" in listing.text
    assert "<script>alert(1)" not in listing.text and "{{ 7*7 }}" in listing.text
    endpoint_id = re.search(r'/admin/webhooks/(we_[0-9a-f]+)"', listing.text).group(1)
    assert await audit_rows(ctx, "webhook_endpoint.created", endpoint_id)

    page = await client.get(f"/admin/webhooks/{endpoint_id}")
    assert page.status_code == 200 and first not in page.text
    saved = await post_form(client, f"/admin/webhooks/{endpoint_id}",
                            f"/admin/webhooks/{endpoint_id}", {
                                "url": URL + "/v2", "description": "second",
                                "event_payment.completed": "on", "scheme": "ownpay"})
    assert saved.status_code == 303
    async with ctx.sessions() as s:
        row = await service.get_endpoint(s, scope=TenantScope(brand.id, "test"),
                                         endpoint_id=endpoint_id)
    assert (row.url, row.events, row.enabled) == (URL + "/v2", ["payment.completed"], False)
    [changed] = await audit_rows(ctx, "webhook_endpoint.updated", endpoint_id)
    assert changed.changes["enabled"] == {"before": "on", "after": ""}

    bad = await post_form(client, f"/admin/webhooks/{endpoint_id}",
                          f"/admin/webhooks/{endpoint_id}", {
                              "url": "ftp://nowhere", "all_events": "on"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text
    none = await post_form(client, f"/admin/webhooks/{endpoint_id}",
                           f"/admin/webhooks/{endpoint_id}", {"url": URL})
    assert none.status_code == 400 and "Choose at least one event" in none.text

    confirm = await client.get(f"/admin/webhooks/{endpoint_id}/rotate")
    assert confirm.status_code == 200 and "24 hours" in confirm.text
    rotated = await client.post(f"/admin/webhooks/{endpoint_id}/rotate",
                                data={"csrf_token": csrf_of(confirm.text)})
    second = secret_of(rotated.text)
    assert second != first and "second signature" in rotated.text
    assert "(24 hours)" in rotated.text
    assert await audit_rows(ctx, "webhook_endpoint.secret_rotated", endpoint_id)
    again = await client.get(f"/admin/webhooks/{endpoint_id}")
    assert second not in again.text and "previous secret also signs until" in again.text

    await expire_step_up(ctx, user)
    asked = await client.post(f"/admin/webhooks/{endpoint_id}/rotate",
                              data={"csrf_token": csrf_of(again.text)})
    assert asked.status_code == 303 and asked.headers["location"].startswith("/admin/confirm")

    remove = await client.get(f"/admin/webhooks/{endpoint_id}/remove")
    gone = await client.post(f"/admin/webhooks/{endpoint_id}/remove",
                             data={"csrf_token": csrf_of(remove.text)})
    assert gone.status_code == 303
    assert (await client.get(f"/admin/webhooks/{endpoint_id}")).status_code == 404


async def test_a_bad_url_is_400_and_nothing_is_made(client: httpx.AsyncClient,
                                                    ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    bad = await post_form(client, "/admin/webhooks", "/admin/webhooks", {
        "url": "not a url", "all_events": "on"})
    assert bad.status_code == 400 and "whsec_" not in bad.text
    async with ctx.sessions() as s:
        assert not await service.list_endpoints(s, scope=TenantScope(brand.id, "test"))


async def test_a_test_ping_reports_the_receivers_answer(client: httpx.AsyncClient,
                                                        ctx: Any) -> None:
    brand = await create_merchant(ctx)
    endpoint_id = await make_endpoint(client, ctx, brand)
    await signed_in(client, ctx, "developer", brand)
    pinged = await post_form(client, f"/admin/webhooks/{endpoint_id}",
                             f"/admin/webhooks/{endpoint_id}/ping")
    assert pinged.status_code == 200
    assert "did not accept it" in pinged.text  # nothing listens on port 9
    assert "Nothing was stored" in pinged.text


async def test_the_delivery_log_shows_the_request_and_retries(client: httpx.AsyncClient,
                                                              ctx: Any) -> None:
    brand = await create_merchant(ctx)
    delivery_id = await make_delivery(client, ctx, brand)
    await signed_in(client, ctx, "viewer", brand)
    listing = await client.get("/admin/webhooks")
    assert delivery_id in listing.text and "Add an endpoint" not in listing.text
    page = await client.get(f"/admin/webhook-deliveries/{delivery_id}")
    assert page.status_code == 200 and "payment.cancelled" in page.text
    assert "Send again now" not in page.text  # a viewer reads only
    assert (await client.post(f"/admin/webhook-deliveries/{delivery_id}/retry", data={
        "csrf_token": csrf_of(page.text)})).status_code == 403
    filtered = await client.get("/admin/webhooks?status=succeeded")
    assert delivery_id not in filtered.text

    client.cookies.clear()
    await signed_in(client, ctx, "developer", brand)
    retried = await post_form(client, f"/admin/webhook-deliveries/{delivery_id}",
                              f"/admin/webhook-deliveries/{delivery_id}/retry")
    assert retried.status_code == 303
    shown = await client.get(retried.headers["location"])
    assert "The delivery is due now" in shown.text
    assert await audit_rows(ctx, "webhook_delivery.retried", delivery_id)


async def test_another_brands_endpoint_and_delivery_are_not_found(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand, other = await create_merchant(ctx), await create_merchant(ctx)
    theirs = await make_delivery(client, ctx, other)
    async with ctx.sessions() as s:
        [endpoint] = await service.list_endpoints(s, scope=TenantScope(other.id, "test"))
    await signed_in(client, ctx, "owner", brand)  # sees every brand, but shows this one
    assert (await client.get(f"/admin/webhooks/{endpoint.id}")).status_code == 404
    assert (await client.get(f"/admin/webhook-deliveries/{theirs}")).status_code == 404
