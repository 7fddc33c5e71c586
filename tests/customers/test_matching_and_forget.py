"""Payments find their customer by e-mail or phone digest (or make one) in their own
transaction, one customer however many arrive at once; a customer's payments with their
refunds; forgetting erases the PII (and its payments' copies) and keeps the money records
balanced; dialect keys keep their 404."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from ownpay.audit.models import AuditEntry
from ownpay.customers.models import Customer
from ownpay.ledger.verify import operator_verify
from ownpay.merchants import service as merchants
from ownpay.payments.models import PaymentIntent
from tests.support.checkout import paid
from tests.support.factories import create_merchant, intent_body

pytestmark = pytest.mark.api
CUSTOMERS = "/api/v1/customers"
INTENTS = "/api/v1/payment-intents"


async def intent(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    r = await client.post(INTENTS, headers=headers, json=intent_body(**fields))
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def customer_of(ctx: Any, txn: str) -> str | None:
    async with ctx.sessions() as s:
        return await s.scalar(select(PaymentIntent.customer_id).where(PaymentIntent.id == txn))


async def customers_of(ctx: Any, merchant_id: int) -> list[Customer]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(Customer).where(
            Customer.merchant_id == merchant_id)))


async def test_payments_are_matched_by_email_then_phone(client: httpx.AsyncClient,
                                                        ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    first = await intent(client, shop.auth(), customer_name="Karim", customer_email=
                         "Karim@Example.com", customer_phone="01712345678")
    cus = await customer_of(ctx, first)
    assert cus is not None and cus.startswith("cus_")
    made = (await client.get(f"{CUSTOMERS}/{cus}", headers=shop.auth())).json()
    assert (made["name"], made["email"], made["phone"]) == (
        "Karim", "Karim@Example.com", "+8801712345678")
    # The same e-mail in another case; the same phone in another form with a new e-mail.
    again = await intent(client, shop.auth(), customer_email=" karim@example.COM")
    by_phone = await intent(client, shop.auth(), customer_email="new@example.com",
                            customer_phone="+880 1712-345678")
    assert await customer_of(ctx, again) == cus and await customer_of(ctx, by_phone) == cus
    # A phone that does not normalise is ignored; the e-mail still makes a customer.
    odd = await intent(client, shop.auth(), customer_email="odd@example.com",
                       customer_phone="+1-555-0100")
    odd_cus = await customer_of(ctx, odd)
    assert odd_cus not in (None, cus)
    assert (await client.get(f"{CUSTOMERS}/{odd_cus}", headers=shop.auth())).json()[
        "phone"] is None
    assert len(await customers_of(ctx, shop.id)) == 2
    # Another brand's payment with the same e-mail has another customer.
    theirs = await intent(client, other.auth(), customer_email="karim@example.com")
    assert await customer_of(ctx, theirs) not in (None, cus)
    # A customer made through the API first is the one its payments find.
    known = (await client.post(CUSTOMERS, headers=shop.auth(),
                               json={"phone": "01812345678"})).json()
    later = await intent(client, shop.auth(), customer_email="brand-new@example.com",
                         customer_phone="018-1234-5678")
    assert await customer_of(ctx, later) == known["id"]


async def test_a_refused_payment_makes_no_customer(client: httpx.AsyncClient,
                                                   ctx: Any) -> None:
    shop = await create_merchant(ctx)
    txn = await paid(client, shop, customer_email="first@example.com")
    order = (await client.get(f"{INTENTS}/{txn}", headers=shop.auth())).json()["order_id"]
    r = await client.post(INTENTS, headers=shop.auth(), json=intent_body(
        order_id=order, customer_email="second@example.com"))
    assert r.status_code == 409 and r.json()["code"] == "ORDER_ALREADY_PAID"
    assert len(await customers_of(ctx, shop.id)) == 1


async def test_payments_with_one_new_email_at_once_make_one_customer(
        backend: str, client: httpx.AsyncClient, ctx: Any) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    shop = await create_merchant(ctx)
    answers = await asyncio.gather(*[client.post(INTENTS, headers=shop.auth(), json=intent_body(
        customer_email="rush@example.com", customer_phone="01912345678")) for _ in range(8)])
    assert [r.status_code for r in answers] == [201] * 8, [r.text for r in answers]
    [only] = await customers_of(ctx, shop.id)
    for r in answers:
        assert await customer_of(ctx, r.json()["transaction_id"]) == only.id


async def test_a_customers_payments_and_refunds(client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    txn = await paid(client, shop, customer_email="buyer@example.com")
    refund = await client.post("/api/v1/refunds", headers=shop.auth(),
                               json={"transaction_id": txn, "amount": "10.00"})
    assert refund.status_code == 201, refund.text
    pending = await intent(client, shop.auth(), customer_email="BUYER@example.com")
    await intent(client, shop.auth(), customer_email="someone-else@example.com")
    cus = await customer_of(ctx, txn)
    r = await client.get(f"{CUSTOMERS}/{cus}/payments", headers=shop.auth())
    assert r.status_code == 200, r.text
    page = r.json()
    assert [p["transaction_id"] for p in page["data"]] == [pending, txn]
    done = page["data"][1]
    assert (done["status"], done["amount"], done["currency"], done["refunded_amount"]) == (
        "partially_refunded", "99.99", "USD", "10.00")
    assert [x["id"] for x in done["refunds"]] == [refund.json()["id"]]
    assert done["refunds"][0]["amount"] == "10.00" and page["data"][0]["refunds"] == []
    one = (await client.get(f"{CUSTOMERS}/{cus}/payments", headers=shop.auth(),
                            params={"limit": 1})).json()
    assert one["has_more"] and one["next_cursor"] == pending
    rest = (await client.get(f"{CUSTOMERS}/{cus}/payments", headers=shop.auth(),
                             params={"starting_after": pending})).json()
    assert [p["transaction_id"] for p in rest["data"]] == [txn]


async def test_forgetting_erases_the_pii_and_keeps_the_books(client: httpx.AsyncClient,
                                                              ctx: Any) -> None:
    shop = await create_merchant(ctx)
    txn = await paid(client, shop, customer_name="Nasrin Akter",
                     customer_email="nasrin@example.com", customer_phone="01512345678")
    assert (await client.post("/api/v1/refunds", headers=shop.auth(), json={
        "transaction_id": txn, "amount": "5.00"})).status_code == 201
    other = await intent(client, shop.auth(), customer_email="keep@example.com",
                         customer_name="Keep Me")
    cus = await customer_of(ctx, txn)
    await client.patch(f"{CUSTOMERS}/{cus}", headers=shop.auth(),
                       json={"metadata": {"nid": "1990123456789"}})
    before = (await client.get(f"{INTENTS}/{txn}", headers=shop.auth())).json()

    r = await client.post(f"{CUSTOMERS}/{cus}/forget", headers=shop.auth())
    assert r.status_code == 200, r.text
    gone = r.json()
    assert (gone["name"], gone["email"], gone["phone"], gone["metadata"]) == (
        None, None, None, {})
    assert gone["forgotten"] is True and gone["forgotten_at"] is not None
    after = (await client.get(f"{INTENTS}/{txn}", headers=shop.auth())).json()
    assert after["customer"] == {"name": "", "email": "", "phone": None}
    assert {k: v for k, v in after.items() if k != "customer"} == {
        k: v for k, v in before.items() if k != "customer"}
    kept = (await client.get(f"{INTENTS}/{other}", headers=shop.auth())).json()
    assert (kept["customer"]["name"], kept["customer"]["email"]) == ("Keep Me",
                                                                     "keep@example.com")
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT * FROM customers WHERE id = :id"), {"id": cus})).mappings().one()
        intent_row = (await conn.execute(text(
            "SELECT * FROM payment_intents WHERE id = :id"), {"id": txn})).mappings().one()
    dumped = repr(dict(rows)) + repr(dict(intent_row))
    for plain in ("Nasrin", "nasrin", "1512345678", "1990123456789"):
        assert plain not in dumped, plain
    assert rows["email_digest"] is None and rows["phone_digest"] is None
    async with ctx.sessions() as s:
        report = await operator_verify(s, merchant_id=shop.id, mode="test")
        assert report.ok, report.as_dict()
        [audit] = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "customer.forgotten", AuditEntry.object_id == cus)))
    assert audit.changes == {"payments_cleaned": 1}
    assert "nasrin" not in repr(audit.changes).lower()

    # Forgetting again changes nothing (and writes no second audit row); no change after.
    assert (await client.post(f"{CUSTOMERS}/{cus}/forget", headers=shop.auth())).json() == gone
    changed = await client.patch(f"{CUSTOMERS}/{cus}", headers=shop.auth(), json={"name": "X"})
    assert changed.status_code == 409 and changed.json()["code"] == "INVALID_STATE"
    async with ctx.sessions() as s:
        audits = await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "customer.forgotten", AuditEntry.object_id == cus))
    assert audits == 1
    # Not found by its old e-mail; a new payment with it makes a new customer.
    found = await client.get(CUSTOMERS, headers=shop.auth(),
                             params={"email": "nasrin@example.com"})
    assert found.json()["data"] == []
    new = await intent(client, shop.auth(), customer_email="nasrin@example.com")
    assert await customer_of(ctx, new) not in (None, cus)
    still = (await client.get(f"{CUSTOMERS}/{cus}/payments", headers=shop.auth())).json()
    assert [p["transaction_id"] for p in still["data"]] == [txn]


async def test_dialect_keys_keep_their_404(client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, shop.slug)
        key = await merchants.create_api_key(s, merchant=m, mode="test", dialect="ownpay")
    headers = {"Authorization": f"Bearer {key.api_key}"}
    made = (await client.post(CUSTOMERS, headers=shop.auth(), json={
        "email": "a@example.com"})).json()
    for method, path in (("GET", CUSTOMERS), ("POST", CUSTOMERS),
                         ("GET", f"{CUSTOMERS}/{made['id']}"),
                         ("PATCH", f"{CUSTOMERS}/{made['id']}"),
                         ("GET", f"{CUSTOMERS}/{made['id']}/payments"),
                         ("POST", f"{CUSTOMERS}/{made['id']}/forget")):
        r = await client.request(method, path, headers=headers,
                                 json={"name": "X"} if method != "GET" else None)
        assert r.status_code == 404 and r.json()["success"] is False, (method, path, r.text)
        assert r.json()["errors"][0]["code"] == "CUSTOMERS_NOT_AVAILABLE", r.text
    mine = await client.get(f"{CUSTOMERS}/{made['id']}", headers=shop.auth())
    assert mine.json()["forgotten"] is False and mine.json()["name"] is None
    assert len(await customers_of(ctx, shop.id)) == 1


async def test_forgetting_reaches_metadata_submissions_events_and_webhook_bodies(
        client: httpx.AsyncClient, ctx: Any) -> None:
    """The customer's details travel further than the payment's customer columns: the
    merchant's metadata, the wallet number of a manual submission, the stored events and
    the webhook bodies made from them. Forgetting reaches every copy and nothing else."""
    from ownpay.outbox.models import OutboxEvent
    from ownpay.webhooks.delivery.fanout import dispatch_events
    from ownpay.webhooks.models import WebhookDelivery
    from tests.support.checkout import checkout, new_intent

    shop = await create_merchant(ctx)
    made = await client.post("/api/v1/webhook-endpoints", headers=shop.auth(),
                             json={"url": "https://hooks.example/ownpay"})
    assert made.status_code == 201, made.text
    txn = await new_intent(client, shop, gateway="manual", amount="40.00",
                           customer_name="Rafiq Islam", customer_email="rafiq@example.com",
                           customer_phone="01812345678", order_id="ORD-77",
                           metadata={"contact": "RAFIQ@Example.com", "ship_to":
                                     "Rafiq Islam, Road 5", "note": "gift", "qty": 3})
    r = await checkout(client, txn, sender_account="+880 1812-345678", provider_txn_id="TXR77")
    assert r.status_code == 303, r.text
    r = await client.post(f"{INTENTS}/{txn}/approve", headers=shop.auth())
    assert r.json()["status"] == "completed", r.text
    await dispatch_events(ctx)
    cus = await customer_of(ctx, txn)

    async def copies() -> str:
        async with ctx.sessions() as s:
            payment = await s.get(PaymentIntent, txn)
            assert payment is not None
            events = list(await s.scalars(select(OutboxEvent.payload).where(
                OutboxEvent.payment_id == txn)))
            bodies = list(await s.scalars(select(WebhookDelivery.body).where(
                WebhookDelivery.payment_id == txn)))
        assert events and bodies
        return repr((payment.metadata_, payment.submission, events,
                     [b.decode() for b in bodies]))

    before = await copies()
    assert "rafiq" in before.lower() and "1812-345678" in before
    r = await client.post(f"{CUSTOMERS}/{cus}/forget", headers=shop.auth())
    assert r.status_code == 200, r.text
    after = await copies()
    for plain in ("rafiq", "Rafiq", "1812345678", "1812-345678"):
        assert plain not in after, plain
    # What is not the customer's stays: amounts, references, the merchant's other metadata.
    for kept in ("ORD-77", "TXR77", "gift", txn, "[forgotten]"):
        assert kept in after, kept
    got = (await client.get(f"{INTENTS}/{txn}", headers=shop.auth())).json()
    assert got["metadata"] == {"contact": "[forgotten]", "ship_to": "[forgotten]",
                               "note": "gift", "qty": 3}
    assert got["amount"] == 40 and got["status"] == "completed"
    async with ctx.sessions() as s:
        report = await operator_verify(s, merchant_id=shop.id, mode="test")
    assert report.ok, report.as_dict()
