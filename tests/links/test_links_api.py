"""``/api/v1/payment-links``: creating (every bad field at once, fixed or customer amounts,
fields, gateways the brand has), reading, listing by pages, changing only what is sent,
scopes, another brand's link a 404, and the audit rows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from tests.support.factories import create_merchant, extra_key

pytestmark = pytest.mark.api
LINKS = "/api/v1/payment-links"


async def test_a_fixed_price_link_is_made_read_and_listed(client: httpx.AsyncClient,
                                                          ctx: Any) -> None:
    shop = await create_merchant(ctx)
    r = await client.post(LINKS, headers=shop.auth(), json={
        "title": "Eid gift box", "currency": "BDT", "amount": "1250.50",
        "description": "Dates, sweets and a card.", "gateways": ["sandbox"],
        "fields": [{"name": "size", "label": "Box size", "type": "select", "required": True,
                    "options": ["Small", "Large"]},
                   {"name": "note", "label": "Card message"}],
        "max_uses": 3, "expires_at": "2099-01-31T18:00:00+06:00"})
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["id"].startswith("plink_") and len(link["slug"]) == 10
    assert link["url"] == f"{ctx.settings.base_url}/pay/{link['slug']}"
    assert (link["amount"], link["min_amount"], link["currency"]) == ("1250.50", None, "BDT")
    assert link["expires_at"] == "2099-01-31T12:00:00Z" and link["active"] is True
    assert link["fields"][1] == {"name": "note", "label": "Card message", "type": "text",
                                 "required": False}
    assert link["paid_count"] == 0 and link["mode"] == "test"
    got = await client.get(f"{LINKS}/{link['id']}", headers=shop.auth())
    assert got.status_code == 200 and got.json() == link
    listed = await client.get(LINKS, headers=shop.auth())
    assert [x["id"] for x in listed.json()["data"]] == [link["id"]]
    async with ctx.sessions() as s:
        [row] = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "payment_link.created", AuditEntry.object_id == link["id"])))
    assert row.merchant_id == shop.id


async def test_every_bad_field_is_refused_at_once_and_nothing_is_made(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    r = await client.post(LINKS, headers=shop.auth(), json={
        "currency": "XYZ", "amount": "5", "min_amount": "1", "colour": "red",
        "gateways": ["stripe"], "fields": [{"name": "Bad Name", "label": ""}],
        "max_uses": 0, "expires_at": "2020-01-01T00:00:00Z", "slug": "-x", "active": "yes",
        "image_url": "javascript:alert(1)"})
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert set(errors) == {"colour", "title", "currency", "fields[0]", "max_uses",
                           "expires_at", "slug", "active", "image_url", "gateways"}, errors
    money = await client.post(LINKS, headers=shop.auth(), json={
        "title": "x", "currency": "BDT", "amount": "5", "min_amount": "1"})
    assert "not both" in money.json()["errors"]["amount"][0]
    exact = await client.post(LINKS, headers=shop.auth(), json={
        "title": "x", "currency": "BDT", "amount": "5.001"})
    assert exact.status_code == 400 and "amount" in exact.json()["errors"]
    low_high = await client.post(LINKS, headers=shop.auth(), json={
        "title": "x", "currency": "USD", "min_amount": "10", "max_amount": "5"})
    assert "min_amount" in low_high.json()["errors"]
    listed = await client.get(LINKS, headers=shop.auth())
    assert listed.json()["data"] == []


async def test_a_slug_is_unique_and_a_change_touches_only_what_is_sent(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    slug = f"donate-{shop.id}"
    made = await client.post(LINKS, headers=shop.auth(), json={
        "title": "Donate", "currency": "USD", "min_amount": "1", "slug": slug})
    assert made.status_code == 201, made.text
    taken = await client.post(LINKS, headers=other.auth(), json={
        "title": "Mine", "currency": "USD", "amount": "2", "slug": slug})
    assert taken.status_code == 400 and "taken" in taken.json()["errors"]["slug"][0]
    link_id = made.json()["id"]
    changed = await client.patch(f"{LINKS}/{link_id}", headers=shop.auth(),
                                 json={"active": False, "max_amount": "500"})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["active"], after["max_amount"], after["min_amount"], after["title"]) == (
        False, "500.00", "1.00", "Donate")
    for body, field in (({}, "request"), ({"currency": "EUR"}, "currency"),
                        ({"min_amount": "600"}, "min_amount"), ({"slug": None}, "slug")):
        r = await client.patch(f"{LINKS}/{link_id}", headers=shop.auth(), json=body)
        assert r.status_code == 400 and field in r.json()["errors"], (body, r.text)
    assert (await client.get(f"{LINKS}/{link_id}", headers=shop.auth())).json() == after
    async with ctx.sessions() as s:
        [row] = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "payment_link.updated", AuditEntry.object_id == link_id)))
    assert set(row.changes) >= {"active", "max_amount"}


async def test_another_brand_or_mode_sees_404_and_scopes_hold(client: httpx.AsyncClient,
                                                              ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    link_id = (await client.post(LINKS, headers=shop.auth(), json={
        "title": "A", "currency": "USD", "amount": "3"})).json()["id"]
    for headers in (other.auth(), shop.auth("live")):
        assert (await client.get(f"{LINKS}/{link_id}", headers=headers)).status_code == 404
        assert (await client.patch(f"{LINKS}/{link_id}", headers=headers,
                                   json={"title": "B"})).status_code == 404
    reader = await extra_key(ctx, shop, ("read",))
    assert (await client.post(LINKS, headers=reader, json={
        "title": "A", "currency": "USD", "amount": "3"})).status_code == 403
    assert (await client.get(f"{LINKS}/{link_id}", headers=reader)).status_code == 200


async def test_pages_of_links(client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    made = [(await client.post(LINKS, headers=shop.auth(), json={
        "title": f"L{n}", "currency": "USD", "amount": "1"})).json()["id"] for n in range(5)]
    first = (await client.get(LINKS, headers=shop.auth(), params={"limit": 2})).json()
    assert first["has_more"] and [x["id"] for x in first["data"]] == made[:-3:-1]
    rest = (await client.get(LINKS, headers=shop.auth(), params={
        "limit": 10, "starting_after": first["next_cursor"]})).json()
    assert [x["id"] for x in rest["data"]] == made[2::-1] and not rest["has_more"]
    bad = await client.get(LINKS, headers=shop.auth(), params={"starting_after": "plink_x"})
    assert bad.status_code == 400
