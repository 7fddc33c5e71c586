"""Refunds made at the provider reach OwnPay's books (Stripe through localstripe).

localstripe does not send ``charge.refunded`` itself, so these tests post the events Stripe
would send, signed with the merchant's endpoint secret, to our webhook route -- with bodies
that lie about the amounts, to show that only Stripe's refund list (re-fetched) counts."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.ledger import service as ledger
from ownpay.ledger import verify as ledger_verify
from ownpay.ledger.models import LedgerJournal
from ownpay.payments import expiry
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from ownpay.worker import expire_due, reconcile_processing
from tests.support.stripe import (
    CARD_OK,
    StandIn,
    StripeMerchant,
    api_intent,
    create_intent,
    event_body,
    history,
    open_checkout,
    outbox_events,
    provider_events,
    sign,
    stripe_merchant,
)


@pytest.fixture(scope="module", autouse=True)
def _drain_standin_webhooks() -> Iterator[None]:
    """localstripe sends each event 1 s after it happens, to whatever endpoints are set
    then: let this module's last events leave before another module configures them."""
    yield
    time.sleep(1.5)


@pytest.fixture(autouse=True)
async def _standin_up(standin: StandIn) -> AsyncIterator[None]:
    if not standin.running:
        standin.start()
    await standin.release_settlements()
    yield


async def _paid(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn,
    amount: Any = "99.99",
) -> tuple[StripeMerchant, str, str]:
    """A card payment completed through our checkout: (merchant, txn, PaymentIntent id)."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant, amount=amount)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert "status=completed" in r.headers["location"]
    return merchant, txn, pi


async def _dashboard_refund(standin: StandIn, pi: str, amount: int) -> str:
    """Someone refunds in Stripe's dashboard (no OwnPay metadata)."""
    r = await standin.api("POST", "/v1/refunds", data={"payment_intent": pi, "amount": amount})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _charge_refunded(pi: str, *, event_id: str | None = None) -> bytes:
    # Deliberately wrong amounts: the body decides nothing.
    return event_body("charge.refunded", {
        "id": "ch_" + secrets.token_hex(8), "object": "charge", "payment_intent": pi,
        "amount": 9999, "amount_refunded": 9999, "currency": "usd", "refunded": True,
        "metadata": {},
    }, event_id=event_id)


def _refund_event(kind: str, pi: str, refund_id: str) -> bytes:
    return event_body(kind, {
        "id": refund_id, "object": "refund", "payment_intent": pi, "amount": 1,
        "currency": "usd", "status": "succeeded", "metadata": {},
    })


async def _post(client: httpx.AsyncClient, merchant: StripeMerchant, body: bytes) -> httpx.Response:
    return await client.post(
        merchant.webhook_path(), content=body,
        headers={"Stripe-Signature": sign(body, merchant.webhook_secret),
                 "Content-Type": "application/json"},
    )


async def _refunds(ctx: AppContext, txn: str) -> list[Refund]:
    async with ctx.sessions() as s:
        return list(await s.scalars(
            select(Refund).where(Refund.payment_id == txn).order_by(Refund.created_at, Refund.id)
        ))


async def _refund_journals(ctx: AppContext, txn: str) -> int:
    async with ctx.sessions() as s:
        n = await s.scalar(select(func.count()).select_from(LedgerJournal).where(
            LedgerJournal.payment_id == txn, LedgerJournal.kind == ledger.REFUND))
    return int(n or 0)


async def _books_balance(ctx: AppContext, merchant: StripeMerchant) -> None:
    async with ctx.sessions() as s:
        report = await ledger_verify.operator_verify(s, merchant_id=merchant.keys.id, mode="test")
    assert report.ok, report.as_dict()


