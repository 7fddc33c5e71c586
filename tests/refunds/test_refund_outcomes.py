"""What happens when a gateway declines, answers later, loses the answer, loses the request,
or the process dies mid-call: refunds stay pending until the gateway (or an operator) says
otherwise, are never failed for lack of an answer, and never move money twice.

The gateways are the provider stand-ins of ``fakes.py`` (they keep the provider's books in
``fakes.BANK``); everything else is the real API, service, worker step and database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from ownpay.db import utcnow
from ownpay.refunds import flows as service
from ownpay.refunds.models import Refund
from ownpay.refunds.schemas import RefundRequest
from ownpay.tenancy import TenantScope
from tests.support import fake_gateways as fakes
from tests.support.checkout import paid, payment, refund
from tests.support.records import assert_books_balance, events, payment_row, refund_rows

STRIPE_LIKE = fakes.IdempotentQueryable.slug
BLIND = fakes.Blind.slug
IDEM_BLIND = fakes.IdempotentBlind.slug


def later(hours: float = 1) -> object:
    """A worker tick far enough ahead that every lease and back-off has run out."""
    return utcnow() + timedelta(hours=hours)


async def reconcile(ctx, hours: float = 1) -> int:
    return await service.reconcile(ctx, now=later(hours))  # type: ignore[arg-type]


async def test_declined_refund_releases_the_reservation(client, ctx, fake_merchant) -> None:
    m = fake_merchant
    txn = await paid(client, m, "80.00", gateway=STRIPE_LIKE)
    r = await refund(client, m, txn, "30.00", reason="decline please")
    assert r.status_code == 201
    body = r.json()
    assert (body["status"], body["failure_reason"]) == ("failed", "declined by the bank")
    row = await payment_row(ctx, txn)
    assert (row.status, row.refunded_minor, row.refund_reserved_minor) == ("completed", 0, 0)
    (event,) = await events(ctx, txn, "refund.failed")
    assert event["refund_id"] == body["id"] and event["amount"] == 30
    full = await refund(client, m, txn)
    assert full.status_code == 201 and full.json()["amount"] == 80
    await assert_books_balance(ctx, m)


async def test_lost_answer_is_settled_by_asking_the_gateway(client, ctx, fake_merchant) -> None:
    m = fake_merchant
    txn = await paid(client, m, "25.00", gateway=STRIPE_LIKE)
    r = await refund(client, m, txn, reason="lose-reply")
    body = r.json()
    assert r.status_code == 201 and body["status"] == "pending"
    assert body["pending_reason"] == "awaiting_gateway"
    assert fakes.BANK[body["id"]]["executions"] == 1
    row = await payment_row(ctx, txn)
    assert (row.status, row.refund_reserved_minor) == ("completed", 2500)
    assert await reconcile(ctx) >= 1
    got = (await client.get(f"/api/v1/refunds/{body['id']}", headers=m.auth())).json()
    assert got["status"] == "completed" and got["provider_refund_id"] == f"bank_{body['id']}"
    assert fakes.BANK[body["id"]]["requests"] == 1  # asked, never sent again
    assert (await payment(client, m, txn))["status"] == "refunded"
    await assert_books_balance(ctx, m)


async def test_lost_request_is_sent_again_to_an_idempotent_gateway(
    client, ctx, fake_merchant
) -> None:
    m = fake_merchant
    txn = await paid(client, m, "25.00", gateway=STRIPE_LIKE)
    body = (await refund(client, m, txn, "5.00", reason="lose-request")).json()
    assert body["status"] == "pending" and body["id"] not in fakes.BANK
    await reconcile(ctx)
    (row,) = await refund_rows(ctx, txn)
    assert row.status == "completed" and row.send_count == 2
    bank = fakes.BANK[body["id"]]
    assert (bank["requests"], bank["executions"], fakes.LOST[body["id"]]) == (1, 1, 1)
    await assert_books_balance(ctx, m)


async def test_idempotent_gateway_that_cannot_be_asked_gets_a_resend(
    client, ctx, fake_merchant
) -> None:
    m = fake_merchant
    txn = await paid(client, m, "25.00", gateway=IDEM_BLIND)
    body = (await refund(client, m, txn, "5.00", reason="lose-reply")).json()
    assert body["status"] == "pending" and body["pending_reason"] == "awaiting_gateway"
    await reconcile(ctx)
    (row,) = await refund_rows(ctx, txn)
    assert row.status == "completed"
    bank = fakes.BANK[body["id"]]
    assert (bank["requests"], bank["executions"]) == (2, 1)  # asked twice, paid once


async def test_blind_gateway_unknown_outcome_waits_for_an_operator(
    client, ctx, fake_merchant
) -> None:
    m = fake_merchant
    txn = await paid(client, m, "25.00", gateway=BLIND)
    body = (await refund(client, m, txn, "5.00", reason="lose-reply")).json()
    assert (body["status"], body["pending_reason"]) == ("pending", "awaiting_operator")
    for hours in (1, 24, 24 * 30):  # the worker never fails it and never sends it again
        await reconcile(ctx, hours)
    (row,) = await refund_rows(ctx, txn)
    assert (row.status, row.send_count) == ("pending", 1)
    assert fakes.BANK[body["id"]]["requests"] == 1
    r = await client.post(f"/api/v1/refunds/{body['id']}/confirm", headers=m.auth())
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert (await payment_row(ctx, txn)).refunded_minor == 500
    await assert_books_balance(ctx, m)


async def test_processing_refund_is_settled_when_the_gateway_decides(
    client, ctx, fake_merchant
) -> None:
    m = fake_merchant
    txn = await paid(client, m, "60.00", gateway=STRIPE_LIKE)
    good = (await refund(client, m, txn, "10.00", reason="processing")).json()
    bad = (await refund(client, m, txn, "20.00", reason="processing")).json()
    assert good["status"] == bad["status"] == "pending"
    await reconcile(ctx)
    assert {r.status for r in await refund_rows(ctx, txn)} == {"pending"}
    r = await client.post(f"/api/v1/refunds/{good['id']}/confirm", headers=m.auth())
    assert r.status_code == 409  # the gateway settles it, not a person
    fakes.BANK[good["id"]]["settle"] = "succeeded"
    fakes.BANK[bad["id"]]["settle"] = "failed"
    await reconcile(ctx, 2)
    statuses = {r.id: r.status for r in await refund_rows(ctx, txn)}
    assert statuses == {good["id"]: "completed", bad["id"]: "failed"}
    row = await payment_row(ctx, txn)
    assert (row.status, row.refunded_minor, row.refund_reserved_minor) == (
        "partially_refunded", 1000, 0)
    assert [e["refund_id"] for e in await events(ctx, txn, "refund.failed")] == [bad["id"]]
    await assert_books_balance(ctx, m)


async def _crash_mid_call(client, merchant, txn: str) -> str:
    """Send a refund whose gateway call never returns, then kill the request mid-call."""
    before = set(fakes.BANK)
    task = asyncio.create_task(refund(client, merchant, txn, "7.00", reason="hang"))
    for _ in range(500):
        if set(fakes.BANK) - before:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    (refund_id,) = set(fakes.BANK) - before
    return refund_id


async def test_crash_mid_call_is_resolved_without_sending_twice(client, ctx, fake_merchant) -> None:
    m = fake_merchant
    txn = await paid(client, m, "30.00", gateway=STRIPE_LIKE)
    refund_id = await _crash_mid_call(client, m, txn)
    (row,) = await refund_rows(ctx, txn)
    assert (row.id, row.status, row.stage) == (refund_id, "pending", "sending")
    await reconcile(ctx)
    (row,) = await refund_rows(ctx, txn)
    assert row.status == "completed" and row.send_count == 1
    assert fakes.BANK[refund_id]["requests"] == 1
    await assert_books_balance(ctx, m)


async def test_crash_mid_call_on_a_blind_gateway_is_never_resent(
    client, ctx, fake_merchant
) -> None:
    m = fake_merchant
    txn = await paid(client, m, "30.00", gateway=BLIND)
    refund_id = await _crash_mid_call(client, m, txn)
    await reconcile(ctx)
    await reconcile(ctx, 48)
    got = (await client.get(f"/api/v1/refunds/{refund_id}", headers=m.auth())).json()
    assert (got["status"], got["pending_reason"]) == ("pending", "awaiting_operator")
    assert fakes.BANK[refund_id]["requests"] == 1
    r = await client.post(f"/api/v1/refunds/{refund_id}/fail",
                          json={"reason": "bank says it never arrived"}, headers=m.auth())
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert (await payment_row(ctx, txn)).refund_reserved_minor == 0
    await assert_books_balance(ctx, m)


async def test_refund_committed_but_never_sent_is_sent_by_the_worker(
    client, ctx, fake_merchant
) -> None:
    """A crash between creating the refund and claiming it: nobody sent it, so the worker
    does, once."""
    m = fake_merchant
    txn = await paid(client, m, "30.00", gateway=BLIND)
    plan = service.RefundPlan(ctx, TenantScope(m.id, "test"),
                              RefundRequest(transaction_id=txn, amount=None, reason=None))
    await plan.load()
    async with ctx.sessions() as s, s.begin():
        queued = await service.reserve(s, plan, actor="test")
    assert isinstance(queued, Refund) and queued.stage == "queued"
    got = (await client.get(f"/api/v1/refunds/{queued.id}", headers=m.auth())).json()
    assert got["pending_reason"] == "queued"
    assert await service.reconcile(ctx) == 0  # not due yet: its request may still send it
    await asyncio.gather(reconcile(ctx), reconcile(ctx), reconcile(ctx))
    (row,) = await refund_rows(ctx, txn)
    assert (row.status, row.send_count) == ("completed", 1)
    assert fakes.BANK[queued.id]["requests"] == 1
    await assert_books_balance(ctx, m)


async def test_concurrent_workers_resend_at_most_once(client, ctx, fake_merchant) -> None:
    m = fake_merchant
    txn = await paid(client, m, "50.00", gateway=IDEM_BLIND)
    ids = [(await refund(client, m, txn, "5.00", reason="lose-reply")).json()["id"]
           for _ in range(4)]
    await asyncio.gather(*[reconcile(ctx) for _ in range(4)])
    rows = await refund_rows(ctx, txn)
    assert {r.status for r in rows} == {"completed"} and {r.send_count for r in rows} == {2}
    assert [fakes.BANK[i]["requests"] for i in ids] == [2, 2, 2, 2]
    assert [fakes.BANK[i]["executions"] for i in ids] == [1, 1, 1, 1]
    await assert_books_balance(ctx, m)


async def test_provider_refund_event_hurries_processing_refunds(client, ctx, fake_merchant) -> None:
    m = fake_merchant
    txn = await paid(client, m, "20.00", gateway=STRIPE_LIKE)
    body = (await refund(client, m, txn, "4.00", reason="processing")).json()
    fakes.BANK[body["id"]]["settle"] = "succeeded"
    assert await service.reconcile_payment(ctx, txn) == 1
    (row,) = await refund_rows(ctx, txn)
    assert row.status == "completed"


async def test_the_worker_settling_a_refund_is_in_the_audit_log(client, ctx, fake_merchant) -> None:
    from sqlalchemy import select

    from ownpay import audit
    from ownpay.audit.models import AuditEntry

    m = fake_merchant
    txn = await paid(client, m, "25.00", gateway=STRIPE_LIKE)
    body = (await refund(client, m, txn, reason="lose-reply")).json()
    assert body["status"] == "pending"
    async with ctx.sessions() as s:
        before = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "refund", AuditEntry.object_id == body["id"])))
    assert [(r.actor_type, r.action) for r in before] == [("api_key", "refund.created")]
    await reconcile(ctx)
    async with ctx.sessions() as s:
        rows = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "refund", AuditEntry.object_id == body["id"])
            .order_by(AuditEntry.id)))
        assert (await audit.verify(s)).ok
    assert [(r.actor_type, r.action) for r in rows] == [
        ("api_key", "refund.created"), ("worker", "refund.completed")]
    row = rows[1]
    assert row.actor == "worker:refunds" and row.ip is None and row.request_id is None
    assert (row.merchant_id, row.mode) == (m.id, "test")
    assert row.changes["status"] == {"before": "pending", "after": "completed"}
