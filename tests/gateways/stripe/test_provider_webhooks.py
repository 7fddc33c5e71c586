"""Provider webhooks (``POST /gateways/stripe/webhooks/{merchant}/{mode}``) and the worker's
reconciliation, against localstripe.  Webhooks that localstripe signs and sends are received
by a real server process (``live_server``, same database as ``ctx``)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.payments.expiry import EXPIRY_UNCONFIRMED_AFTER
from ownpay.payments.models import PaymentIntent
from ownpay.worker import reconcile_processing
from tests.support.processes import ServerProcess
from tests.support.receivers import Receiver
from tests.support.records import until
from tests.support.stripe import (
    CARD_DECLINED,
    CARD_OK,
    StandIn,
    api_intent,
    create_intent,
    event_body,
    history,
    open_checkout,
    outbox_events,
    provider_event_count,
    provider_events,
    sign,
    stripe_merchant,
)


async def test_processing_then_completed_by_signed_webhook(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn, live_server: ServerProcess
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, _ = await open_checkout(client, txn)
    await standin.send_webhooks_to(
        (live_server.url + merchant.webhook_path(), merchant.webhook_secret)
    )

    await standin.hold_settlements()
    assert (await standin.pay_by_sepa_debit(pi))["status"] == "processing"
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    page = await client.get(f"/checkout/{txn}")
    assert "Payment processing" in page.text
    assert (await api_intent(client, merchant, txn))["status"] == "processing"

    # The bank settles; Stripe signs and sends payment_intent.succeeded to our server.
    await standin.release_settlements()

    async def completed() -> bool:
        return (await api_intent(client, merchant, txn))["status"] == "completed"

    await until(completed)
    assert await history(ctx, txn) == [
        ("pending", "processing", "gateway:stripe"),
        ("processing", "completed", "gateway:stripe webhook"),
    ]
    assert await outbox_events(ctx, txn) == ["payment.processing", "payment.completed"]
    rows = await provider_events(ctx, merchant.keys.id)
    assert [(r.event_type, r.payment_id) for r in rows] == [("payment_intent.succeeded", txn)]
    assert rows[0].processed_at is not None and "processing -> completed" in (rows[0].outcome or "")


async def test_closed_browser_then_replayed_webhook_completes_once(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn, live_server: ServerProcess
) -> None:
    """The customer pays and closes the tab: the webhook completes the payment; the very
    same delivery replayed later is answered 200 and does nothing."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    receiver = Receiver()
    try:
        await standin.send_webhooks_to(
            (live_server.url + merchant.webhook_path(), merchant.webhook_secret),
            (receiver.set("/copy"), merchant.webhook_secret),
        )
        assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"

        async def completed() -> bool:
            return (await api_intent(client, merchant, txn))["status"] == "completed"

        await until(completed)
        copies = await receiver.wait_for(lambda got: len(got) >= 1)
    finally:
        receiver.close()
    original = copies[0]
    assert json.loads(original.body)["type"] == "payment_intent.succeeded"
    assert await history(ctx, txn) == [("pending", "completed", "gateway:stripe webhook")]

    for _ in range(2):
        replay = await client.post(
            merchant.webhook_path(),
            content=original.body,
            headers={
                "Stripe-Signature": original.headers["stripe-signature"],
                "Content-Type": "application/json",
            },
        )
        assert replay.status_code == 200 and replay.json() == {"received": True, "duplicate": True}
    assert len(await history(ctx, txn)) == 1
    assert await outbox_events(ctx, txn) == ["payment.completed"]
    assert len(await provider_events(ctx, merchant.keys.id)) == 1


