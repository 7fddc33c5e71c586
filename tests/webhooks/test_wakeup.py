"""The worker wakes when an outbox event commits instead of waiting for its next poll.

Each test runs the worker with a 60 s poll interval and still sees the webhook arrive within
a bound far below it: only the wake-up signal (in-process event, or PostgreSQL NOTIFY from
another process) can explain that.  A rolled-back transaction wakes nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ownpay.db import utcnow
from ownpay.outbox.writer import record_event, record_payment_event
from ownpay.payments.models import PaymentIntent
from ownpay.worker import run_worker
from tests.support.factories import MerchantKeys
from tests.support.processes import server_env, start_worker, stop_process
from tests.support.receivers import Receiver
from tests.support.webhooks import Contexts, add_endpoint, client_for, create_intent, move

LONG_POLL = 60.0  # the bound below is far shorter: arrival proves the wake-up, not the poll
ARRIVAL_BOUND = 15.0


async def _idle_worker(ctx_stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    ctx_stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=30)


async def test_commit_wakes_the_embedded_worker(
    contexts: Contexts, shop: MerchantKeys, receiver: Receiver
) -> None:
    ctx = contexts(worker_interval=LONG_POLL)
    async with client_for(ctx) as api:
        await add_endpoint(api, shop, receiver.set("/wake"), events=["payment.completed"])
        txn = await create_intent(api, shop)
    stop_event = asyncio.Event()
    task = asyncio.create_task(run_worker(ctx, stop=stop_event))
    try:
        await asyncio.sleep(1.0)  # the first pass has run; the worker now sleeps for 60 s
        assert receiver.received("/wake") == []
        started = time.monotonic()
        await move(ctx, txn, "completed")
        got = await receiver.wait_for(lambda r: len(r) >= 1, within=ARRIVAL_BOUND)
        assert time.monotonic() - started < LONG_POLL
        assert json.loads(got[0].body)["transaction_id"] == txn
    finally:
        await _idle_worker(stop_event, task)


@pytest.mark.api
async def test_a_rolled_back_event_wakes_nobody(contexts: Contexts, shop: MerchantKeys) -> None:
    ctx = contexts(worker_interval=LONG_POLL)
    async with client_for(ctx) as api:
        txn = await create_intent(api, shop)
    ctx.outbox_wakeup.clear()
    async with ctx.sessions() as s:
        await s.begin()
        intent = await s.scalar(select(PaymentIntent).where(PaymentIntent.id == txn))
        assert intent is not None
        await record_payment_event(s, intent, now=intent.created_at)
        await s.rollback()
    assert not ctx.outbox_wakeup.is_set()
    async with ctx.sessions() as s, s.begin():
        intent = await s.scalar(select(PaymentIntent).where(PaymentIntent.id == txn))
        assert intent is not None
        await record_payment_event(s, intent, now=intent.created_at)
        assert not ctx.outbox_wakeup.is_set()  # not before the commit
    assert ctx.outbox_wakeup.is_set()


@pytest.mark.e2e
async def test_notify_wakes_a_separate_worker_process(
    backend: str,
    contexts: Contexts,
    wh_database_url: str,
    shop: MerchantKeys,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    if backend != "postgresql":
        pytest.skip("separate worker processes need PostgreSQL (SQLite runs the embedded worker)")
    ctx = contexts()
    env = server_env(wh_database_url, tmp_path / "data", OWNPAY_WORKER_INTERVAL=str(LONG_POLL))
    async with client_for(ctx) as api:
        await add_endpoint(api, shop, receiver.set("/notify"), events=["payment.completed"])
        txns = [await create_intent(api, shop) for _ in range(2)]
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        # The first pass runs at start and the LISTEN connection comes up: prove both by a
        # first delivery, then prove the second one is not left for the 60 s poll.
        await move(ctx, txns[0], "completed")
        await receiver.wait_for(lambda r: len(r) >= 1, within=30)
        await asyncio.sleep(1.0)
        await move(ctx, txns[1], "completed")
        got = await receiver.wait_for(lambda r: len(r) >= 2, within=ARRIVAL_BOUND)
        assert {json.loads(r.body)["transaction_id"] for r in got} == set(txns)
    finally:
        stop_process(worker)


async def test_every_kind_of_event_wakes_the_worker(contexts: Contexts, shop: MerchantKeys) -> None:
    """Not only payment status events: e.g. ``refund.failed`` goes through the same door."""
    ctx = contexts(worker_interval=LONG_POLL)
    ctx.outbox_wakeup.clear()
    async with ctx.sessions() as s, s.begin():
        await record_event(
            s, merchant_id=shop.id, mode="test", event_type="refund.failed", payment_id=None,
            payload={"refund_id": "rf_0000000000000000"}, now=utcnow(),
        )
    assert ctx.outbox_wakeup.is_set()
