"""The webhook body and the API say the same thing about the same payment (read from the
outbox, where the delivered body comes from byte for byte)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ownpay.outbox.models import OutboxEvent
from tests.support.checkout import checkout, new_intent, payment


async def _events(ctx: Any, txn: str) -> list[dict[str, Any]]:
    async with ctx.sessions() as s:
        rows = (await s.scalars(select(OutboxEvent).where(OutboxEvent.payment_id == txn)
                                .order_by(OutboxEvent.created_at, OutboxEvent.id))).all()
    return [dict(r.payload) for r in rows]


async def test_metadata_is_an_object_in_the_api_and_the_webhook_alike(
    client, ctx, merchant
) -> None:
    """The spec types ``metadata`` as an object: none given is ``{}`` everywhere (the API
    used to say ``null`` where the webhook said ``{}``)."""
    txn = await new_intent(client, merchant)
    r = await checkout(client, txn, outcome="succeed")
    assert r.status_code == 303
    body = (await _events(ctx, txn))[-1]
    assert body["event"] == "payment.completed"
    api = await payment(client, merchant, txn)
    listed = (await client.get(f"/api/v1/transactions/{txn}", headers=merchant.auth())).json()
    assert body["metadata"] == api["metadata"] == listed["metadata"] == {}
    given = await new_intent(client, merchant, metadata={"user_id": "42"})
    await checkout(client, given, outcome="fail")
    failed = (await _events(ctx, given))[-1]
    assert failed["event"] == "payment.failed"
    assert failed["metadata"] == (await payment(client, merchant, given))["metadata"] == {
        "user_id": "42"}
