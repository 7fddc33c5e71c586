"""API keys: the list of the brand and mode shown, a new key shown once (then only its
prefix) that works against the API, scopes, revoking (confirmation, step-up), isolation."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.dashboard.config_support import audit_rows, expire_step_up, signed_in
from tests.support.dashboard import api_key_id, csrf_of, post_form
from tests.support.factories import create_merchant, intent_body

pytestmark = pytest.mark.api
HOSTILE = "<script>x</script>{{ 1 }}"


async def test_a_developer_creates_a_key_that_is_shown_once_and_works(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "developer", brand)
    made = await post_form(client, "/admin/api-keys/new", "/admin/api-keys/new", {
        "name": HOSTILE, "scope_read": "on"})
    assert made.status_code == 200
    key = re.search(r'id="new-secret">([^<]+)<', made.text).group(1)
    assert key.startswith("op_test_")
    assert "&lt;script&gt;x" in made.text and "<script>x" not in made.text
    listing = await client.get("/admin/api-keys")
    assert key not in listing.text and "&lt;script&gt;x" in listing.text
    prefix = re.search(r'<code class="mono">(op_test_[^<…]+)…</code>', listing.text).group(1)
    assert key.startswith(prefix)
    read = await client.get("/api/v1/ledger/balances", headers={"Authorization": f"Bearer {key}"})
    assert read.status_code == 200
    write = await client.post("/api/v1/payment-intents", json=intent_body(),
                              headers={"Authorization": f"Bearer {key}"})
    assert write.status_code == 403  # only the read scope was ticked
    [row] = await audit_rows(ctx, "api_key.created", re.search(
        r'/admin/api-keys/(\d+)/revoke', listing.text).group(1))
    assert key not in str(row.changes) and row.changes["scopes"] == ["read"]


async def test_no_scope_is_refused_and_nothing_is_made(client: httpx.AsyncClient,
                                                       ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    before = (await client.get("/admin/api-keys")).text.count("/revoke")
    bad = await post_form(client, "/admin/api-keys/new", "/admin/api-keys/new", {"name": "x"})
    assert bad.status_code == 400 and "Choose at least one scope." in bad.text
    assert (await client.get("/admin/api-keys")).text.count("/revoke") == before


async def test_revoking_asks_first_needs_step_up_and_the_key_stops_working(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    user = await signed_in(client, ctx, "developer", brand)
    made = await post_form(client, "/admin/api-keys/new", "/admin/api-keys/new", {
        "scope_read": "on"})
    key = re.search(r'id="new-secret">([^<]+)<', made.text).group(1)
    listing = await client.get("/admin/api-keys")
    key_id = max(int(i) for i in re.findall(r'/admin/api-keys/(\d+)/revoke', listing.text))
    confirm = await client.get(f"/admin/api-keys/{key_id}/revoke")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    await expire_step_up(ctx, user)
    asked = await client.post(f"/admin/api-keys/{key_id}/revoke",
                              data={"csrf_token": csrf_of(confirm.text)})
    assert asked.status_code == 303 and asked.headers["location"].startswith("/admin/confirm")
    page = await client.get(asked.headers["location"])
    ok = await client.post("/admin/confirm", data={
        "csrf_token": csrf_of(page.text), "password": user.password,
        "next": f"/admin/api-keys/{key_id}/revoke"})
    assert ok.status_code == 303
    done = await client.post(f"/admin/api-keys/{key_id}/revoke",
                             data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    assert "Revoked" in (await client.get("/admin/api-keys")).text
    refused = await client.get("/api/v1/ledger/balances",
                               headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401
    assert await audit_rows(ctx, "api_key.revoked", key_id)


async def test_keys_are_per_mode_and_another_brands_key_is_not_found(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand, other = await create_merchant(ctx), await create_merchant(ctx)
    await signed_in(client, ctx, "developer", brand, mode="live")
    listing = await client.get("/admin/api-keys")
    assert "op_live_" in listing.text and "op_test_" not in listing.text
    theirs = await api_key_id(client, ctx, other)
    assert (await client.get(f"/admin/api-keys/{theirs}/revoke")).status_code == 404
    assert (await client.post(f"/admin/api-keys/{theirs}/revoke", data={
        "csrf_token": csrf_of(listing.text)})).status_code == 404