async def test_dashboard_refunds_are_booked_exactly_once(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await _paid(ctx, client, standin)
    first = await _dashboard_refund(standin, pi, 500)
    body = _charge_refunded(pi)
    r = await _post(client, merchant, body)
    assert r.status_code == 200 and r.json() == {"received": True}

    got = await api_intent(client, merchant, txn)
    assert got["status"] == "partially_refunded" and got["refunded_amount"] == 5
    [refund] = await _refunds(ctx, txn)
    assert (refund.status, refund.amount_minor, refund.provider_refund_id) == (
        "completed", 500, first)
    assert refund.created_by == "provider" and refund.currency == "USD"
    listed = await client.get("/api/v1/refunds", params={"transaction_id": txn},
                              headers=merchant.auth())
    assert [(x["id"], x["status"], x["amount"], x["provider_refund_id"])
            for x in listed.json()["data"]] == [(refund.id, "completed", 5, first)]
    assert (await history(ctx, txn))[-1] == ("completed", "partially_refunded", "provider")
    assert await outbox_events(ctx, txn) == ["payment.completed", "payment.partially_refunded"]
    assert await _refund_journals(ctx, txn) == 1
    [row] = await provider_events(ctx, merchant.keys.id)
    assert f"provider refund {first} of 5.00 USD booked as {refund.id} (completed)" in (
        row.outcome or "")

    # The same delivery again, and other events about the same refund: nothing more.
    again = await _post(client, merchant, body)
    assert again.json() == {"received": True, "duplicate": True}
    for kind in ("refund.created", "refund.updated", "charge.refund.updated"):
        assert (await _post(client, merchant, _refund_event(kind, pi, first))).status_code == 200
    assert len(await _refunds(ctx, txn)) == 1 and await _refund_journals(ctx, txn) == 1
    assert (await outbox_events(ctx, txn)).count("payment.partially_refunded") == 1

    # The rest, refunded in the dashboard as well: the payment is refunded in full.
    rest = await _dashboard_refund(standin, pi, 9499)
    assert (await _post(client, merchant, _charge_refunded(pi))).status_code == 200
    got = await api_intent(client, merchant, txn)
    assert got["status"] == "refunded" and got["refunded_amount"] == 99.99
    assert [(x.provider_refund_id, x.amount_minor) for x in await _refunds(ctx, txn)] == [
        (first, 500), (rest, 9499)]
    assert await outbox_events(ctx, txn) == [
        "payment.completed", "payment.partially_refunded", "payment.refunded"]
    await _books_balance(ctx, merchant)


async def test_a_refund_ownpay_sent_is_settled_not_booked_twice(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await _paid(ctx, client, standin)
    # Stripe is unreachable when we send the refund: its outcome is unknown here...
    standin.stop()
    try:
        r = await client.post("/api/v1/refunds", json={"transaction_id": txn, "amount": 10},
                              headers=merchant.auth())
    finally:
        standin.start()
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    ours = r.json()["id"]
    # ... but it did reach Stripe (the answer was lost), carrying our refund id.
    made = await standin.api("POST", "/v1/refunds", data={
        "payment_intent": pi, "amount": 1000, "metadata[refund_id]": ours,
        "metadata[transaction_id]": txn,
    })
    assert made.status_code == 200, made.text

    assert (await _post(client, merchant, _charge_refunded(pi))).status_code == 200
    [refund] = await _refunds(ctx, txn)
    assert (refund.id, refund.status, refund.provider_refund_id) == (
        ours, "completed", made.json()["id"])
    assert refund.created_by != "provider"
    got = await api_intent(client, merchant, txn)
    assert got["status"] == "partially_refunded" and got["refunded_amount"] == 10
    [row] = await provider_events(ctx, merchant.keys.id)
    assert f"refund {ours} completed" in (row.outcome or "")
    assert await _refund_journals(ctx, txn) == 1
    await _books_balance(ctx, merchant)

    # A refund sent and answered normally: the event finds nothing left to do.
    r = await client.post("/api/v1/refunds", json={"transaction_id": txn, "amount": 20},
                          headers=merchant.auth())
    assert r.json()["status"] == "completed"
    assert (await _post(client, merchant, _charge_refunded(pi))).status_code == 200
    assert len(await _refunds(ctx, txn)) == 2 and await _refund_journals(ctx, txn) == 2
    assert "nothing to book" in ((await provider_events(ctx, merchant.keys.id))[-1].outcome or "")
    await _books_balance(ctx, merchant)


async def test_concurrent_events_about_one_dashboard_refund_book_it_once(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await _paid(ctx, client, standin)
    made = await _dashboard_refund(standin, pi, 2500)
    same = _charge_refunded(pi)
    bodies = [same, same, _charge_refunded(pi), _refund_event("refund.created", pi, made),
              _refund_event("charge.refund.updated", pi, made), _charge_refunded(pi)]
    answers = await asyncio.gather(*[_post(client, merchant, b) for b in bodies])
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]

    [refund] = await _refunds(ctx, txn)
    assert (refund.amount_minor, refund.provider_refund_id, refund.status) == (
        2500, made, "completed")
    assert await _refund_journals(ctx, txn) == 1
    assert await outbox_events(ctx, txn) == ["payment.completed", "payment.partially_refunded"]
    got = await api_intent(client, merchant, txn)
    assert got["status"] == "partially_refunded" and got["refunded_amount"] == 25
    await _books_balance(ctx, merchant)


async def test_refund_before_the_payment_is_settled_here_waits_for_the_retry(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """The refund event overtakes the payment's own: answered 503 and left unprocessed,
    Stripe's retry books it once the payment is completed here."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, _ = await open_checkout(client, txn)
    await standin.hold_settlements()
    assert (await standin.pay_by_sepa_debit(pi))["status"] == "processing"
    await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert (await api_intent(client, merchant, txn))["status"] == "processing"
    made = await _dashboard_refund(standin, pi, 1000)

    body = _charge_refunded(pi)
    r = await _post(client, merchant, body)
    assert r.status_code == 503
    [row] = await provider_events(ctx, merchant.keys.id)
    assert row.processed_at is None
    assert await _refunds(ctx, txn) == []

    await standin.release_settlements()
    for _ in range(300):
        if (await standin.payment_intent(pi))["status"] == "succeeded":
            break
        await asyncio.sleep(0.1)
    await reconcile_processing(ctx, min_age=0)
    assert (await api_intent(client, merchant, txn))["status"] == "completed"

    r = await _post(client, merchant, body)  # Stripe's retry of the same event
    assert r.status_code == 200 and r.json() == {"received": True}
    [refund] = await _refunds(ctx, txn)
    assert (refund.provider_refund_id, refund.amount_minor) == (made, 1000)
    assert (await api_intent(client, merchant, txn))["status"] == "partially_refunded"
    await _books_balance(ctx, merchant)


async def test_stripe_outage_defers_the_refund_event(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await _paid(ctx, client, standin)
    await _dashboard_refund(standin, pi, 9999)
    body = _charge_refunded(pi)
    standin.stop()
    try:
        assert (await _post(client, merchant, body)).status_code == 503
    finally:
        standin.start()
    assert (await api_intent(client, merchant, txn))["status"] == "completed"
    assert (await _post(client, merchant, body)).status_code == 200
    assert (await api_intent(client, merchant, txn))["status"] == "refunded"
    assert len(await _refunds(ctx, txn)) == 1
    await _books_balance(ctx, merchant)


async def test_refund_of_a_late_payment_never_booked_here_books_nothing(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """The operator's way out of a late payment: refund it in Stripe's dashboard.  The
    event is recorded, but there is nothing to take out of books that never held it."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn).values(
            expires_at=utcnow() - expiry.EXPIRY_UNCONFIRMED_AFTER - timedelta(minutes=1)))
    standin.stop()
    try:
        await expire_due(ctx)  # Stripe could not be asked for a day: expired, flagged
    finally:
        standin.start()
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    await _dashboard_refund(standin, pi, 9999)

    assert (await _post(client, merchant, _charge_refunded(pi))).status_code == 200
    [row] = await provider_events(ctx, merchant.keys.id)
    assert "the payment is expired here (never booked as paid), nothing to book" in (
        row.outcome or "")
    assert await _refunds(ctx, txn) == [] and await _refund_journals(ctx, txn) == 0
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    await _books_balance(ctx, merchant)
