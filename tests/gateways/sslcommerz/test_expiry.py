"""The core's expiry on SSLCommerz payments, through the contract only: SSLCommerz cannot
close a session, so a payment whose session is still open at expiry stays pending (its
hosted page may still take the money) until SSLCommerz says the session ended unpaid, a
session paid in time completes instead of expiring, and the core's 24-hour bound still
ends an undecided one (docs/gateways.md, "Expiry")."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ownpay.context import AppContext
from ownpay.payments import expiry
from tests.support.factories import MerchantKeys
from tests.support.records import status_history
from tests.support.sslcommerz import new_payment, session_key_of, to_provider
from tests.support.standins import SimServer, stored


async def _expire(ctx: AppContext, txn: str, after: timedelta) -> str:
    intent = await stored(ctx, txn)
    moved = await expiry.expire_overdue(ctx, intent, actor="worker:expiry",
                                        now=intent.expires_at + after)
    return moved.status


async def test_an_open_session_keeps_the_payment_pending_until_sslcommerz_ends_it(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    key = session_key_of(await to_provider(customer, txn))
    assert sim.session(key).status == "PENDING"  # the customer may still be on its page
    assert await _expire(gateway_ctx, txn, timedelta(seconds=1)) == "pending"
    sim.session(key).status = "EXPIRED"  # SSLCommerz timed the session out, unpaid
    later = timedelta(seconds=gateway_ctx.settings.reconcile_after + 2)  # asked again
    assert await _expire(gateway_ctx, txn, later) == "expired"
    last = (await status_history(gateway_ctx, txn))[-1]
    assert "SSLCommerz session not paid" in (last.reason or "")
    assert "EXPIRED" in (last.reason or "")


async def test_a_session_paid_in_time_completes_and_an_undecided_one_ends_at_the_bound(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    paid = await new_payment(customer, shop)
    sim.act(session_key_of(await to_provider(customer, paid)), "success")  # never came back
    assert await _expire(gateway_ctx, paid, timedelta(seconds=1)) == "completed"
    open_ = await new_payment(customer, shop)
    await to_provider(customer, open_)
    bound = expiry.EXPIRY_UNCONFIRMED_AFTER + timedelta(seconds=1)
    assert await _expire(gateway_ctx, open_, bound) == "expired"
    last = (await status_history(gateway_ctx, open_))[-1]
    assert "without the provider's confirmation" in (last.reason or "")
    assert "SSLCommerz cannot close a session" in (last.reason or "")
