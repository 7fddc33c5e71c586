"""The public page of an invoice, ``/invoice/{token}``, in process: a draft is not shown,
an open one has its lines, totals and a Pay button; paying it creates the payment for what
is left through the API's service (once per submission, CSRF-checked), the customer pays on
the normal checkout with the sandbox gateway, and the invoice is paid with ``invoice.paid``
exactly once; a void one takes nothing; the PDF has the Bangla line and the total."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ownpay.invoices.models import InvoiceStatusHistory
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent
from tests.support.factories import create_merchant

pytestmark = pytest.mark.api
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission" value="([^"]+)"')
BANGLA = "ইফতার বক্স"
BODY: dict[str, Any] = {
    "currency": "USD", "customer_name": "Rahim Uddin", "customer_email": "rahim@example.com",
    "lines": [{"description": BANGLA, "quantity": "2", "unit_price": "12.50",
               "tax_rate": "5"}, {"description": "Delivery", "unit_price": "3.00"}],
    "due_date": "2099-01-31"}


async def open_invoice(client: httpx.AsyncClient, shop: Any, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/invoices", headers=shop.auth(), json={**BODY, **body})
    assert r.status_code == 201, r.text
    path = "/invoice/" + r.json()["url"].rsplit("/", 1)[1]
    assert (await client.get(path)).status_code == 404  # a draft was never sent
    r = await client.post(f"/api/v1/invoices/{r.json()['id']}/finalize", headers=shop.auth())
    assert r.status_code == 200, r.text
    return {**r.json(), "path": path}


async def form_of(client: httpx.AsyncClient, path: str) -> dict[str, str]:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    token, submission = TOKEN.search(page.text), SUBMISSION.search(page.text)
    assert token and submission, page.text
    return {"csrf_token": token.group(1), "submission": submission.group(1)}


async def payments_of(ctx: Any, invoice_id: str) -> list[PaymentIntent]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(PaymentIntent).where(
            PaymentIntent.invoice_id == invoice_id).order_by(PaymentIntent.created_at)))


async def pay_on_checkout(client: httpx.AsyncClient, url: str) -> None:
    """The customer picks the sandbox (the brand has several methods) and pays."""
    txn = url.rsplit("/", 1)[1]
    page = await client.get(url)
    token = TOKEN.search(page.text)
    assert token and 'data-testid="method-sandbox"' in page.text, page.text
    chosen = await client.post(f"/checkout/{txn}/method", data={
        "csrf_token": token.group(1), "gateway": "sandbox"})
    assert chosen.status_code == 303, chosen.text
    page = await client.get(url)
    token = TOKEN.search(page.text)
    assert token, page.text
    paid = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1),
                                                           "outcome": "succeed"})
    assert paid.status_code == 303, paid.text


async def test_a_customer_pays_an_invoice_and_the_merchant_hears_invoice_paid_once(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    inv = await open_invoice(client, shop)
    assert inv["total"] == "29.25"  # 25.00 + 1.25 tax + 3.00
    page = await client.get(inv["path"])
    assert page.status_code == 200
    for text in (inv["number"], BANGLA, "$29.25", "Pay $29.25", "31 January 2099",
                 "Rahim Uddin", "Download PDF"):
        assert text in page.text, text
    assert "default-src" in page.headers["content-security-policy"]

    fields = await form_of(client, inv["path"])
    no_csrf = await client.post(inv["path"] + "/pay", data={"submission": "x" * 32})
    assert no_csrf.status_code == 403 and await payments_of(ctx, inv["id"]) == []
    sent = await client.post(inv["path"] + "/pay", data=fields)
    assert sent.status_code == 303, sent.text
    again = await client.post(inv["path"] + "/pay", data=fields)  # a double click
    assert again.status_code == 303 and again.headers["location"] == sent.headers["location"]
    [payment] = await payments_of(ctx, inv["id"])
    assert (payment.amount_minor, payment.currency, payment.order_id) == (
        2925, "USD", inv["number"])
    assert payment.customer_email == "rahim@example.com"
    assert payment.metadata_ == {"invoice": inv["id"], "invoice_number": inv["number"]}
    assert payment.customer_id == inv["customer"]["id"]

    await pay_on_checkout(client, sent.headers["location"])
    got = (await client.get(f"/api/v1/invoices/{inv['id']}", headers=shop.auth())).json()
    assert (got["status"], got["amount_paid"], got["amount_due"]) == ("paid", "29.25", "0.00")
    assert got["payments"] == [{"transaction_id": payment.id, "status": "completed",
                                "amount": "29.25"}]
    async with ctx.sessions() as s:
        events = list(await s.scalars(select(OutboxEvent).where(
            OutboxEvent.type == "invoice.paid", OutboxEvent.merchant_id == shop.id)))
        history = list(await s.scalars(select(InvoiceStatusHistory).where(
            InvoiceStatusHistory.invoice_id == inv["id"]).order_by(InvoiceStatusHistory.id)))
    [event] = events
    assert event.payment_id == payment.id and event.merchant_id == shop.id
    assert event.payload["invoice"]["number"] == inv["number"]
    assert event.payload["invoice"]["status"] == "paid"
    assert event.payload["transaction_id"] == payment.id
    assert [(h.from_status, h.to_status, h.actor) for h in history] == [
        ("draft", "open", history[0].actor), ("open", "paid", f"payment:{payment.id}")]

    # Paid: the page says so and takes nothing more.
    paid_page = await client.get(inv["path"])
    assert "Paid." in paid_page.text and 'action="' + inv["path"] + '/pay"' not in paid_page.text
    late = await client.post(inv["path"] + "/pay", data=fields)
    assert late.status_code in (303, 403, 409)
    assert len(await payments_of(ctx, inv["id"])) == 1


async def test_a_void_invoice_takes_no_payment_and_another_brands_token_is_unknown(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    inv = await open_invoice(client, shop)
    fields = await form_of(client, inv["path"])
    r = await client.post(f"/api/v1/invoices/{inv['id']}/void", headers=shop.auth())
    assert r.status_code == 200
    page = await client.get(inv["path"])
    assert "voided" in page.text and "Pay $" not in page.text
    refused = await client.post(inv["path"] + "/pay", data=fields)
    assert refused.status_code == 409 and await payments_of(ctx, inv["id"]) == []
    for path in ("/invoice/" + "A" * 43, "/invoice/short", "/invoice/" + "A" * 43 + ".pdf"):
        assert (await client.get(path)).status_code == 404, path


async def test_the_pdf_has_the_bangla_line_and_the_total(client: httpx.AsyncClient,
                                                         ctx: Any) -> None:
    shop = await create_merchant(ctx)
    inv = await open_invoice(client, shop, notes="ধন্যবাদ — thank you")
    r = await client.get(inv["path"] + ".pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    for expected in (BANGLA, "29.25 USD", inv["number"], "ধন্যবাদ", "Total", "25.00 USD",
                     "Tax on lines", "1.25 USD", "Subtotal", "28.00 USD", "Rahim Uddin"):
        assert expected in text, (expected, text)
    assert "rahim@example.com" not in text  # whoever has the link reads it: no e-mail


async def test_two_payments_started_at_once_pay_it_once_and_invoice_paid_is_sent_once(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    inv = await open_invoice(client, shop)
    first, second = await form_of(client, inv["path"]), await form_of(client, inv["path"])
    a = await client.post(inv["path"] + "/pay", data=first)
    b = await client.post(inv["path"] + "/pay", data=second)  # another tab, before paying
    assert a.status_code == b.status_code == 303
    assert a.headers["location"] != b.headers["location"]
    await pay_on_checkout(client, a.headers["location"])
    # The invoice's number is both payments' order id: once one is paid, the other is
    # not taken (the checkout's "one order is paid once").
    txn = b.headers["location"].rsplit("/", 1)[1]
    page = await client.get(b.headers["location"])
    assert 'data-testid="method-sandbox"' not in page.text
    refused = await client.post(f"/checkout/{txn}/method", data={"gateway": "sandbox"})
    assert refused.status_code in (303, 403, 409)
    got = (await client.get(f"/api/v1/invoices/{inv['id']}", headers=shop.auth())).json()
    assert got["status"] == "paid" and got["amount_paid"] == "29.25"
    statuses = sorted(p["status"] for p in got["payments"])
    assert statuses[0] == "cancelled" and statuses[1] == "completed", statuses
    async with ctx.sessions() as s:
        events = list(await s.scalars(select(OutboxEvent).where(
            OutboxEvent.type == "invoice.paid", OutboxEvent.merchant_id == shop.id)))
    assert len(events) == 1


async def test_the_page_speaks_the_brands_checkout_language(client: httpx.AsyncClient,
                                                            ctx: Any) -> None:
    """A brand whose checkout language is Bangla shows its invoice in Bangla: the words,
    the amounts and the due date in Bengali digits; ``?lang=en`` switches to English."""
    shop = await create_merchant(ctx, checkout_language="bn")
    invoice = await open_invoice(client, shop)
    page = await client.get(invoice["path"])
    assert page.status_code == 200, page.text
    assert '<html lang="bn">' in page.text
    number = invoice["number"]
    assert f"ইনভয়েস {number}" in page.text and "উপমোট" in page.text
    assert "৩১ জানুয়ারী ২০৯৯" in page.text  # the due date
    assert "US$২৯.২৫" in page.text  # 2 × 12.50 + 5 % tax on them + 3.00
    assert "২ × US$১২.৫০" in page.text  # a line's quantity and unit price
    for english in ("Subtotal", "Due date", "Download PDF", "Invoice "):
        assert english not in page.text, english
    english = await client.get(invoice["path"], params={"lang": "en"})
    assert '<html lang="en">' in english.text and f"Invoice {number}" in english.text
    assert "31 January 2099" in english.text and "Subtotal" in english.text
