"""The core's expiry on SSLCommerz payments, through the contract only: SSLCommerz cannot
close a session, so a payment whose session is still open at expiry stays pending (its
hosted page may still take the money) until SSLCommerz says the session ended unpaid, a
session paid in time completes instead of expiring, and the core's 24-hour bound still
ends an undecided one (docs/gateways.md, "Expiry").  Every session of the payment counts
(a customer's older tab is a session of its own), not only the latest."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome
from ownpay.gateways.sslcommerz.adapter import ADAPTER
from ownpay.payments import expiry
from tests.support.factories import MerchantKeys
from tests.support.records import status_history
from tests.support.sslcommerz import new_payment, session_key_of, to_provider
from tests.support.standins import SimServer, adapter_view, stored


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


async def _two_tabs(customer: httpx.AsyncClient, shop: MerchantKeys) -> tuple[str, str, str]:
    """A payment whose checkout the customer opened twice (two tabs, two SSLCommerz
    sessions), then cancelled at SSLCommerz in the newer tab: (txn, older, newer)."""
    txn = await new_payment(customer, shop)
    older = session_key_of(await to_provider(customer, txn))
    newer = session_key_of(await to_provider(customer, txn))
    assert older != newer
    return txn, older, newer


@pytest.mark.parametrize("listed", [True, False], ids=["listed-by-tran-id", "remembered"])
async def test_an_older_open_session_keeps_the_payment_pending_and_its_payment_completes(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext, listed: bool,
) -> None:
    """Every session of the payment counts, not only the latest: the older tab can still be
    paid.  ``remembered``: SSLCommerz's query by tran_id leaves the open session out, and
    our state store's list of sessions still finds it."""
    sim = sim_server.sim
    sim.tran_id_lists_open = listed
    txn, older, newer = await _two_tabs(customer, shop)
    sim.act(newer, "cancel")
    assert await _expire(gateway_ctx, txn, timedelta(seconds=1)) == "pending"
    sim.act(older, "success")  # the customer pays in the older tab, after our expiry
    later = timedelta(seconds=gateway_ctx.settings.reconcile_after + 2)
    assert await _expire(gateway_ctx, txn, later) == "completed"
    row = await stored(gateway_ctx, txn)
    assert row.provider_txn_id == sim.session(older).bank_tran_id


async def test_the_payment_expires_only_when_every_session_ended_unpaid(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    sim.tran_id_lists_open = False
    txn, older, newer = await _two_tabs(customer, shop)
    sim.act(newer, "fail")
    assert await _expire(gateway_ctx, txn, timedelta(seconds=1)) == "pending"
    sim.set_status(older, "EXPIRED")  # SSLCommerz timed the older tab out
    later = timedelta(seconds=gateway_ctx.settings.reconcile_after + 2)
    assert await _expire(gateway_ctx, txn, later) == "expired"
    reason = (await status_history(gateway_ctx, txn))[-1].reason or ""
    assert "SSLCommerz session not paid" in reason


async def test_reconciliation_never_fails_a_payment_while_an_older_session_is_open(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    """The status query (reconciliation, the IPN's re-fetch, the return) answers for every
    session: the newer tab's failure is not the payment's while the older tab is open."""
    sim = sim_server.sim
    sim.tran_id_lists_open = False
    txn, older, newer = await _two_tabs(customer, shop)
    sim.act(newer, "fail")
    gctx, view = await adapter_view(gateway_ctx, txn)
    asked = await ADAPTER.query_status(gctx, view)
    assert asked.outcome is Outcome.PENDING
    assert asked.provider_reference == newer  # the payment's reference stays the current one
    assert f"SSLCommerz session {older}" in (asked.reason or "")
    sim.set_status(older, "CANCELLED")
    ended = await ADAPTER.query_status(gctx, view)
    assert ended.outcome is Outcome.FAILED and ended.provider_reference == newer
