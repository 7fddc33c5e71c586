"""The worker's webhook steps, in process against a real database and a loopback receiver:
fan-out, signatures, retries on the schedule, dead letters, leases, ordering, per-endpoint
concurrency and secret rotation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.outbox.models import OutboxEvent
from ownpay.webhooks import verify_signature
from ownpay.webhooks.delivery import (
    AttemptResult,
    claim_due,
    deliver_due,
    dispatch_events,
    lease_seconds,
    record,
)
from ownpay.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.support.factories import MerchantKeys
from tests.support.receivers import Receiver
from tests.support.webhooks import Contexts, add_endpoint, create_intent, move, pump

SPEC_FIELDS = {
    "event",
    "transaction_id",
    "order_id",
    "amount",
    "currency",
    "status",
    "paid_at",
    "gateway",
}


def hand_signature(secret: str, timestamp: str, body: bytes) -> str:
    return (
        "sha256="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def hand_standard(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


async def deliveries_of(ctx: AppContext, endpoint_id: str) -> list[WebhookDelivery]:
    async with ctx.sessions() as s:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.event_created_at)
        )
        return list(await s.scalars(stmt))


async def attempts_of(ctx: AppContext, delivery_id: str) -> list[WebhookAttempt]:
    async with ctx.sessions() as s:
        stmt = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.number)
        )
        return list(await s.scalars(stmt))


async def test_completed_payment_is_fanned_out_signed_and_delivered_once(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    a = await add_endpoint(wclient, shop, receiver.set("/a"), events=["payment.completed"])
    b = await add_endpoint(wclient, shop, receiver.set("/b"))
    await add_endpoint(wclient, shop, receiver.set("/c"), events=["payment.failed"])
    d = await add_endpoint(wclient, shop, receiver.set("/d"))
    await add_endpoint(wclient, shop, "https://shop.example/live", mode="live")
    r = await wclient.patch(
        f"/api/v1/webhook-endpoints/{d['id']}", headers=shop.auth(), json={"enabled": False}
    )
    assert r.status_code == 200

    txn = await create_intent(wclient, shop, metadata={"user_id": "42", "note": "Café ☕"})
    await move(wctx, txn, "completed")
    await pump(wctx)

    assert {x.path for x in receiver.received()} == {"/a", "/b"}
    [got_a] = receiver.received("/a")
    [got_b] = receiver.received("/b")
    async with wctx.sessions() as s:
        event = await s.scalar(select(OutboxEvent).where(OutboxEvent.payment_id == txn))
    assert event is not None and event.dispatched_at is not None
    # the body is the outbox payload, the spec's fields plus id, created_at, mode, metadata
    assert got_a.body == got_b.body == orjson.dumps(event.payload)
    payload = json.loads(got_a.body)
    assert set(payload) == SPEC_FIELDS | {"id", "created_at", "mode", "metadata"}
    assert payload["event"] == "payment.completed" and payload["transaction_id"] == txn
    assert (
        payload["amount"] == 99.99
        and payload["currency"] == "USD"
        and payload["status"] == "completed"
    )
    assert (
        payload["gateway"] == "sandbox" and payload["mode"] == "test" and payload["id"] == event.id
    )
    assert payload["metadata"] == {"user_id": "42", "note": "Café ☕"} and payload[
        "paid_at"
    ].endswith("Z")

    for got, endpoint in ((got_a, a), (got_b, b)):
        h = got.headers
        assert h["content-type"] == "application/json" and h["user-agent"].startswith("OwnPay")
        assert h["x-ownpay-event"] == "payment.completed"
        assert (
            h["x-ownpay-delivery"].startswith("dlv_") and h["webhook-id"] == h["x-ownpay-delivery"]
        )
        assert abs(int(h["x-ownpay-timestamp"]) - time.time()) < 10
        assert h["webhook-timestamp"] == h["x-ownpay-timestamp"]
        assert h["x-ownpay-signature"] == hand_signature(
            endpoint["secret"], h["x-ownpay-timestamp"], got.body
        )
        assert h["webhook-signature"] == hand_standard(
            endpoint["secret"], h["webhook-id"], h["webhook-timestamp"], got.body
        )
        verify_signature(endpoint["secret"], h, got.body)
    assert got_a.delivery_id != got_b.delivery_id

    [delivery] = await deliveries_of(wctx, a["id"])
    assert (
        delivery.id == got_a.delivery_id
        and delivery.status == "succeeded"
        and delivery.attempts == 1
    )
    [attempt] = await attempts_of(wctx, delivery.id)
    assert attempt.success and attempt.status_code == 200 and attempt.response_body == "ok"
    assert attempt.error is None and attempt.duration_ms >= 0

    await pump(wctx)  # nothing twice
    assert len(receiver.received()) == 2


async def test_failures_retry_on_the_schedule_then_dead_letter_then_replay(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    url = receiver.set("/flaky", status=500, body=b"E" * 5000)
    endpoint = await add_endpoint(wclient, shop, url)
    txn = await create_intent(wclient, shop)
    await move(wctx, txn, "completed")

    await pump(wctx, budget=0.5)
    [delivery] = await deliveries_of(wctx, endpoint["id"])
    assert delivery.status == "retrying" and delivery.attempts == 1
    delay = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()  # type: ignore[operator]
    assert 0.9 <= delay <= 1.5  # schedule[0] = 1 s
    await pump(wctx, budget=0.5)  # not due yet: nothing is sent
    assert len(receiver.received()) == 1

    for expected_attempts in (2, 3):
        await asyncio.sleep(1.05)
        await pump(wctx, budget=0.5)
        assert len(receiver.received()) == expected_attempts
    [delivery] = await deliveries_of(wctx, endpoint["id"])
    assert delivery.status == "dead" and delivery.attempts == 3 and delivery.last_status_code == 500
    got = receiver.received()
    assert (
        len({g.body for g in got}) == 1 and len({g.delivery_id for g in got}) == 1
    )  # byte-identical
    for g in got:  # each attempt signed afresh with its own timestamp
        assert g.headers["x-ownpay-signature"] == hand_signature(
            endpoint["secret"], g.headers["x-ownpay-timestamp"], g.body
        )
    attempts = await attempts_of(wctx, delivery.id)
    assert [a.number for a in attempts] == [1, 2, 3]
    assert all(
        a.status_code == 500 and not a.success and a.response_body == "E" * 2048 for a in attempts
    )

    await asyncio.sleep(1.05)
    await pump(wctx, budget=0.5)  # dead stays dead
    assert len(receiver.received()) == 3

    receiver.set("/flaky")  # fixed
    r = await wclient.post(f"/api/v1/webhooks/deliveries/{delivery.id}/retry", headers=shop.auth())
    assert r.status_code == 202 and r.json()["status"] == "retrying" and r.json()["next_attempt_at"]
    await pump(wctx, budget=0.5)
    assert len(receiver.received()) == 4 and receiver.received()[-1].delivery_id == delivery.id
    [delivery] = await deliveries_of(wctx, endpoint["id"])
    assert delivery.status == "succeeded" and delivery.attempts == 4 and delivery.delivered_at


async def test_a_slow_receiver_is_a_timeout_and_a_closed_port_a_connection_error(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    from tests.support.ports import free_port

    slow = await add_endpoint(wclient, shop, receiver.set("/slow", delay=1.6))
    closed = await add_endpoint(wclient, shop, f"http://127.0.0.1:{free_port()}/down")
    txn = await create_intent(wclient, shop)
    await move(wctx, txn, "completed")
    await pump(wctx)
    [d_slow] = await deliveries_of(wctx, slow["id"])
    [a_slow] = await attempts_of(wctx, d_slow.id)
    assert d_slow.status == "retrying" and not a_slow.success
    assert a_slow.error is not None and a_slow.error.startswith("timeout")
    assert 900 <= a_slow.duration_ms < 1500  # the 1 s timeout, not the receiver's 1.6 s
    [d_closed] = await deliveries_of(wctx, closed["id"])
    # (while the slow request was in flight the closed one came due again: 1 or 2 attempts)
    a_closed = (await attempts_of(wctx, d_closed.id))[0]
    assert d_closed.status == "retrying" and a_closed.status_code is None
    assert a_closed.error is not None and "connection" in a_closed.error


async def test_one_payment_reaches_an_endpoint_in_event_order(
    wctx: AppContext,
    contexts: Contexts,
    wclient: httpx.AsyncClient,
    shop: MerchantKeys,
    receiver: Receiver,
) -> None:
    url = receiver.set("/ordered", status=503)
    endpoint = await add_endpoint(wclient, shop, url)
    first = await create_intent(wclient, shop)
    other = await create_intent(wclient, shop)
    await move(wctx, first, "processing", "completed")
    await pump(wctx)
    # payment.processing failed; payment.completed of the same payment waits behind it
    assert [json.loads(g.body)["event"] for g in receiver.received()] == ["payment.processing"]
    by_event = {d.event_type: d for d in await deliveries_of(wctx, endpoint["id"])}
    assert by_event["payment.processing"].status == "retrying"
    assert (
        by_event["payment.completed"].status == "pending"
        and by_event["payment.completed"].attempts == 0
    )

    await move(wctx, other, "completed")  # another payment is not held up
    await pump(wctx)
    assert [json.loads(g.body)["transaction_id"] for g in receiver.received()] == [first, other]

    receiver.set("/ordered")
    await asyncio.sleep(1.05)
    await pump(wctx)
    mine = [
        json.loads(g.body)
        for g in receiver.received()
        if json.loads(g.body)["transaction_id"] == first
    ]
    assert [p["event"] for p in mine] == [
        "payment.processing",
        "payment.processing",
        "payment.completed",
    ]
    assert all(d.status == "succeeded" for d in await deliveries_of(wctx, endpoint["id"]))


async def test_a_dead_earlier_delivery_does_not_block_later_ones(
    contexts: Contexts, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    ctx = contexts(webhook_retry_schedule=(0,))  # two attempts, no wait, then dead
    endpoint = await add_endpoint(wclient, shop, receiver.set("/never", status=500))
    txn = await create_intent(wclient, shop)
    await move(ctx, txn, "processing", "completed")
    await pump(ctx)
    events = [json.loads(g.body)["event"] for g in receiver.received()]
    assert events == ["payment.processing"] * 2 + ["payment.completed"] * 2
    assert {d.status for d in await deliveries_of(ctx, endpoint["id"])} == {"dead"}


async def test_a_slow_endpoint_holds_only_its_own_slots(
    contexts: Contexts, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    ctx = contexts(webhook_timeout=5.0, webhook_per_endpoint=2, webhook_concurrency=8)
    slow = await add_endpoint(wclient, shop, receiver.set("/stuck", stall=True))
    fast = await add_endpoint(wclient, shop, receiver.set("/quick"))
    for _ in range(4):
        await move(ctx, await create_intent(wclient, shop), "completed")
    await dispatch_events(ctx)
    task = asyncio.create_task(deliver_due(ctx))
    try:
        await receiver.wait_for(
            lambda got: len([g for g in got if g.path == "/quick"]) == 4, within=4
        )
        deadline = time.monotonic() + 3  # the fast receiver's answers are recorded meanwhile
        while time.monotonic() < deadline:
            if all(d.status == "succeeded" for d in await deliveries_of(ctx, fast["id"])):
                break
            await asyncio.sleep(0.02)
        assert all(d.status == "succeeded" for d in await deliveries_of(ctx, fast["id"]))
        assert len(receiver.received("/stuck")) == 2  # the per-endpoint limit, not all four
        assert {d.status for d in await deliveries_of(ctx, slow["id"])} == {"pending"}
    finally:
        receiver.release()
        await asyncio.wait_for(task, timeout=15)
    assert len(receiver.received("/stuck")) == 4
    assert all(d.status == "succeeded" for d in await deliveries_of(ctx, slow["id"]))


async def test_rotation_sends_both_signatures_during_the_overlap(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(wclient, shop, receiver.set("/rot"))
    old = endpoint["secret"]
    r = await wclient.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=shop.auth()
    )
    new = r.json()["secret"]
    await move(wctx, await create_intent(wclient, shop), "completed")
    await pump(wctx)
    [got] = receiver.received()
    ts = got.headers["x-ownpay-timestamp"]
    assert (
        got.headers["x-ownpay-signature"]
        == f"{hand_signature(new, ts, got.body)} {hand_signature(old, ts, got.body)}"
    )
    assert got.headers["webhook-signature"] == (
        hand_standard(new, got.delivery_id, ts, got.body)
        + " "
        + hand_standard(old, got.delivery_id, ts, got.body)
    )
    verify_signature(old, got.headers, got.body)
    verify_signature(new, got.headers, got.body)

    async with wctx.sessions() as s, s.begin():  # 24 h later
        await s.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
        )
    await move(wctx, await create_intent(wclient, shop), "completed")
    await pump(wctx)
    later = receiver.received()[-1]
    assert later.headers["x-ownpay-signature"] == hand_signature(
        new, later.headers["x-ownpay-timestamp"], later.body
    )
    listed = await wclient.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=shop.auth())
    assert listed.json()["previous_secret_expires_at"] is None


def _ok() -> AttemptResult:
    return AttemptResult(
        started_at=utcnow(), duration_ms=3, status_code=204, response_body="", error=None
    )


async def test_a_lease_is_reclaimed_after_it_runs_out_and_a_stale_result_is_discarded(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(wclient, shop, receiver.set("/lease"))
    await move(wctx, await create_intent(wclient, shop), "completed")
    await dispatch_events(wctx)
    [delivery] = await deliveries_of(wctx, endpoint["id"])

    first = [c for c in await claim_due(wctx, limit=100) if c.delivery_id == delivery.id]
    assert len(first) == 1  # ...and then this worker "dies" before recording anything
    assert delivery.id not in [c.delivery_id for c in await claim_due(wctx, limit=100)]
    [held] = await deliveries_of(wctx, endpoint["id"])
    assert held.locked_until is not None
    expected = utcnow() + timedelta(seconds=lease_seconds(wctx.settings))
    assert abs((held.locked_until - expected).total_seconds()) < 5
    r = await wclient.post(f"/api/v1/webhooks/deliveries/{delivery.id}/retry", headers=shop.auth())
    assert r.status_code == 409 and r.json()["code"] == "INVALID_STATE"
    assert "being attempted right now" in r.text

    async with wctx.sessions() as s, s.begin():  # the lease runs out
        await s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    second = [c for c in await claim_due(wctx, limit=100) if c.delivery_id == delivery.id]
    assert len(second) == 1 and second[0].lease_token != first[0].lease_token
    assert second[0].body == first[0].body

    assert await record(wctx, first[0], _ok()) is False  # the dead worker's late answer
    assert await attempts_of(wctx, delivery.id) == []
    assert await record(wctx, second[0], _ok()) is True
    [done] = await deliveries_of(wctx, endpoint["id"])
    assert done.status == "succeeded" and done.attempts == 1 and done.locked_until is None
    assert len(await attempts_of(wctx, delivery.id)) == 1


async def test_deleting_an_endpoint_cancels_its_open_deliveries_and_disabling_holds_them(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    held = await add_endpoint(wclient, shop, receiver.set("/held"))
    gone = await add_endpoint(wclient, shop, receiver.set("/gone"))
    for eid in (held["id"], gone["id"]):
        await wclient.patch(
            f"/api/v1/webhook-endpoints/{eid}", headers=shop.auth(), json={"enabled": False}
        )
    await move(wctx, await create_intent(wclient, shop), "completed")
    await pump(wctx)
    assert await deliveries_of(wctx, held["id"]) == []  # disabled: no fan-out
    for eid in (held["id"], gone["id"]):
        await wclient.patch(
            f"/api/v1/webhook-endpoints/{eid}", headers=shop.auth(), json={"enabled": True}
        )
    await move(wctx, await create_intent(wclient, shop), "completed")
    await dispatch_events(wctx)
    await wclient.patch(
        f"/api/v1/webhook-endpoints/{held['id']}", headers=shop.auth(), json={"enabled": False}
    )
    await wclient.delete(f"/api/v1/webhook-endpoints/{gone['id']}", headers=shop.auth())
    await pump(wctx)
    assert receiver.received() == []
    [h] = await deliveries_of(wctx, held["id"])
    [g] = await deliveries_of(wctx, gone["id"])
    assert h.status == "pending" and g.status == "cancelled"
    r = await wclient.post(f"/api/v1/webhooks/deliveries/{g.id}/retry", headers=shop.auth())
    assert r.status_code == 409
    r = await wclient.post(f"/api/v1/webhooks/deliveries/{h.id}/retry", headers=shop.auth())
    assert r.status_code == 409 and "disabled" in r.json()["message"]
    await wclient.patch(
        f"/api/v1/webhook-endpoints/{held['id']}", headers=shop.auth(), json={"enabled": True}
    )
    await pump(wctx)
    assert [g.path for g in receiver.received()] == ["/held"]


@pytest.mark.parametrize("outcome", ["failed", "cancelled", "expired", "awaiting_verification"])
async def test_other_payment_events_are_delivered(
    wctx: AppContext,
    wclient: httpx.AsyncClient,
    shop: MerchantKeys,
    receiver: Receiver,
    outcome: str,
) -> None:
    endpoint = await add_endpoint(
        wclient, shop, receiver.set("/other"), events=[f"payment.{outcome}"]
    )
    txn = await create_intent(
        wclient, shop, gateway="manual" if outcome == "awaiting_verification" else "sandbox"
    )
    if outcome == "expired":
        from ownpay.payments.models import PaymentIntent

        async with wctx.sessions() as s, s.begin():
            await s.execute(
                update(PaymentIntent)
                .where(PaymentIntent.id == txn)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
    await move(wctx, txn, outcome)
    await pump(wctx)
    [got] = receiver.received()
    body = json.loads(got.body)
    assert body["event"] == got.headers["x-ownpay-event"] == f"payment.{outcome}"
    assert body["status"] == outcome and body["transaction_id"] == txn
    assert got.headers["x-ownpay-signature"] == hand_signature(
        endpoint["secret"], got.headers["x-ownpay-timestamp"], got.body
    )
