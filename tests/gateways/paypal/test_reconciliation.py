"""The core's own machinery on PayPal payments, through the contract only: the expiry
sweep captures an order approved in time instead of dropping it (and expires one nobody
approved), and reconciliation settles a capture PayPal left pending."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ownpay import worker
from ownpay.context import AppContext
from ownpay.payments import expiry
from tests.support.factories import MerchantKeys
from tests.support.paypal import new_payment, order_of, to_paypal
from tests.support.standins import SimServer, api_payment, local, stored


async def test_the_expiry_sweep_captures_an_approved_order_and_expires_an_unapproved_one(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    approved = await new_payment(customer, shop)
    approved_order = order_of(await to_paypal(customer, approved))
    sim.approve(approved_order)  # approved; the customer never came back
    unapproved = await new_payment(customer, shop)
    await to_paypal(customer, unapproved)
    for txn in (approved, unapproved):
        intent = await stored(gateway_ctx, txn)
        after = await expiry.expire_overdue(gateway_ctx, intent, actor="worker:expiry",
                                            now=intent.expires_at + timedelta(seconds=1))
        assert after.status == ("completed" if txn == approved else "expired"), txn
    assert sim.order(approved_order).status == "COMPLETED"
    assert len(sim.captures) == 1


async def test_reconciliation_settles_a_pending_capture(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    sim.capture_status = "PENDING"
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    await customer.get(local(sim.approve(order_id)))
    assert (await api_payment(customer, shop, txn))["status"] == "processing"
    capture = sim.order(order_id).capture
    assert capture is not None
    capture.status = "COMPLETED"  # PayPal's review cleared it
    await worker.reconcile_processing(gateway_ctx, min_age=0)
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed" and got["provider_transaction_id"] == capture.id
