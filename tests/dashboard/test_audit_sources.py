"""Every surface writes the audit log: API keys (configuration and money actions, in the
request's transaction) and the ``ownpay`` commands (named by the OS user), with the
changed fields and no secret."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from tests.support.commands import in_process
from tests.support.factories import make_intent, make_refund
from tests.support.settings import SECRET_KEY

pytestmark = pytest.mark.api


async def rows_for(ctx: Any, merchant_id: int) -> list[AuditEntry]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(AuditEntry).where(
            AuditEntry.merchant_id == merchant_id).order_by(AuditEntry.id)))


async def test_api_key_actions_are_audited(client: httpx.AsyncClient, ctx: Any,
                                           merchant: Any) -> None:
    auth = merchant.auth()
    made = await client.post("/api/v1/webhook-endpoints", headers=auth,
                             json={"url": "http://127.0.0.1:9/hooks"})
    assert made.status_code == 201
    endpoint, secret = made.json()["id"], made.json()["secret"]
    assert (await client.patch(f"/api/v1/webhook-endpoints/{endpoint}", headers=auth,
                               json={"description": "orders", "enabled": False})).status_code == 200
    assert (await client.post(f"/api/v1/webhook-endpoints/{endpoint}/rotate-secret",
                              headers=auth)).status_code == 200
    assert (await client.delete(f"/api/v1/webhook-endpoints/{endpoint}",
                                headers=auth)).status_code == 200
    txn = await make_intent(client, ctx, merchant)
    assert (await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=auth,
                              json={"reason": "customer asked"})).status_code == 200
    assert (await client.put("/api/v1/fee-rules", headers=auth, json={
        "gateway": "sandbox", "currency": "USD", "flat": "0.30"})).status_code == 200
    refund = await make_refund(client, ctx, merchant)
    # A refused request writes nothing.
    assert (await client.patch(f"/api/v1/webhook-endpoints/{endpoint}", headers=auth,
                               json={"url": "nope"})).status_code in (400, 404)

    rows = await rows_for(ctx, merchant.id)
    assert [r.action for r in rows] == [
        "webhook_endpoint.created", "webhook_endpoint.updated",
        "webhook_endpoint.secret_rotated", "webhook_endpoint.deleted", "payment.cancelled",
        "fee_rule.set", "refund.created"]
    assert {r.actor_type for r in rows} == {"api_key"}
    assert all(r.actor.startswith("key:") and r.mode == "test" and r.request_id for r in rows)
    updated = rows[1].changes
    assert updated["description"] == {"before": None, "after": "orders"}
    assert updated["enabled"] == {"before": True, "after": False}
    assert rows[4].object_id == txn and rows[4].changes["reason"] == "customer asked"
    assert rows[6].object_id == refund and rows[6].changes["amount"] == "1.00 USD"
    assert all(secret not in json.dumps(r.changes) for r in rows)


async def test_cli_actions_are_audited_without_secrets(ctx: Any, merchant: Any) -> None:
    env: dict[str, str | None] = {
        "OWNPAY_DATABASE_URL": ctx.settings.resolved_database_url,
        "OWNPAY_DATA_DIR": str(ctx.settings.data_dir), "OWNPAY_SECRET_KEY": SECRET_KEY}

    async def cli(*args: str) -> Any:
        result = await asyncio.to_thread(in_process, env, *args)
        assert result.exit_code == 0, result.stderr
        return result

    key = json.loads((await cli("api-keys", "create", "--merchant", merchant.slug, "--mode",
                                "live", "--json")).stdout)
    await cli("api-keys", "revoke", str(key["id"]))
    await cli("gateways", "enable", "manual", "--merchant", merchant.slug, "--mode", "live",
              "--set", "instructions=Pay to account 12345", "--display-name", "Bank transfer")
    await cli("merchants", "update", merchant.slug, "--name", "Renamed Shop")
    rows = await rows_for(ctx, merchant.id)
    assert [r.action for r in rows] == ["api_key.created", "api_key.revoked", "gateway.enabled",
                                        "merchant.updated"]
    assert all(r.actor_type == "cli" and r.actor.startswith("cli:") for r in rows)
    assert key["api_key"] not in json.dumps([r.changes for r in rows])
    assert rows[2].changes["settings"] == ["instructions"]  # names only, never values
    assert rows[3].changes["name"]["after"] == "Renamed Shop"
    verified = await cli("audit", "verify")
    assert "intact" in verified.stdout


async def test_the_worker_expiring_a_payment_is_in_the_audit_log(
        client: httpx.AsyncClient, ctx: Any, merchant: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from ownpay.audit import verify
    from ownpay.db import utcnow
    from ownpay.payments.models import PaymentIntent
    from ownpay.worker import expire_due

    due = await make_intent(client, ctx, merchant)
    fresh = await make_intent(client, ctx, merchant)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == due)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    await expire_due(ctx)
    await expire_due(ctx)  # nothing more to do: no second row
    rows = [r for r in await rows_for(ctx, merchant.id) if r.actor_type == "worker"]
    assert [(r.actor, r.action, r.object_type, r.object_id) for r in rows] == [
        ("worker:expiry", "payment.expired", "payment", due)]
    assert rows[0].mode == "test" and rows[0].role is None
    assert rows[0].changes["status"] == {"before": "pending", "after": "expired"}
    assert fresh not in {r.object_id for r in rows}
    async with ctx.sessions() as s:
        assert (await verify(s)).ok
