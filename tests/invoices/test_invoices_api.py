"""``/api/v1/invoices``: creating (numbers per brand and mode, the customer matched or
named, every bad field at once), reading, listing by status, changing a draft only,
finalising / voiding / writing off through the state machine, Idempotency-Key, scopes,
and another brand's or mode's invoice a 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from ownpay.invoices.models import InvoiceStatusHistory
from tests.support.factories import create_merchant, extra_key

pytestmark = pytest.mark.api
INVOICES = "/api/v1/invoices"
BODY: dict[str, Any] = {
    "currency": "BDT", "customer_name": "Rahim Uddin", "customer_email": "rahim@example.com",
    "lines": [{"description": "ইফতার বক্স", "quantity": "2", "unit_price": "450.00",
               "tax_rate": "5"},
              {"description": "Delivery", "unit_price": "60.00"}],
    "discount_rate": "10", "tax_rate": "2.5", "due_date": "2099-01-31",
    "notes": "Thank you for your order."}


async def create(client: httpx.AsyncClient, shop: Any, **body: Any) -> dict[str, Any]:
    r = await client.post(INVOICES, headers=shop.auth(), json={**BODY, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_an_invoice_is_made_with_its_totals_read_and_listed(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    inv = await create(client, shop)
    assert inv["id"].startswith("inv_") and inv["number"] == "INV-000001"
    assert inv["status"] == "draft" and inv["mode"] == "test"
    # 2 × 450 = 900 + 5 % tax 45; 60; subtotal 960; 10 % off 96; 2.5 % of 864 = 21.60.
    assert [x["total"] for x in inv["lines"]] == ["945.00", "60.00"]
    assert (inv["subtotal"], inv["discount"], inv["line_tax"], inv["tax"], inv["total"]) == (
        "960.00", "96.00", "45.00", "21.60", "930.60")
    assert inv["amount_due"] == "0.00" and inv["amount_paid"] == "0.00"
    assert inv["customer"]["id"].startswith("cus_") and inv["customer"]["name"] == "Rahim Uddin"
    assert inv["url"].startswith(f"{ctx.settings.base_url}/invoice/")
    assert len(inv["url"].rsplit("/", 1)[1]) == 43 and inv["pdf_url"] == inv["url"] + ".pdf"
    assert inv["due_date"] == "2099-01-31" and inv["payments"] == []
    second = await create(client, shop)
    assert second["number"] == "INV-000002"
    assert second["customer"]["id"] == inv["customer"]["id"]  # matched by e-mail digest
    got = await client.get(f"{INVOICES}/{inv['id']}", headers=shop.auth())
    assert got.status_code == 200 and got.json() == inv
    listed = await client.get(INVOICES, headers=shop.auth(), params={"limit": 1})
    page = listed.json()
    assert [x["id"] for x in page["data"]] == [second["id"]] and page["has_more"] is True
    rest = await client.get(INVOICES, headers=shop.auth(),
                            params={"starting_after": page["next_cursor"]})
    assert [x["id"] for x in rest.json()["data"]] == [inv["id"]]
    theirs = await client.get(INVOICES, headers=shop.auth(), params={
        "customer_id": inv["customer"]["id"]})
    assert [x["id"] for x in theirs.json()["data"]] == [second["id"], inv["id"]]
    nobody = await client.get(INVOICES, headers=shop.auth(), params={
        "customer_id": "cus_0000000000000000"})
    assert nobody.json()["data"] == []
    # A brand's numbers are its own.
    other = await create_merchant(ctx)
    assert (await create(client, other))["number"] == "INV-000001"
    async with ctx.sessions() as s:
        [row] = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "invoice.created", AuditEntry.object_id == inv["id"])))
    assert row.merchant_id == shop.id


async def test_every_bad_field_is_refused_at_once_and_nothing_is_made(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    r = await client.post(INVOICES, headers=shop.auth(), json={
        "currency": "XYZ", "colour": "red", "due_date": "31/01/2099", "tax_rate": "101",
        "discount_amount": "1", "discount_rate": "2", "customer_id": 7,
        "lines": [{"description": "", "quantity": "1.2345", "unit_price": "1", "x": 1},
                  "nope"]})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] is True and body["code"] == "VALIDATION_ERROR"
    assert set(body["errors"]) == {
        "currency", "colour", "due_date", "tax_rate", "discount_amount", "customer_id",
        "lines[0].description", "lines[0].quantity", "lines[0].x", "lines[1]"}, body
    assert body["errors"]["lines[0].quantity"] == [
        "The quantity may have at most 3 decimal places."]
    cents = await client.post(INVOICES, headers=shop.auth(), json={
        "currency": "JPY", "lines": [{"description": "Tea", "unit_price": "10.5"}],
        "customer_email": "not-an-email"})
    assert cents.status_code == 400
    assert set(cents.json()["errors"]) == {"lines[0].unit_price"}
    mail = await client.post(INVOICES, headers=shop.auth(), json={
        "currency": "JPY", "lines": [{"description": "Tea", "unit_price": "10"}],
        "customer_email": "not-an-email"})
    assert mail.status_code == 400 and set(mail.json()["errors"]) == {"customer_email"}
    big = await client.post(INVOICES, headers=shop.auth(), json={
        "currency": "USD", "lines": [{"description": "Tea", "unit_price": "10"}],
        "discount_amount": "10.01"})
    assert big.json()["errors"] == {"discount_amount": [
        "The discount may not be more than the subtotal."]}
    bad_status = await client.get(INVOICES, headers=shop.auth(), params={"status": "late"})
    assert bad_status.status_code == 400 and bad_status.json()["code"] == "VALIDATION_ERROR"
    listed = await client.get(INVOICES, headers=shop.auth())
    assert listed.json()["data"] == []


async def test_only_a_draft_changes_and_the_state_machine_refuses_the_rest(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    inv = await create(client, shop)
    url = f"{INVOICES}/{inv['id']}"
    changed = await client.patch(url, headers=shop.auth(), json={
        "lines": [{"description": "Dates", "quantity": "1.5", "unit_price": "100"}],
        "discount_rate": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["total"] == "153.75"  # 150 + 2.5 %
    assert changed.json()["customer"] == inv["customer"]
    same_currency = await client.patch(url, headers=shop.auth(), json={"currency": "USD"})
    assert same_currency.status_code == 400 and "currency" in same_currency.json()["errors"]
    empty = await client.patch(url, headers=shop.auth(), json={})
    assert empty.status_code == 400 and "request" in empty.json()["errors"]
    for refused in ("void", "mark-uncollectible"):
        r = await client.post(f"{url}/{refused}", headers=shop.auth())
        assert r.status_code == 409 and r.json()["code"] == "INVALID_STATE", r.text
    opened = await client.post(f"{url}/finalize", headers=shop.auth(),
                               json={"reason": "sent by e-mail"})
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    assert opened.json()["amount_due"] == "153.75" and opened.json()["finalized_at"]
    again = await client.post(f"{url}/finalize", headers=shop.auth())
    assert again.status_code == 409 and again.json()["message"] == (
        "Only a draft invoice can be changed or finalised.")
    late = await client.patch(url, headers=shop.auth(), json={"notes": "changed"})
    assert late.status_code == 409 and late.json()["code"] == "INVALID_STATE"
    voided = await client.post(f"{url}/void", headers=shop.auth())
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    assert voided.json()["amount_due"] == "0.00"
    assert (await client.post(f"{url}/mark-uncollectible", headers=shop.auth())
            ).status_code == 409
    other = await create(client, shop)
    await client.post(f"{INVOICES}/{other['id']}/finalize", headers=shop.auth())
    written_off = await client.post(f"{INVOICES}/{other['id']}/mark-uncollectible",
                                    headers=shop.auth(), json={"reason": "customer gone"})
    assert written_off.json()["status"] == "uncollectible"
    async with ctx.sessions() as s:
        rows = list(await s.scalars(select(InvoiceStatusHistory).where(
            InvoiceStatusHistory.invoice_id == inv["id"]).order_by(InvoiceStatusHistory.id)))
    assert [(h.from_status, h.to_status, h.reason) for h in rows] == [
        ("draft", "open", "sent by e-mail"), ("open", "void", None)]
    assert all(h.actor.startswith("api_key:") for h in rows)


async def test_idempotency_key_replays_the_first_invoice(client: httpx.AsyncClient,
                                                         ctx: Any) -> None:
    shop = await create_merchant(ctx)
    headers = {**shop.auth(), "Idempotency-Key": "inv-key-1"}
    first = await client.post(INVOICES, headers=headers, json=BODY)
    second = await client.post(INVOICES, headers=headers, json=BODY)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    reused = await client.post(INVOICES, headers=headers, json={**BODY, "notes": "other"})
    assert reused.status_code == 409 and reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    listed = await client.get(INVOICES, headers=shop.auth())
    assert len(listed.json()["data"]) == 1


async def test_another_brands_or_modes_invoice_is_not_found_and_scopes_hold(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    inv = await create(client, shop)
    url = f"{INVOICES}/{inv['id']}"
    for method, path in (("GET", url), ("PATCH", url), ("POST", url + "/finalize"),
                         ("POST", url + "/void")):
        r = await client.request(method, path, headers=other.auth(),
                                 json={"notes": "x"} if method == "PATCH" else None)
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", (method, path)
    live = await extra_key(ctx, shop, ("read", "write"), mode="live")
    assert (await client.get(url, headers=live)).status_code == 404
    assert (await client.get(INVOICES, headers=live)).json()["data"] == []
    assert (await client.get(INVOICES, headers=other.auth())).json()["data"] == []
    reader = await extra_key(ctx, shop, ("read",))
    assert (await client.get(url, headers=reader)).status_code == 200
    refused = await client.post(INVOICES, headers=reader, json=BODY)
    assert refused.status_code == 403 and refused.json()["code"] == "INSUFFICIENT_SCOPE"
    # Someone else's customer cannot be named.
    theirs = await client.post("/api/v1/customers", headers=other.auth(),
                               json={"name": "X", "email": "x@example.com"})
    named = await client.post(INVOICES, headers=shop.auth(), json={
        "currency": "USD", "lines": [{"description": "Tea", "unit_price": "1"}],
        "customer_id": theirs.json()["id"]})
    assert named.status_code == 400 and named.json()["errors"] == {
        "customer_id": ["Unknown customer id."]}
    open_list = await client.get(INVOICES, headers=shop.auth(), params={"status": "open"})
    assert open_list.json()["data"] == []
