"""Execute happens at most once: timeouts, lost answers, duplicated and forged callbacks,
expired links, reconciliation of payments left ``processing``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.payments.models import PaymentIntent
from ownpay.worker import reconcile_processing
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
    stored,
)
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.settings import SLOWER_THAN_TIMEOUT


async def approved(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys
) -> tuple[str, str, str]:
    """A payment the customer approved at bKash: (txn, paymentID, our callback URL)."""
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    back = await at_bkash(wallet, bkash_url)
    return txn, payment_id_of(bkash_url), callback_location(back)


async def test_execute_timeout_is_settled_by_a_status_query(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn, payment_id, callback = await approved(customer, wallet, shop)
    sim.execute_delay = SLOWER_THAN_TIMEOUT  # bKash completes, then answers after our timeout
    done = await customer.get(callback)
    assert done.status_code == 303 and "status=completed" in done.headers["location"]
    assert sim.execute_attempts[payment_id] == 1 and sim.execute_calls[payment_id] == 1
    assert sim.calls[EXECUTE] == 1 and sim.calls[STATUS] == 1
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed"
    assert got["provider_transaction_id"] == sim.payment(payment_id).trx_id
    rows = await history(bkash_ctx, txn)
    assert [t for _, t, _ in rows] == ["processing", "completed"]
    assert "(status query)" in rows[-1][2]
    sim.execute_delay = 0


async def test_lost_execute_answer_is_settled_by_a_status_query(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn, payment_id, callback = await approved(customer, wallet, shop)
    sim.fail_after_next["execute"] = 502  # bKash executes, the answer is lost on the way
    done = await customer.get(callback)
    assert "status=completed" in done.headers["location"]
    assert sim.execute_attempts[payment_id] == 1 and sim.execute_calls[payment_id] == 1


async def test_already_completed_answer_is_checked_not_trusted(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    """bKash executes but answers 2117 ("already completed"): we ask for the status."""
    sim = sim_server.sim
    txn, payment_id, callback = await approved(customer, wallet, shop)
    sim.fail_after_next["execute"] = {
        "statusCode": "2117", "statusMessage": "The payment execution has already been completed"
    }
    done = await customer.get(callback)
    assert "status=completed" in done.headers["location"]
    assert sim.execute_attempts[payment_id] == 1 and sim.calls[STATUS] == 1
    got = await api_payment(customer, shop, txn)
    assert got["provider_transaction_id"] == sim.payment(payment_id).trx_id


async def test_payment_left_processing_is_reconciled_by_the_worker(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn, payment_id, callback = await approved(customer, wallet, shop)
    sim.fail_after_next["execute"] = 504  # executed, answer lost ...
    sim.fail_next["payment/status"] = 503  # ... and bKash cannot tell us right now either
    answer = await customer.get(callback)
    assert answer.headers["location"] == f"/checkout/{txn}"
    assert (await api_payment(customer, shop, txn))["status"] == "processing"
    page = (await customer.get(f"/checkout/{txn}")).text
    assert "Payment processing" in page

    await reconcile_processing(bkash_ctx, min_age=0)
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed"
    assert got["provider_transaction_id"] == sim.payment(payment_id).trx_id
    rows = await history(bkash_ctx, txn)
    assert [t for _, t, _ in rows] == ["processing", "completed"]
    assert sim.execute_attempts[payment_id] == 1  # the worker asked; it never executed
    assert (await events(bkash_ctx, txn)).count("payment.completed") == 1


async def test_execute_that_never_reached_bkash_is_failed_once_the_link_expired(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn, payment_id, callback = await approved(customer, wallet, shop)
    sim.fail_next["execute"] = {"statusCode": "9999", "statusMessage": "System Error."}
    await customer.get(callback)
    assert (await api_payment(customer, shop, txn))["status"] == "processing"
    assert sim.execute_attempts[payment_id] == 0

    await reconcile_processing(bkash_ctx, min_age=0)  # bKash: still Initiated -> wait
    assert (await api_payment(customer, shop, txn))["status"] == "processing"
    async with bkash_ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    await reconcile_processing(bkash_ctx, min_age=0)
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "failed" and "never executed" in got["failure_reason"]
    assert sim.execute_attempts[payment_id] == 0 and sim.payment(payment_id).trx_id is None


async def test_duplicated_callback_sequential(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn, payment_id, callback = await approved(customer, wallet, shop)
    first = await customer.get(callback)
    second = await customer.get(callback)
    assert first.headers["location"] == second.headers["location"]
    assert "status=completed" in second.headers["location"]
    assert sim.execute_attempts[payment_id] == 1
    assert [t for _, t, _ in await history(bkash_ctx, txn)] == ["processing", "completed"]
    assert (await events(bkash_ctx, txn)).count("payment.completed") == 1


async def test_duplicated_callback_concurrent(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    sim.execute_delay = 0.3  # keep the winner's execute open while the others arrive
    txn, payment_id, callback = await approved(customer, wallet, shop)
    answers = await asyncio.gather(*[customer.get(callback) for _ in range(6)])
    assert all(a.status_code == 303 for a in answers)
    assert sim.execute_attempts[payment_id] == 1 and sim.execute_calls[payment_id] == 1
    assert (await api_payment(customer, shop, txn))["status"] == "completed"
    rows = await history(bkash_ctx, txn)
    assert [t for _, t, _ in rows] == ["processing", "completed"]
    assert (await events(bkash_ctx, txn)).count("payment.completed") == 1
    sim.execute_delay = 0


async def test_forged_callbacks_change_nothing(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    mine = payment_id_of(await pay_with_bkash(customer, txn))

    # another merchant on the same bKash account, whose customer approved a payment
    other = await create_merchant(bkash_ctx, gateways=(("test", "sandbox"),))
    await enable_bkash(bkash_ctx, other, **CREDENTIALS, base_url=sim_server.base_url)
    other_txn = await new_payment(customer, other)
    theirs_url = await pay_with_bkash(customer, other_txn)
    theirs = payment_id_of(theirs_url)
    approved = await at_bkash(wallet, theirs_url)  # bKash redirects to the real callback

    forged = [
        "/gateways/bkash/callback/txn_0000000000000000?paymentID=" + mine + "&status=success",
        f"/gateways/bkash/callback/{txn}?paymentID={theirs}&status=success",  # other's payment
        f"/gateways/bkash/callback/{txn}?paymentID=TR0011FORGED123&status=success",
        f"/gateways/bkash/callback/{txn}?status=success",
        f"/gateways/bkash/callback/{txn}?paymentID={theirs}&status=failure",
        f"/gateways/sandbox/callback/{txn}?paymentID={mine}&status=success",  # wrong gateway
        f"/gateways/bkash/callback/{other_txn}?paymentID={mine}&status=success",
    ]
    for url in forged:
        r = await customer.get(url)
        assert r.status_code in (303, 404), (url, r.status_code)
    assert (await customer.get(forged[0])).status_code == 404
    assert (await customer.get(forged[5])).status_code == 404
    for t, m in ((txn, shop), (other_txn, other)):
        got = await api_payment(customer, m, t)
        assert got["status"] == "pending" and got["provider_transaction_id"] is None
        assert await history(bkash_ctx, t) == [] and await events(bkash_ctx, t) == []
    assert sum(sim.execute_attempts.values()) == 0 and sim.calls[EXECUTE] == 0
    assert (await stored(bkash_ctx, txn)).provider_reference == mine

    # the other merchant's real callback (the URL bKash redirects to) still works afterwards
    done = await customer.get(callback_location(approved))
    assert "status=completed" in done.headers["location"]


async def test_an_expired_link_is_never_executed(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    txn, payment_id, callback = await approved(customer, wallet, shop)
    async with bkash_ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    answer = await customer.get(callback)
    assert answer.headers["location"] == f"/checkout/{txn}"
    assert "Payment link expired" in (await customer.get(f"/checkout/{txn}")).text
    assert sim_server.sim.execute_attempts[payment_id] == 0
    assert (await api_payment(customer, shop, txn))["status"] == "expired"


async def test_amount_mismatch_never_completes(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    """If bKash reports another amount than ours, the payment is never completed."""
    txn, payment_id, callback = await approved(customer, wallet, shop)
    sim_payment = sim_server.sim.payment(payment_id)
    sim_payment.amount = "1.00"  # what bKash would echo back had the amount been altered
    await customer.get(callback)
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "processing" and got["provider_transaction_id"] is None
    await reconcile_processing(bkash_ctx, min_age=0)
    assert (await api_payment(customer, shop, txn))["status"] == "processing"
    assert [t for _, t, _ in await history(bkash_ctx, txn)] == ["processing"]
