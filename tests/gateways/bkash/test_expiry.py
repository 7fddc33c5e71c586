"""Provider-aware expiry with bKash (simulator): a bKash payment created but never executed is
asked about before the link expires; there is nothing to cancel (we never execute an expired
link), a bKash outage keeps the payment pending for a bounded time, and a customer who
approves at bKash after the link expired is never charged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.payments import expiry as payments
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.worker import expire_due
from tests.simulators.bkash import EXECUTE, STATUS
from tests.support.bkash import (
    CREDENTIALS,
    SimServer,
    api_payment,
    at_bkash,
    callback_location,
    enable_bkash,
    events,
    history,
    new_payment,
    pay_with_bkash,
    payment_id_of,
)
from tests.support.databases import Isolated, isolated
from tests.support.factories import MerchantKeys
from tests.support.ports import free_port
from tests.support.settings import PROVIDER_TIMEOUT

# Long enough that "asked a moment ago" holds between two passes on a loaded machine (1 s
# did not: a run's second pass came after it and asked bKash again).
QUICK_RECONCILE = 4


async def _overdue(ctx: AppContext, txn: str, *, ago: timedelta = timedelta(seconds=1)) -> None:
    async with ctx.sessions() as s, s.begin():
        await s.execute(
            update(PaymentIntent).where(PaymentIntent.id == txn)
            .values(expires_at=utcnow() - ago)
        )


@pytest.fixture(scope="module")
async def private(backend: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[Isolated]:
    async with isolated(backend, tmp_path_factory.mktemp("bkash-expiry"),
                        gateway_timeout=PROVIDER_TIMEOUT) as env:
        yield env


@pytest.fixture(scope="module")
def bkash_ctx(private: Isolated) -> AppContext:
    """Overrides the shared database's: the session's live server sweeps that one too."""
    return private.ctx


@pytest.fixture(scope="module")
def bkash_app(private: Isolated) -> Any:
    return private.app


@pytest.fixture(scope="module")
async def quick(private: Isolated) -> AsyncIterator[AppContext]:
    """A worker's context (another process, same database) that asks an undecided bKash
    again after ``QUICK_RECONCILE`` seconds instead of 60."""
    context = private.context(gateway_timeout=PROVIDER_TIMEOUT,
                              reconcile_after=QUICK_RECONCILE)
    try:
        yield context
    finally:
        await context.close()


def _status_queries(sim_server: SimServer, payment_id: str) -> int:
    """Status queries about this bKash payment (not others' that reach the same port)."""
    return sum(1 for r in sim_server.sim.requests
               if r.path == STATUS and isinstance(r.body, dict)
               and r.body.get("paymentID") == payment_id)


async def _actors(ctx: AppContext, txn: str) -> list[str]:
    async with ctx.sessions() as s:
        rows = await s.scalars(
            select(PaymentStatusHistory.actor)
            .where(PaymentStatusHistory.payment_id == txn)
            .order_by(PaymentStatusHistory.id)
        )
        return list(rows)


async def test_unexecuted_bkash_payment_expires_after_asking_and_is_never_charged(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    payment_id = payment_id_of(bkash_url)
    await _overdue(bkash_ctx, txn)

    await expire_due(bkash_ctx)
    assert _status_queries(sim_server, payment_id) == 1
    assert (await api_payment(customer, shop, txn))["status"] == "expired"
    [(_, to, reason)] = await history(bkash_ctx, txn)
    assert to == "expired"
    assert reason == "payment link expired; nothing to cancel at the provider"
    assert await _actors(bkash_ctx, txn) == ["worker:expiry"]

    # The customer approves at bKash afterwards: the callback never executes it.
    back = await at_bkash(wallet, bkash_url)
    answer = await customer.get(callback_location(back))
    assert answer.status_code == 303 and answer.headers["location"] == f"/checkout/{txn}"
    assert sim.execute_attempts[payment_id] == 0 and sim.calls[EXECUTE] == 0
    assert sim.payment(payment_id).trx_id is None
    assert (await api_payment(customer, shop, txn))["status"] == "expired"
    assert await events(bkash_ctx, txn) == ["payment.expired"]


async def _bkash_down(ctx: AppContext, shop: MerchantKeys) -> None:
    """The merchant's bKash stops answering (its API base points at a closed port)."""
    await enable_bkash(ctx, shop, **CREDENTIALS, base_url=f"http://127.0.0.1:{free_port()}")


async def _bkash_up(ctx: AppContext, shop: MerchantKeys, sim_server: SimServer) -> None:
    await enable_bkash(ctx, shop, **CREDENTIALS, base_url=sim_server.base_url)


async def test_bkash_outage_keeps_it_pending_then_it_expires_when_bkash_answers(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    bkash_ctx: AppContext, quick: AppContext,
) -> None:
    txn = await new_payment(customer, shop)
    payment_id = payment_id_of(await pay_with_bkash(customer, txn))
    await _overdue(bkash_ctx, txn)
    await _bkash_down(bkash_ctx, shop)

    await expire_due(quick)
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    assert await history(bkash_ctx, txn) == []
    page = await customer.get(f"/checkout/{txn}")
    assert "confirming with the payment provider" in page.text
    assert 'action="/checkout/' + txn + '/pay"' not in page.text

    await _bkash_up(bkash_ctx, shop, sim_server)
    await expire_due(quick)  # asked a moment ago: not yet again
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    assert _status_queries(sim_server, payment_id) == 0
    await asyncio.sleep(QUICK_RECONCILE + 0.2)  # longer than quick's reconcile_after
    await expire_due(quick)
    assert _status_queries(sim_server, payment_id) == 1
    assert (await api_payment(customer, shop, txn))["status"] == "expired"
    assert await events(bkash_ctx, txn) == ["payment.expired"]


async def test_bkash_unreachable_for_a_day_expires_flagged(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    bkash_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop)
    await pay_with_bkash(customer, txn)
    await _overdue(bkash_ctx, txn, ago=payments.EXPIRY_UNCONFIRMED_AFTER + timedelta(seconds=5))
    await _bkash_down(bkash_ctx, shop)
    await expire_due(bkash_ctx)
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "expired"
    [(_, _, reason)] = await history(bkash_ctx, txn)
    assert "without the provider's confirmation after 24 h" in reason
    assert "bKash unreachable" in reason and "ATTENTION" in reason


async def test_intent_without_a_bkash_payment_expires_without_asking(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    bkash_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop)
    await _overdue(bkash_ctx, txn)
    page = await customer.get(f"/checkout/{txn}")
    assert "Payment link expired" in page.text
    assert await _actors(bkash_ctx, txn) == ["checkout"]
    # Plain expiry: nothing was asked or cancelled at bKash.
    assert await history(bkash_ctx, txn) == [("pending", "expired", "payment link expired")]
