"""Brands: the list, creating one (owners and admins), editing a profile (a manager only
their own), validation errors (400, nothing changed), hostile names escaped, audit rows."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from ownpay.merchants import service
from tests.dashboard.config_support import audit_rows, signed_in
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import create_merchant, intent_body

pytestmark = pytest.mark.api
HOSTILE = "<script>alert(1)</script> \"Q\" {{ 7*7 }}"


async def brand_row(ctx: Any, slug: str) -> Any:
    async with ctx.sessions() as s:
        return await service.get_merchant(s, slug)


async def test_a_manager_edits_their_brand_colour_and_sees_only_their_brand(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx, name=HOSTILE)
    other = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    listing = await client.get("/admin/brands")
    assert listing.status_code == 200
    assert "<script>alert(1)" not in listing.text and "&lt;script&gt;" in listing.text
    assert "{{ 7*7 }}" in listing.text and other.slug not in listing.text
    assert "Add a brand" not in listing.text  # managers do not create brands
    saved = await post_form(client, f"/admin/brands/{brand.id}", f"/admin/brands/{brand.id}",
                            {"name": HOSTILE, "primary_color": "#1a73e8",
                             "logo_url": "", "base_url": ""})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/brands?saved=1"
    assert (await brand_row(ctx, brand.slug)).primary_color == "#1a73e8"
    [row] = await audit_rows(ctx, "brand.updated", brand.slug)
    assert row.changes == {"primary_color": {"before": None, "after": "#1a73e8"}}
    assert (await client.get(f"/admin/brands/{other.id}")).status_code == 404
    page = await client.get(f"/admin/brands/{brand.id}")
    stolen = await client.post(f"/admin/brands/{other.id}", data={
        "csrf_token": csrf_of(page.text), "name": "Mine now"})
    assert stolen.status_code == 404
    assert (await brand_row(ctx, other.slug)).name != "Mine now"


async def test_bad_profile_values_show_the_form_again_and_change_nothing(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    before = await brand_row(ctx, brand.slug)
    bad = await post_form(client, f"/admin/brands/{brand.id}", f"/admin/brands/{brand.id}",
                          {"name": "", "primary_color": "blue", "logo_url": "javascript:x",
                           "base_url": ""})
    assert bad.status_code == 400
    assert "Must be a colour like #1a73e8." in bad.text
    assert "Name is required" in bad.text and 'aria-invalid="true"' in bad.text
    after = await brand_row(ctx, brand.slug)
    assert (after.name, after.primary_color, after.logo_url) == (
        before.name, before.primary_color, before.logo_url)
    assert not await audit_rows(ctx, "brand.updated", brand.slug)


async def test_an_owner_creates_a_brand_and_a_taken_slug_is_refused(
        client: httpx.AsyncClient, ctx: Any) -> None:
    anchor = await create_merchant(ctx)
    await signed_in(client, ctx, "owner", anchor)
    slug = "b-" + secrets.token_hex(4)
    made = await post_form(client, "/admin/brands", "/admin/brands", {
        "name": HOSTILE, "slug": slug, "primary_color": "#000000"})
    assert made.status_code == 303
    assert made.headers["location"].endswith("?created=1")
    page = await client.get(made.headers["location"])
    assert page.status_code == 200 and "&lt;script&gt;" in page.text and slug in page.text
    assert (await brand_row(ctx, slug)).name == HOSTILE
    assert await audit_rows(ctx, "brand.created", slug)
    again = await post_form(client, "/admin/brands", "/admin/brands", {
        "name": "Again", "slug": slug})
    assert again.status_code == 400 and "already exists" in again.text
    bad = await post_form(client, "/admin/brands", "/admin/brands", {
        "name": "X", "slug": "No Spaces!"})
    assert bad.status_code == 400 and "Slug must be" in bad.text


async def test_a_manager_cannot_create_a_brand(client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    refused = await post_form(client, "/admin/brands", "/admin/brands", {
        "name": "Nope", "slug": "nope-" + secrets.token_hex(3)})
    assert refused.status_code == 403


async def test_a_manager_sets_the_payment_lifetime_new_intents_use(
        client: httpx.AsyncClient, ctx: Any) -> None:
    from ownpay.payments.models import PaymentIntent

    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    form = {"name": "Lifetime shop", "primary_color": "", "logo_url": "", "base_url": ""}
    page = await client.get(f"/admin/brands/{brand.id}")
    assert "Payment lifetime (seconds)" in page.text and "default (1800 s)" in page.text
    for bad, message in (("soon", "whole number of seconds"), ("30", "between 60 and 604800"),
                         ("99999999", "whole number of seconds"),
                         ("3600²", "whole number of seconds"), ("৩৬০০", "whole number of seconds"),
                         ("36\x0000", "cannot be accepted")):  # the form reader's 400
        refused = await post_form(client, f"/admin/brands/{brand.id}",
                                  f"/admin/brands/{brand.id}", {**form, "intent_lifetime": bad})
        assert refused.status_code == 400 and message in refused.text, bad
        assert (await brand_row(ctx, brand.slug)).intent_lifetime is None
    saved = await post_form(client, f"/admin/brands/{brand.id}", f"/admin/brands/{brand.id}",
                            {**form, "intent_lifetime": "3600"})
    assert saved.status_code == 303
    assert (await brand_row(ctx, brand.slug)).intent_lifetime == 3600
    [row] = await audit_rows(ctx, "brand.updated", brand.slug)
    assert row.changes["intent_lifetime"] == {"before": None, "after": 3600}
    made = await client.post("/api/v1/payment-intents", headers=brand.auth(),
                             json=intent_body())
    assert made.status_code == 201, made.text
    async with ctx.sessions() as s:
        row = await s.get(PaymentIntent, made.json()["transaction_id"])
    assert 3599 < (row.expires_at - row.created_at).total_seconds() <= 3600  # whole seconds
    cleared = await post_form(client, f"/admin/brands/{brand.id}", f"/admin/brands/{brand.id}",
                              {**form, "intent_lifetime": ""})
    assert cleared.status_code == 303
    assert (await brand_row(ctx, brand.slug)).intent_lifetime is None


async def test_a_manager_sets_the_checkout_language_customers_then_read(
        client: httpx.AsyncClient, ctx: Any) -> None:
    """The brand page's *Checkout language* (issue 14): Bangla for the brand's checkout,
    audited; anything but en / bn refused; a form without the field changes nothing."""
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    page = await client.get(f"/admin/brands/{brand.id}")
    assert 'name="checkout_language"' in page.text
    assert '<option value="en" selected>' in page.text
    form = {"name": (await brand_row(ctx, brand.slug)).name, "primary_color": "",
            "logo_url": "", "base_url": ""}
    bad = await post_form(client, f"/admin/brands/{brand.id}", f"/admin/brands/{brand.id}",
                          {**form, "checkout_language": "fr"})
    assert bad.status_code == 400 and "Must be one of: en, bn." in bad.text
    same = await post_form(client, f"/admin/brands/{brand.id}", f"/admin/brands/{brand.id}",
                           form)
    assert same.status_code == 200 and "Nothing changed." in same.text
    saved = await post_form(client, f"/admin/brands/{brand.id}", f"/admin/brands/{brand.id}",
                            {**form, "checkout_language": "bn"})
    assert saved.status_code == 303
    assert (await brand_row(ctx, brand.slug)).checkout_language == "bn"
    [row] = await audit_rows(ctx, "brand.updated", brand.slug)
    assert row.changes == {"checkout_language": {"before": "en", "after": "bn"}}
    made = await client.post("/api/v1/payment-intents", headers=brand.auth(),
                             json=intent_body(currency="BDT", amount="10"))
    checkout = await client.get(f"/checkout/{made.json()['transaction_id']}")
    assert '<html lang="bn">' in checkout.text and "প্রাপক" in checkout.text
