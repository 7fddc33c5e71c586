"""A Razorpay order outlives a payment cancelled on our page (Razorpay has no call to close
an order): money that still arrives on it follows the core's path for a provider success on
a payment that can no longer complete -- the payment stays cancelled, the provider event is
recorded with ``ATTENTION`` and counted for an operator -- and an authorisation that arrives
is never captured by us (Razorpay returns an uncaptured payment by itself)."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome
from ownpay.gateways.razorpay.adapter import ADAPTER
from ownpay.provider_events.models import ProviderEventRecord
from ownpay.worker import expire_due, reconcile_processing
from tests.support.checkout import CSRF
from tests.support.factories import MerchantKeys
from tests.support.razorpay import new_payment, open_checkout, order_on
from tests.support.records import outbox_types
from tests.support.standins import SimServer, adapter_view, api_payment


def _attention(kind: str) -> float:
    value = REGISTRY.get_sample_value("ownpay_payments_attention_total",
                                      {"gateway": "razorpay", "kind": kind})
    return value or 0.0


async def _cancelled_on_our_page(customer: httpx.AsyncClient, shop: MerchantKeys
                                 ) -> tuple[str, str]:
    """A payment whose checkout created a Razorpay order, then cancelled by the customer on
    our page: (transaction id, order id)."""
    txn = await new_payment(customer, shop)
    page = await open_checkout(customer, txn)
    token = CSRF.search(page.text)
    assert token is not None, page.text
    r = await customer.post(f"/checkout/{txn}/cancel", data={"csrf_token": token.group(1)})
    assert r.status_code in (200, 303), r.text
    assert (await api_payment(customer, shop, txn))["status"] == "cancelled"
    return txn, order_on(page)


async def _events(ctx: AppContext, merchant_id: int) -> list[ProviderEventRecord]:
    async with ctx.sessions() as s:
        rows = await s.scalars(select(ProviderEventRecord)
                               .where(ProviderEventRecord.merchant_id == merchant_id)
                               .order_by(ProviderEventRecord.id))
        return list(rows)


async def test_a_capture_webhook_for_a_cancelled_payment_is_flagged_never_completed(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn, order_id = await _cancelled_on_our_page(customer, shop)
    before = _attention("paid_not_completed")
    fields = sim.pay(order_id) or {}  # another tab: Razorpay's form still takes the money
    answers = await sim.send_webhook(f"/gateways/razorpay/webhooks/{shop.slug}/test",
                                     customer, "payment.captured", times=2,
                                     payment_id=fields["razorpay_payment_id"])
    assert all(a.status_code < 300 for a in answers), [a.text for a in answers]
    assert (await api_payment(customer, shop, txn))["status"] == "cancelled"
    rows = await _events(gateway_ctx, shop.id)
    assert len(rows) == 1  # the repeated event is recorded once
    outcome = rows[0].outcome or ""
    assert outcome.startswith("ATTENTION: paid at the provider, not completed here"), outcome
    assert "no change (cancelled)" in outcome and "'captured'" in outcome
    assert _attention("paid_not_completed") == before + 1
    assert await outbox_types(gateway_ctx, txn) == ["payment.cancelled"]


async def test_an_authorisation_for_a_cancelled_payment_is_never_captured(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    """On an account that captures by hand: neither the webhook nor the worker's sweeps
    (expiry, reconciliation) nor a status query capture it; the history says why."""
    sim = sim_server.sim
    sim.auto_capture = False
    txn, order_id = await _cancelled_on_our_page(customer, shop)
    sim.pay(order_id)
    [authorised] = sim.order(order_id).payments
    assert authorised.status == "authorized"
    r = await sim.send_webhook(f"/gateways/razorpay/webhooks/{shop.slug}/test", customer,
                               "payment.authorized", payment_id=authorised.id)
    assert r[0].status_code < 300, r[0].text
    await expire_due(gateway_ctx)
    await reconcile_processing(gateway_ctx, min_age=0)
    gctx, view = await adapter_view(gateway_ctx, txn)
    asked = await ADAPTER.query_status(gctx, view)
    assert authorised.status == "authorized"
    assert "capture" not in [c[0] for c in sim.calls]
    assert asked.outcome is Outcome.PROCESSING
    assert "not captured: the payment is cancelled here" in (asked.reason or "")
    assert (await api_payment(customer, shop, txn))["status"] == "cancelled"
    [row] = await _events(gateway_ctx, shop.id)
    assert "no change (cancelled)" in (row.outcome or "")
    assert "not captured" in (row.outcome or "")


async def test_a_pending_payment_still_captures_its_authorisation(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    """The guard is about payments that can no longer take money only."""
    sim = sim_server.sim
    sim.auto_capture = False
    txn = await new_payment(customer, shop)
    order_id = order_on(await open_checkout(customer, txn))
    fields = sim.pay(order_id) or {}
    r = await sim.send_webhook(f"/gateways/razorpay/webhooks/{shop.slug}/test", customer,
                               "payment.authorized", payment_id=fields["razorpay_payment_id"])
    assert r[0].status_code < 300, r[0].text
    assert (await api_payment(customer, shop, txn))["status"] == "completed"
    assert "capture" in [c[0] for c in sim.calls]
