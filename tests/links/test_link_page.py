"""The public page of a payment link, ``/pay/{slug}``, in process: the form, every problem
shown at once (nothing created), a payment created through the API's service (link id,
field answers in metadata) and paid on the normal checkout with ``link.paid`` besides
``payment.completed``, one payment per submission, closed links, CSRF, and a cap that holds
when payers arrive at the same moment (PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from ownpay.db import utcnow
from ownpay.links.models import PaymentLink
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent
from tests.support.factories import create_merchant

pytestmark = pytest.mark.api
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission" value="([^"]+)"')


async def make_link(client: httpx.AsyncClient, shop: Any, **terms: Any) -> dict[str, Any]:
    body = {"title": "Eid gift box", "currency": "USD", "amount": "25.00", **terms}
    r = await client.post("/api/v1/payment-links", headers=shop.auth(), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def form_of(client: httpx.AsyncClient, slug: str) -> dict[str, str]:
    page = await client.get(f"/pay/{slug}")
    assert page.status_code == 200, page.text
    token, submission = TOKEN.search(page.text), SUBMISSION.search(page.text)
    assert token and submission
    return {"csrf_token": token.group(1), "submission": submission.group(1)}


CUSTOMER = {"customer_name": "Rahim Uddin", "customer_email": "rahim@example.com"}


async def payments_of(ctx: Any, link_id: str) -> list[PaymentIntent]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(PaymentIntent).where(
            PaymentIntent.link_id == link_id).order_by(PaymentIntent.created_at)))


async def test_a_customer_fills_the_form_pays_and_the_merchant_hears_link_paid(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    link = await make_link(client, shop, gateways=["sandbox"], fields=[
        {"name": "size", "label": "Box size", "type": "select", "required": True,
         "options": ["Small", "Large"]},
        {"name": "guests", "label": "Guests", "type": "number"}])
    page = await client.get(f"/pay/{link['slug']}")
    assert page.status_code == 200
    for text in ("Eid gift box", "$25.00", "Box size", "Large", "Your name"):
        assert text in page.text, text
    assert "default-src" in page.headers["content-security-policy"]

    fields = await form_of(client, link["slug"])
    refused = await client.post(f"/pay/{link['slug']}", data={
        **fields, "customer_email": "not-an-email", "guests": "many"})
    assert refused.status_code == 400
    for text in ("Box size: please fill this in.", "Guests: enter a number",
                 "The customer name field is required.", "valid email"):
        assert text in refused.text, text
    assert await payments_of(ctx, link["id"]) == []

    sent = await client.post(f"/pay/{link['slug']}", data={
        **fields, **CUSTOMER, "size": "Large", "guests": "12"})
    assert sent.status_code == 303, sent.text
    checkout = sent.headers["location"]
    assert re.fullmatch(r".*/checkout/txn_[0-9a-f]{16}", checkout)
    [payment] = await payments_of(ctx, link["id"])
    assert (payment.amount_minor, payment.currency, payment.gateway) == (2500, "USD", "sandbox")
    assert payment.metadata_ == {"payment_link": link["id"], "size": "Large", "guests": "12"}
    assert payment.description == "Eid gift box"
    assert payment.order_id.startswith(link["slug"] + "-")

    # The customer pays on the normal checkout; the merchant gets both events.
    txn = payment.id
    pay_page = await client.get(f"/checkout/{txn}")
    token = TOKEN.search(pay_page.text)
    assert token
    paid = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1),
                                                           "outcome": "succeed"})
    assert paid.status_code == 303
    async with ctx.sessions() as s:
        events = {e.type: e.payload for e in await s.scalars(select(OutboxEvent).where(
            OutboxEvent.payment_id == txn))}
    assert {"payment.completed", "link.paid"} <= set(events)
    assert events["link.paid"]["link"] == {"id": link["id"], "slug": link["slug"],
                                           "title": "Eid gift box"}
    assert events["link.paid"]["amount"] == "25.00"
    got = (await client.get(f"/api/v1/payment-links/{link['id']}", headers=shop.auth())).json()
    assert got["paid_count"] == 1

    # Back from the checkout: the thank-you page says what the database says.
    thanks = await client.get(f"/pay/{link['slug']}/thanks", params={
        "transaction_id": txn, "status": "completed"})
    assert thanks.status_code == 200 and "Thank you" in thanks.text and txn in thanks.text
    other = await client.get(f"/pay/{link['slug']}/thanks", params={
        "transaction_id": "txn_0000000000000000", "status": "completed"})
    assert "Thank you" not in other.text and "no completed payment" in other.text


async def test_one_submission_makes_one_payment(client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    link = await make_link(client, shop, gateways=["sandbox"])
    fields = await form_of(client, link["slug"])
    first = await client.post(f"/pay/{link['slug']}", data={**fields, **CUSTOMER})
    again = await client.post(f"/pay/{link['slug']}", data={**fields, **CUSTOMER})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(await payments_of(ctx, link["id"])) == 1
    changed = await client.post(f"/pay/{link['slug']}", data={
        **fields, **CUSTOMER, "customer_email": "other@example.com"})
    assert changed.status_code == 409 and "already sent" in changed.text
    fresh = await form_of(client, link["slug"])
    assert fresh["submission"] != fields["submission"]


async def test_the_customers_own_amount_stays_within_the_links_range(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    link = await make_link(client, shop, amount=None, min_amount="10", max_amount="1000")
    page = await client.get(f"/pay/{link['slug']}")
    assert "Amount (USD)" in page.text and "From $10.00 to $1,000.00." in page.text
    for amount in ("5", "1000.01", "12.345", "abc", ""):
        fields = await form_of(client, link["slug"])
        r = await client.post(f"/pay/{link['slug']}", data={
            **fields, **CUSTOMER, "amount": amount, "gateway": "sandbox"})
        assert r.status_code == 400, amount
    assert await payments_of(ctx, link["id"]) == []
    fields = await form_of(client, link["slug"])
    ok = await client.post(f"/pay/{link['slug']}", data={
        **fields, **CUSTOMER, "amount": "1,000.00", "gateway": "sandbox"})
    assert ok.status_code == 303, ok.text
    [payment] = await payments_of(ctx, link["id"])
    assert payment.amount_minor == 100000


async def test_a_closed_link_says_why_and_takes_nothing(client: httpx.AsyncClient,
                                                         ctx: Any) -> None:
    shop = await create_merchant(ctx)
    off = await make_link(client, shop, active=False)
    capped = await make_link(client, shop, max_uses=1, gateways=["sandbox"])
    page = await client.get(f"/pay/{off['slug']}")
    assert page.status_code == 410 and "turned off" in page.text
    assert (await client.get("/pay/no-such-link-here")).status_code == 404
    for slug in ("UPPER", "a" * 80, "x"):
        assert (await client.get(f"/pay/{slug}")).status_code == 404, slug
    assert (await client.get("/pay/%00")).status_code == 400  # NUL: refused before routing

    fields = await form_of(client, capped["slug"])
    assert (await client.post(f"/pay/{capped['slug']}", data={
        **fields, **CUSTOMER})).status_code == 303
    full = await client.get(f"/pay/{capped['slug']}")
    assert full.status_code == 410 and "limit of payments" in full.text
    late = await client.post(f"/pay/{capped['slug']}", data={
        **fields, **CUSTOMER, "submission": "x" * 30})
    assert late.status_code == 410
    assert len(await payments_of(ctx, capped["id"])) == 1

    ending = await make_link(client, shop, gateways=["sandbox"])
    fields = await form_of(client, ending["slug"])
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentLink).where(PaymentLink.id == ending["id"]).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    assert "has expired" in (await client.get(f"/pay/{ending['slug']}")).text
    late = await client.post(f"/pay/{ending['slug']}", data={**fields, **CUSTOMER})
    assert late.status_code == 410 and await payments_of(ctx, ending["id"]) == []


async def test_a_form_without_its_csrf_token_is_refused(client: httpx.AsyncClient,
                                                        ctx: Any) -> None:
    shop = await create_merchant(ctx)
    link = await make_link(client, shop, gateways=["sandbox"])
    fields = await form_of(client, link["slug"])
    for token in ("", "forged", fields["csrf_token"][:-2] + "00"):
        r = await client.post(f"/pay/{link['slug']}", data={
            **fields, **CUSTOMER, "csrf_token": token})
        assert r.status_code == 403 and "expired" in r.text
    other = await make_link(client, shop, gateways=["sandbox"])  # a token is one link's
    r = await client.post(f"/pay/{other['slug']}", data={**fields, **CUSTOMER})
    assert r.status_code == 403
    assert await payments_of(ctx, link["id"]) == []


async def test_the_cap_holds_when_payers_arrive_at_once(backend: str,
                                                        client: httpx.AsyncClient,
                                                        ctx: Any) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    shop = await create_merchant(ctx)
    link = await make_link(client, shop, max_uses=3, gateways=["sandbox"])
    forms = [await form_of(client, link["slug"]) for _ in range(8)]
    answers = await asyncio.gather(*[client.post(f"/pay/{link['slug']}", data={
        **f, **CUSTOMER}) for f in forms])
    codes = [r.status_code for r in answers]
    # Refused inside the creating transaction (409) or, once three are in, before it (410).
    assert codes.count(303) == 3 and set(codes) - {303} <= {409, 410}, codes
    assert all("limit of payments" in r.text for r in answers if r.status_code != 303)
    assert len(await payments_of(ctx, link["id"])) == 3


async def test_starting_payments_is_limited_per_client(client: httpx.AsyncClient, ctx: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Each payment started holds a place under the cap until it expires: one client may
    not start many (``link_payments_ip``)."""
    from limits import parse_many

    monkeypatch.setitem(ctx.rate_limiter.rules, "link_payments_ip", parse_many("2/hour"))
    shop = await create_merchant(ctx)
    link = await make_link(client, shop, gateways=["sandbox"])
    codes = []
    for _ in range(3):
        fields = await form_of(client, link["slug"])
        r = await client.post(f"/pay/{link['slug']}", data={**fields, **CUSTOMER})
        codes.append(r.status_code)
    assert codes == [303, 303, 429]
    assert "Retry-After" in r.headers and "Too many payments" in r.text
    assert len(await payments_of(ctx, link["id"])) == 2
