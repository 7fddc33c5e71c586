"""Gateways: the list per brand and mode, the form built from the adapter's declared
fields with write-only secrets ("set", never the value; empty keeps it), step-up, test
connection (sandbox: supported; others: "not supported"), turning one off, the provider
webhook URL, and ``enable_gateway(keep_secrets=True)`` in the service."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.merchants import service
from ownpay.merchants.models import GatewayAccount
from tests.dashboard.config_support import audit_rows, expire_step_up, signed_in
from tests.support.dashboard import post_form
from tests.support.factories import create_merchant

pytestmark = pytest.mark.api
SK = "sk_test_" + "a1" * 12
WHSEC = "whsec_" + "b2" * 12
STRIPE = {"cfg_secret_key": SK, "cfg_publishable_key": "pk_test_abc123",
          "cfg_webhook_secret": WHSEC, "gateway": "stripe"}


async def account(ctx: Any, merchant_id: int, gateway: str, mode: str = "test") -> Any:
    async with ctx.sessions() as s:
        return await s.scalar(select(GatewayAccount).where(
            GatewayAccount.merchant_id == merchant_id, GatewayAccount.mode == mode,
            GatewayAccount.gateway == gateway))


async def test_enabling_stripe_stores_the_secrets_and_shows_only_set(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    listing = await client.get("/admin/gateways")
    assert listing.status_code == 200 and "Sandbox (test payments)" in listing.text
    form = await client.get("/admin/gateways/configure?gateway=stripe")
    assert form.status_code == 200 and "Secret key (not set)" in form.text
    saved = await post_form(client, "/admin/gateways/configure?gateway=stripe",
                            "/admin/gateways/configure", STRIPE)
    assert saved.status_code == 303, saved.text
    acc = await account(ctx, brand.id, "stripe")
    assert acc.active
    stored = service.stored_credentials(ctx.keyring, acc)
    assert stored["secret_key"] == SK and stored["webhook_secret"] == WHSEC
    again = await client.get("/admin/gateways/configure?gateway=stripe")
    assert "Secret key (set)" in again.text and "Webhook signing secret (set)" in again.text
    assert SK not in again.text and WHSEC not in again.text
    assert 'value="pk_test_abc123"' in again.text  # not a secret: shown
    listing = await client.get("/admin/gateways")
    assert SK not in listing.text
    assert f"/gateways/stripe/webhooks/{brand.slug}/test" in listing.text
    [row] = await audit_rows(ctx, "gateway.configured", "stripe", brand.id)
    assert SK not in str(row.changes) and row.changes["replaced_write_only"] == [
        "secret_key", "webhook_secret"]

    # An empty secret keeps the stored one; a changed non-secret field is saved.
    kept = await post_form(client, "/admin/gateways/configure?gateway=stripe",
                           "/admin/gateways/configure", {
                               "gateway": "stripe", "cfg_publishable_key": "pk_test_new456",
                               "cfg_secret_key": "", "cfg_webhook_secret": ""})
    assert kept.status_code == 303
    stored = service.stored_credentials(ctx.keyring, await account(ctx, brand.id, "stripe"))
    assert stored["secret_key"] == SK and stored["publishable_key"] == "pk_test_new456"


async def test_a_bad_configuration_is_400_and_nothing_is_stored(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    bad = await post_form(client, "/admin/gateways/configure?gateway=stripe",
                          "/admin/gateways/configure", {
                              "gateway": "stripe", "cfg_secret_key": "nope<script>",
                              "cfg_publishable_key": "pk_test_abc123"})
    assert bad.status_code == 400
    assert "Webhook signing secret is required." in bad.text
    assert "nope<script>" not in bad.text  # a typed secret is never echoed
    shape = await post_form(client, "/admin/gateways/configure?gateway=stripe",
                            "/admin/gateways/configure", {**STRIPE, "cfg_secret_key": "nope"})
    assert shape.status_code == 400 and "Secret key must start with sk_" in shape.text
    assert await account(ctx, brand.id, "stripe") is None
    unknown = await client.get("/admin/gateways/configure?gateway=nonesuch")
    assert unknown.status_code == 404
    live_only = await client.get("/admin/gateways/configure?gateway=sandbox")
    assert live_only.status_code == 200  # sandbox exists in test mode


async def test_credential_changes_need_a_recent_re_authentication(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    user = await signed_in(client, ctx, "manager", brand)
    page = await client.get("/admin/gateways")
    await expire_step_up(ctx, user)
    from tests.support.dashboard import csrf_of

    refused = await client.post("/admin/gateways/configure",
                                data={**STRIPE, "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/admin/confirm?next=")
    assert await account(ctx, brand.id, "stripe") is None
    form = await client.get("/admin/gateways/configure?gateway=stripe")
    assert form.status_code == 303  # the form itself asks first


async def test_test_connection_and_turning_a_gateway_off(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    ok = await post_form(client, "/admin/gateways", "/admin/gateways/test",
                         {"gateway": "sandbox"})
    assert ok.status_code == 200 and "the credentials work" in ok.text
    assert "needs no credentials" in ok.text
    unsupported = await post_form(client, "/admin/gateways", "/admin/gateways/test",
                                  {"gateway": "manual"})
    assert unsupported.status_code == 200 and "no check available" in unsupported.text
    off = await post_form(client, "/admin/gateways", "/admin/gateways/disable",
                          {"gateway": "sandbox"})
    assert off.status_code == 200 and "is off" in off.text
    assert not (await account(ctx, brand.id, "sandbox")).active
    assert await audit_rows(ctx, "gateway.disabled", "sandbox", brand.id)
    not_on = await post_form(client, "/admin/gateways", "/admin/gateways/test",
                             {"gateway": "sandbox"})
    assert not_on.status_code == 400 and "before testing it" in not_on.text
    never = await post_form(client, "/admin/gateways", "/admin/gateways/disable",
                            {"gateway": "stripe"})
    assert never.status_code == 404


async def test_operators_and_developers_cannot_touch_gateways(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "developer", brand)
    assert (await client.get("/admin/gateways")).status_code == 403


async def test_keep_secrets_in_the_service(ctx: Any) -> None:
    brand = await create_merchant(ctx)
    values = {"secret_key": SK, "publishable_key": "pk_test_abc123", "webhook_secret": WHSEC}
    async with ctx.sessions() as s, s.begin():
        m = await service.get_merchant(s, brand.slug)
        await service.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                     gateway="stripe", values=values)
        acc = await service.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                           gateway="stripe", keep_secrets=True,
                                           values={"publishable_key": "pk_test_xyz789"})
        stored = service.stored_credentials(ctx.keyring, acc)
        assert stored == {**values, "publishable_key": "pk_test_xyz789",
                          "api_base": stored["api_base"], "js_url": stored["js_url"]}
        shown = service.shown_config(ctx.keyring, acc)
        assert shown["secret_key"] is True and shown["publishable_key"] == "pk_test_xyz789"
        with pytest.raises(service.ValidationFailed):  # without keep_secrets: required
            await service.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                         gateway="stripe",
                                         values={"publishable_key": "pk_test_xyz789"})
