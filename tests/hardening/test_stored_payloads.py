"""Finding 1 of issue 16, for rows stored before the JSON reader was strict: a payment whose
stored metadata holds an integer orjson cannot write still answers, and one outbox event
that cannot become a webhook body is set aside while the rest of the batch is delivered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert, select, update

from ownpay import ids
from ownpay.db import utcnow
from ownpay.outbox.models import OutboxEvent
from ownpay.outbox.writer import record_event
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from ownpay.webhooks import service as webhooks
from ownpay.webhooks.delivery import dispatch_events
from ownpay.webhooks.models import WebhookDelivery
from tests.support.databases import Isolated, isolated
from tests.support.factories import create_merchant, intent_body

BIG = 2**64 + 7


@pytest.fixture
async def env(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Isolated]:
    async with isolated(backend, tmp_path_factory.mktemp("stored-payloads")) as found:
        yield found


@pytest.mark.api
async def test_a_payment_with_an_unwritable_stored_number_still_answers(env: Isolated) -> None:
    merchant = await create_merchant(env.ctx)
    transport = httpx.ASGITransport(app=env.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as client:
        created = await client.post("/api/v1/payment-intents", json=intent_body(),
                                    headers=merchant.auth())
        txn = created.json()["transaction_id"]
        async with env.ctx.sessions() as s, s.begin():  # what the old code let through
            await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn)
                            .values(metadata_={"n": BIG}))
        got = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
        assert got.status_code == 200 and got.json()["metadata"] == {"n": str(BIG)}
        listed = await client.get("/api/v1/transactions", headers=merchant.auth())
        assert listed.status_code == 200
        assert [t["metadata"] for t in listed.json()["data"]] == [{"n": str(BIG)}]
        detail = await client.get(f"/api/v1/transactions/{txn}", headers=merchant.auth())
        assert detail.status_code == 200
        export = await client.get("/api/v1/transactions/export", headers=merchant.auth())
        assert export.status_code == 200
        lines = export.text.strip().split("\r\n")
        assert len(lines) == 2 and str(BIG) in lines[1]
        cancelled = await client.post(f"/api/v1/payment-intents/{txn}/cancel",
                                      headers=merchant.auth())
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def _failed_total() -> float:
    return REGISTRY.get_sample_value("ownpay_outbox_events_failed_total") or 0.0


async def test_one_unsendable_event_is_set_aside_and_the_batch_goes_on(env: Isolated) -> None:
    ctx = env.ctx
    merchant = await create_merchant(ctx)
    other = await create_merchant(ctx)
    now = utcnow()
    async with ctx.sessions() as s, s.begin():
        for m in (merchant, other):
            await webhooks.create_endpoint(s, ctx.keyring, ctx.settings,
                                           scope=TenantScope(m.id, "test"),
                                           body={"url": "http://127.0.0.1:9/hook"})
        before = await record_event(s, merchant_id=other.id, mode="test",
                                    event_type="refund.failed", payment_id=None,
                                    payload={"n": 1}, now=now)
        big = await record_event(s, merchant_id=merchant.id, mode="test",
                                 event_type="refund.failed", payment_id=None,
                                 payload={"n": BIG}, now=now)
        broken = ids.event_id()
        await s.execute(insert(OutboxEvent).values(
            id=broken, merchant_id=merchant.id, mode="test", type="refund.failed",
            payment_id=None, payload=[1, 2], created_at=now))
        after = await record_event(s, merchant_id=other.id, mode="test",
                                   event_type="refund.failed", payment_id=None,
                                   payload={"n": 2}, now=now)
    failed_before = _failed_total()

    assert await dispatch_events(ctx) == 4

    async with ctx.sessions() as s:
        bodies = dict((await s.execute(
            select(WebhookDelivery.event_id, WebhookDelivery.body))).all())
        events = {e.id: e for e in await s.scalars(select(OutboxEvent))}
    assert set(bodies) == {before, big, after}
    assert f'"n":"{BIG}"'.encode() in bodies[big]
    assert all(e.dispatched_at is not None for e in events.values())
    assert events[broken].dispatch_error == "ValueError: the event payload is not an object"
    assert events[before].dispatch_error is None
    assert _failed_total() == failed_before + 1
    assert await dispatch_events(ctx) == 0  # nothing left stuck in the queue