async def test_forged_webhooks_are_rejected_and_change_nothing(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, _ = await open_checkout(client, txn)
    body = event_body(
        "payment_intent.succeeded",
        {
            "id": pi,
            "object": "payment_intent",
            "status": "succeeded",
            "amount": 9999,
            "currency": "usd",
            "metadata": {"transaction_id": txn},
        },
    )
    before = await provider_event_count(ctx)
    forged = [
        {"Stripe-Signature": sign(body, "whsec_" + "0" * 32)},  # someone else's secret
        {
            "Stripe-Signature": sign(
                body, merchant.webhook_secret, timestamp=int(time.time()) - 3600
            )
        },
        {  # dated 10 minutes ahead: a held signature must not be replayable later
            "Stripe-Signature": sign(
                body, merchant.webhook_secret, timestamp=int(time.time()) + 600
            )
        },
        {"Stripe-Signature": "t=1,v1=deadbeef"},
        {"Stripe-Signature": "garbage"},
        {},
    ]
    for headers in forged:
        r = await client.post(merchant.webhook_path(), content=body, headers=headers)
        assert r.status_code == 400, (headers, r.text)
        assert r.json()["code"] == "INVALID_SIGNATURE"
    tampered = body.replace(b'"amount": 9999', b'"amount": 1')
    r = await client.post(
        merchant.webhook_path(),
        content=tampered,
        headers={"Stripe-Signature": sign(body, merchant.webhook_secret)},
    )
    assert r.status_code == 400
    assert await provider_event_count(ctx) == before
    assert (await api_intent(client, merchant, txn))["status"] == "pending"
    assert await history(ctx, txn) == []


async def test_signed_event_is_not_trusted_without_stripes_word(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """Even correctly signed, an event body decides nothing: we ask Stripe, which says the
    PaymentIntent is still unpaid."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, _ = await open_checkout(client, txn)
    body = event_body(
        "payment_intent.succeeded",
        {
            "id": pi,
            "object": "payment_intent",
            "status": "succeeded",
            "amount": 9999,
            "currency": "usd",
            "metadata": {"transaction_id": txn},
        },
    )
    r = await client.post(
        merchant.webhook_path(),
        content=body,
        headers={"Stripe-Signature": sign(body, merchant.webhook_secret)},
    )
    assert r.status_code == 200 and r.json() == {"received": True}
    assert (await api_intent(client, merchant, txn))["status"] == "pending"
    [row] = await provider_events(ctx, merchant.keys.id)
    assert row.payment_id == txn and "no change (pending)" in (row.outcome or "")


async def test_declined_payment_event_keeps_payment_payable(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn, live_server: ServerProcess
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    await standin.send_webhooks_to(
        (live_server.url + merchant.webhook_path(), merchant.webhook_secret)
    )
    assert (await standin.confirm_card(secret, CARD_DECLINED)).status_code == 402

    async def recorded() -> bool:
        rows = await provider_events(ctx, merchant.keys.id)
        return bool(rows) and rows[0].processed_at is not None

    await until(recorded)
    [row] = await provider_events(ctx, merchant.keys.id)
    assert row.event_type == "payment_intent.payment_failed"
    assert "no change (pending)" in (row.outcome or "") and "card_declined" in (row.outcome or "")
    assert (await api_intent(client, merchant, txn))["status"] == "pending"


async def test_refund_event_reaches_the_refunds_service(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    charge = (await standin.payment_intent(pi))["latest_charge"]
    refund = await standin.api("POST", "/v1/refunds", data={"payment_intent": pi, "amount": "500"})
    assert refund.status_code == 200
    # localstripe does not emit charge.refunded; Stripe would send this (signed) event.
    body = event_body(
        "charge.refunded",
        {
            "id": charge["id"],
            "object": "charge",
            "payment_intent": pi,
            "amount": 9999,
            "amount_refunded": 500,
            "currency": "usd",
            "refunded": False,
            "metadata": {},
        },
    )
    r = await client.post(
        merchant.webhook_path(),
        content=body,
        headers={"Stripe-Signature": sign(body, merchant.webhook_secret)},
    )
    assert r.status_code == 200
    [row] = await provider_events(ctx, merchant.keys.id)
    assert (row.event_type, row.payment_id) == ("charge.refunded", txn)
    # Made outside OwnPay: booked (tests/refunds/test_provider_refunds.py has the details).
    assert f"provider refund {refund.json()['id']} of 5.00 USD booked as rf_" in (
        row.outcome or "")
    assert (await api_intent(client, merchant, txn))["status"] == "partially_refunded"


async def test_unrelated_and_foreign_events_touch_nothing(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    owner = await stripe_merchant(ctx, standin)
    other = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, owner)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    paid = {"id": pi, "object": "payment_intent", "metadata": {"transaction_id": txn}}

    # Another merchant's endpoint, correctly signed with *its* secret: not its payment.
    body = event_body("payment_intent.succeeded", paid)
    r = await client.post(
        other.webhook_path(),
        content=body,
        headers={"Stripe-Signature": sign(body, other.webhook_secret)},
    )
    assert r.status_code == 200
    [row] = await provider_events(ctx, other.keys.id)
    assert row.payment_id is None and "no matching payment" in (row.outcome or "")
    assert (await api_intent(client, owner, txn))["status"] == "pending"

    # Event types we do not act on are recorded and ignored; so are live events on test.
    for event_type, live in (("payment_intent.created", False), ("payment_intent.succeeded", True)):
        body = event_body(event_type, paid, livemode=live)
        r = await client.post(
            owner.webhook_path(),
            content=body,
            headers={"Stripe-Signature": sign(body, owner.webhook_secret)},
        )
        assert r.status_code == 200
    rows = await provider_events(ctx, owner.keys.id)
    assert [r.outcome for r in rows] == [
        "ignored payment_intent.created",
        "ignored payment_intent.succeeded (livemode does not match this account's mode)",
    ]
    assert (await api_intent(client, owner, txn))["status"] == "pending"


async def test_unknown_endpoints_reveal_nothing(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    body = event_body("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    headers = {"Stripe-Signature": sign(body, merchant.webhook_secret)}
    for path in (
        "/gateways/stripe/webhooks/no-such-merchant/test",
        merchant.webhook_path("live"),  # no live Stripe account
        merchant.webhook_path("prod"),
        f"/gateways/sandbox/webhooks/{merchant.slug}/test",  # no webhooks there
        f"/gateways/nope/webhooks/{merchant.slug}/test",
    ):
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code == 404, path
        assert r.json() == {"error": True, "message": "Not found.", "code": "NOT_FOUND"}
    big = b"{" + b" " * (300 * 1024) + b"}"
    r = await client.post(merchant.webhook_path(), content=big, headers=headers)
    assert r.status_code == 413


async def test_stripe_outage_defers_the_event_for_a_retry(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    body = event_body(
        "payment_intent.succeeded",
        {"id": pi, "object": "payment_intent", "metadata": {"transaction_id": txn}},
    )
    headers = {"Stripe-Signature": sign(body, merchant.webhook_secret)}
    standin.stop()
    try:
        r = await client.post(merchant.webhook_path(), content=body, headers=headers)
        assert r.status_code == 503  # Stripe retries later
        assert (await api_intent(client, merchant, txn))["status"] == "pending"
    finally:
        standin.start()
    # Stripe's retry of the same event is processed, not dismissed as a duplicate.
    r = await client.post(merchant.webhook_path(), content=body, headers=headers)
    assert r.status_code == 200 and r.json() == {"received": True}
    assert (await api_intent(client, merchant, txn))["status"] == "completed"
    [row] = await provider_events(ctx, merchant.keys.id)
    assert row.processed_at is not None


async def test_worker_reconciles_a_processing_payment(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, _ = await open_checkout(client, txn)
    await standin.hold_settlements()
    assert (await standin.pay_by_sepa_debit(pi))["status"] == "processing"
    await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert (await api_intent(client, merchant, txn))["status"] == "processing"

    await reconcile_processing(ctx, min_age=0)  # Stripe still says processing
    assert (await api_intent(client, merchant, txn))["status"] == "processing"

    await standin.release_settlements()

    async def settled_at_stripe() -> bool:
        return (await standin.payment_intent(pi))["status"] == "succeeded"

    await until(settled_at_stripe)
    assert await reconcile_processing(ctx, min_age=0) >= 1
    assert (await api_intent(client, merchant, txn))["status"] == "completed"
    assert (await history(ctx, txn))[-1] == ("processing", "completed", "worker:reconcile")
    assert await outbox_events(ctx, txn) == ["payment.processing", "payment.completed"]


def test_webhook_route_is_not_in_the_merchant_api_schema(app: Any) -> None:
    assert not any("/gateways/" in path for path in app.openapi()["paths"])


async def test_paid_after_the_link_expired_is_flagged_for_an_operator(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """The customer finishes at Stripe after our link expired: the payment cannot complete
    any more (expired is final), so the event row says so loudly instead of passing quietly.

    Expiry cancels the PaymentIntent first (tests/gateways/stripe/test_expiry.py), so this happens
    only when Stripe could not be asked for EXPIRY_UNCONFIRMED_AFTER and the link expired
    unconfirmed."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    async with ctx.sessions() as s, s.begin():
        await s.execute(
            update(PaymentIntent)
            .where(PaymentIntent.id == txn)
            .values(expires_at=utcnow() - EXPIRY_UNCONFIRMED_AFTER - timedelta(seconds=1))
        )
    standin.stop()
    try:
        assert "Payment link expired" in (await client.get(f"/checkout/{txn}")).text
    finally:
        standin.start()
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    body = event_body(
        "payment_intent.succeeded",
        {"id": pi, "object": "payment_intent", "metadata": {"transaction_id": txn}},
    )
    r = await client.post(
        merchant.webhook_path(),
        content=body,
        headers={"Stripe-Signature": sign(body, merchant.webhook_secret)},
    )
    assert r.status_code == 200
    [row] = await provider_events(ctx, merchant.keys.id)
    assert (row.outcome or "").startswith("ATTENTION: paid at the provider, not completed here")
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
