"""Provider-aware expiry against localstripe: a payment link expires only once its Stripe
PaymentIntent can no longer take money (cancelled at Stripe), a payment Stripe took before
the cancel is completed instead, one still processing at Stripe is kept, and an outage keeps
the payment pending -- for a bounded time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.payments import expiry
from ownpay.payments.models import PaymentIntent
from ownpay.worker import expire_due, reconcile_processing
from tests.support.databases import Isolated, isolated
from tests.support.records import status_history, until
from tests.support.stripe import (
    CARD_3DS,
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


async def _overdue(ctx: AppContext, txn: str, *, ago: timedelta = timedelta(seconds=1)) -> None:
    """The link's time runs out (``ago`` before now)."""
    async with ctx.sessions() as s, s.begin():
        await s.execute(
            update(PaymentIntent).where(PaymentIntent.id == txn)
            .values(expires_at=utcnow() - ago)
        )


@pytest.fixture(scope="module", autouse=True)
def _drain_standin_webhooks() -> Iterator[None]:
    """localstripe sends each event 1 s after it happens, to whatever endpoints are set
    then: let this module's last events leave before another module points the stand-in
    at its own merchant."""
    yield
    time.sleep(1.5)


@pytest.fixture(scope="module")
async def private(backend: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[Isolated]:
    async with isolated(backend, tmp_path_factory.mktemp("stripe-expiry")) as env:
        yield env


@pytest.fixture(scope="module")
def ctx(private: Isolated) -> AppContext:
    """Overrides the shared database's: the session's live server sweeps that one too."""
    return private.ctx


@pytest.fixture(scope="module")
def app(private: Isolated) -> Any:
    return private.app


@pytest.fixture(scope="module")
async def quick(private: Isolated) -> AsyncIterator[AppContext]:
    """A worker's context (another process, same database) that asks an undecided provider
    again after 1 s instead of 60."""
    context = private.context(reconcile_after=1)
    try:
        yield context
    finally:
        await context.close()


async def _time_passes() -> None:
    """Longer than ``quick``'s ``reconcile_after`` since the last unanswered question."""
    await asyncio.sleep(1.2)


def _attention(gateway: str, kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "ownpay_payments_attention_total", {"gateway": gateway, "kind": kind}
    )
    return value or 0.0


async def started_payment(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> tuple[StripeMerchant, str, str]:
    """A Stripe merchant's payment whose checkout was opened: (merchant, txn, PaymentIntent)."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, _ = await open_checkout(client, txn)
    return merchant, txn, pi


async def _reasons(ctx: AppContext, txn: str) -> list[str]:
    return [r.reason or "" for r in await status_history(ctx, txn)]


async def test_expiry_cancels_the_payment_intent_first(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    await _overdue(ctx, txn)

    await expire_due(ctx)
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    assert (await standin.payment_intent(pi))["status"] == "canceled"
    assert await history(ctx, txn) == [("pending", "expired", "worker:expiry")]
    assert await _reasons(ctx, txn) == [
        f"payment link expired; Stripe PaymentIntent {pi} canceled"
    ]
    assert await outbox_events(ctx, txn) == ["payment.expired"]

    # The customer's card form is still open: Stripe no longer takes the money.
    late = await standin.confirm_card(secret, CARD_OK)
    assert late.status_code >= 400
    assert (await standin.payment_intent(pi))["status"] == "canceled"
    await expire_due(ctx)
    assert len(await history(ctx, txn)) == 1


async def test_customer_in_three_d_secure_cannot_complete_after_expiry(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_3DS)).json()["status"] == "requires_action"
    await _overdue(ctx, txn)

    await expire_due(ctx)
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    # The bank's challenge answered after the link expired: too late, nothing is charged.
    answer = await standin.authenticate(secret, success=True)
    assert answer.status_code >= 400
    at_stripe = await standin.payment_intent(pi)
    assert at_stripe["status"] == "canceled" and at_stripe["latest_charge"] is None


async def test_paid_at_stripe_before_the_sweep_is_completed_not_expired(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """The customer paid, closed the tab, and Stripe's webhook never arrived: the sweep
    asks Stripe and completes the payment instead of expiring it."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    await _overdue(ctx, txn)

    await expire_due(ctx)
    got = await api_intent(client, merchant, txn)
    assert got["status"] == "completed" and got["provider_reference"] == pi
    charge = (await standin.payment_intent(pi))["latest_charge"]
    assert got["provider_transaction_id"] == charge["id"]
    assert await history(ctx, txn) == [("pending", "completed", "worker:expiry")]
    assert await outbox_events(ctx, txn) == ["payment.completed"]
    assert (await standin.payment_intent(pi))["status"] == "succeeded"


async def test_processing_at_stripe_is_kept_and_settled_later(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await started_payment(ctx, client, standin)
    await standin.hold_settlements()
    assert (await standin.pay_by_sepa_debit(pi))["status"] == "processing"
    await _overdue(ctx, txn)

    await expire_due(ctx)
    assert (await api_intent(client, merchant, txn))["status"] == "processing"
    assert (await _reasons(ctx, txn))[-1].endswith("(found at expiry)")
    assert (await standin.payment_intent(pi))["status"] == "processing"  # not cancelled

    await standin.release_settlements()

    async def settled() -> bool:
        return (await standin.payment_intent(pi))["status"] == "succeeded"

    await until(settled)
    await reconcile_processing(ctx, min_age=0)
    assert (await api_intent(client, merchant, txn))["status"] == "completed"
    assert await outbox_events(ctx, txn) == ["payment.processing", "payment.completed"]


async def test_outage_keeps_the_payment_pending_and_does_not_ask_at_once_again(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await started_payment(ctx, client, standin)
    await _overdue(ctx, txn)
    standin.stop()
    try:
        await expire_due(ctx)
        assert (await api_intent(client, merchant, txn))["status"] == "pending"
        assert await history(ctx, txn) == []
        # Not payable any more, and the page says the provider is being asked.
        page = await client.get(f"/checkout/{txn}")
        assert page.status_code == 200
        assert "confirming with the payment provider" in page.text
        assert 'id="stripe-card-form"' not in page.text
    finally:
        standin.start()
    # Stripe is back, but it was asked moments ago: the next question waits
    # (``reconcile_after``, 60 s here), for the sweep and for the page alike.
    await expire_due(ctx)
    assert (await client.get(f"/checkout/{txn}/status")).json()["status"] == "pending"
    assert (await standin.payment_intent(pi))["status"] == "requires_payment_method"
    assert await history(ctx, txn) == []


async def test_after_an_outage_the_payment_expires_once_the_provider_answers(
    ctx: AppContext, quick: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await started_payment(ctx, client, standin)
    await _overdue(ctx, txn)
    standin.stop()
    try:
        await expire_due(quick)
    finally:
        standin.start()
    assert (await api_intent(client, merchant, txn))["status"] == "pending"
    await _time_passes()
    await expire_due(quick)
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    assert (await standin.payment_intent(pi))["status"] == "canceled"
    assert await outbox_events(ctx, txn) == ["payment.expired"]


async def test_unreachable_provider_cannot_keep_a_payment_pending_forever(
    ctx: AppContext, quick: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await started_payment(ctx, client, standin)
    await _overdue(ctx, txn, ago=expiry.EXPIRY_UNCONFIRMED_AFTER - timedelta(minutes=1))
    flagged = _attention("stripe", "expired_unconfirmed")
    standin.stop()
    try:
        await expire_due(quick)
        assert (await api_intent(client, merchant, txn))["status"] == "pending"
        await _overdue(ctx, txn, ago=expiry.EXPIRY_UNCONFIRMED_AFTER + timedelta(minutes=1))
        await _time_passes()
        await expire_due(quick)
    finally:
        standin.start()
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    [reason] = await _reasons(ctx, txn)
    assert reason.startswith("payment link expired without the provider's confirmation after 24 h")
    assert "Stripe unreachable" in reason and "ATTENTION" in reason
    assert _attention("stripe", "expired_unconfirmed") == flagged + 1
    # Never cancelled at Stripe (it could not be asked): the operator checks it there.
    assert (await standin.payment_intent(pi))["status"] == "requires_payment_method"


async def test_checkout_page_expires_through_the_provider(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant, txn, pi = await started_payment(ctx, client, standin)
    await _overdue(ctx, txn)
    page = await client.get(f"/checkout/{txn}")
    assert page.status_code == 200 and "Payment link expired" in page.text
    assert (await standin.payment_intent(pi))["status"] == "canceled"
    assert await history(ctx, txn) == [("pending", "expired", "checkout")]

    # Paid just before the link expired, the page completes it instead.
    paid = await create_intent(client, merchant)
    _, paid_pi, secret = await open_checkout(client, paid)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    await _overdue(ctx, paid)
    status = await client.get(f"/checkout/{paid}/status")
    assert status.json()["status"] == "completed"
    assert await history(ctx, paid) == [("pending", "completed", "checkout")]
    assert (await standin.payment_intent(paid_pi))["status"] == "succeeded"


async def test_concurrent_sweeps_expire_once(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txns = [await create_intent(client, merchant) for _ in range(3)]
    for txn in txns:
        await open_checkout(client, txn)
        await _overdue(ctx, txn)
    await asyncio.gather(expire_due(ctx), expire_due(ctx), expire_due(ctx))
    for txn in txns:
        assert await history(ctx, txn) == [("pending", "expired", "worker:expiry")]
        assert await outbox_events(ctx, txn) == ["payment.expired"]


async def test_intent_without_a_payment_intent_expires_without_asking(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """Never opened: there is nothing at Stripe, so even an outage does not hold it."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    await _overdue(ctx, txn)
    standin.stop()
    try:
        await expire_due(ctx)
    finally:
        standin.start()
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    assert await _reasons(ctx, txn) == ["payment link expired"]


async def test_a_late_payment_is_flagged_and_never_completes(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """Expired unconfirmed (Stripe unreachable for a day), then paid at Stripe after all:
    the return shows the expired page, Stripe's signed event is recorded with ATTENTION
    and counted, and the payment stays expired."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    await _overdue(ctx, txn, ago=expiry.EXPIRY_UNCONFIRMED_AFTER + timedelta(minutes=1))
    standin.stop()
    try:
        await expire_due(ctx)
    finally:
        standin.start()
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"

    back = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert back.status_code == 303 and back.headers["location"] == f"/checkout/{txn}"
    assert "Payment link expired" in (await client.get(f"/checkout/{txn}")).text

    late = _attention("stripe", "paid_after_expiry")
    body = event_body(
        "payment_intent.succeeded",
        {"id": pi, "object": "payment_intent", "metadata": {"transaction_id": txn}},
    )
    r = await client.post(merchant.webhook_path(), content=body,
                          headers={"Stripe-Signature": sign(body, merchant.webhook_secret)})
    assert r.status_code == 200
    [row] = await provider_events(ctx, merchant.keys.id)
    assert (row.outcome or "").startswith("ATTENTION: paid at the provider, not completed here")
    assert _attention("stripe", "paid_after_expiry") == late + 1
    assert (await api_intent(client, merchant, txn))["status"] == "expired"
    assert await outbox_events(ctx, txn) == ["payment.expired"]
