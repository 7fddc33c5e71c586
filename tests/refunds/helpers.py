"""Shared helpers for refund and ledger tests: pay through the real checkout, refund through
the API, read what the database says.  Test-side provider stand-ins live in ``fakes.py``."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.ledger import service as ledger
from ownpay.ledger import verify as ledger_verify
from ownpay.merchants import service as merchants
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from tests.conftest import MerchantKeys, intent_body

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def new_intent(client: httpx.AsyncClient, merchant: MerchantKeys, *, mode: str = "test",
                     **overrides: Any) -> str:
    r = await client.post("/api/v1/payment-intents", json=intent_body(**overrides),
                          headers=merchant.auth(mode))
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def checkout(client: httpx.AsyncClient, txn: str, **form: str) -> httpx.Response:
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    assert token, page.text[:500]
    return await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1), **form})


async def paid(client: httpx.AsyncClient, merchant: MerchantKeys, amount: str = "99.99",
               *, gateway: str = "sandbox", mode: str = "test", **overrides: Any) -> str:
    """A payment completed through the hosted checkout (manual: submitted, then approved)."""
    txn = await new_intent(client, merchant, gateway=gateway, amount=amount, mode=mode,
                           **overrides)
    if gateway == "manual":
        r = await checkout(client, txn, sender_account="01700000000",
                           provider_txn_id="T" + secrets.token_hex(6))
        assert r.status_code == 303, r.text
        r = await client.post(f"/api/v1/payment-intents/{txn}/approve",
                              headers=merchant.auth(mode))
        assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    else:
        r = await checkout(client, txn, outcome="succeed")
        assert r.status_code == 303, r.text
        assert (await payment(client, merchant, txn, mode=mode))["status"] == "completed"
    return txn


async def failed_payment(client: httpx.AsyncClient, merchant: MerchantKeys) -> str:
    txn = await new_intent(client, merchant)
    await checkout(client, txn, outcome="fail")
    return txn


async def payment(client: httpx.AsyncClient, merchant: MerchantKeys, txn: str,
                  *, mode: str = "test") -> dict[str, Any]:
    r = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth(mode))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def refund(client: httpx.AsyncClient, merchant: MerchantKeys, txn: str,
                 amount: Any = None, *, mode: str = "test", key: str | None = None,
                 **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"transaction_id": txn, **extra}
    if amount is not None:
        body["amount"] = amount
    headers = merchant.auth(mode)
    if key:
        headers["Idempotency-Key"] = key
    return await client.post("/api/v1/refunds", json=body, headers=headers)


async def refund_rows(ctx: AppContext, txn: str) -> list[Refund]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(Refund).where(Refund.payment_id == txn)
                                    .order_by(Refund.created_at, Refund.id)))


async def payment_row(ctx: AppContext, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        row = await s.get(PaymentIntent, txn)
    assert row is not None
    return row


async def event_types(ctx: AppContext, txn: str) -> list[str]:
    async with ctx.sessions() as s:
        rows = await s.scalars(select(OutboxEvent).where(OutboxEvent.payment_id == txn)
                               .order_by(OutboxEvent.created_at, OutboxEvent.id))
        return [e.type for e in rows]


async def events(ctx: AppContext, txn: str, event_type: str) -> list[dict[str, Any]]:
    async with ctx.sessions() as s:
        rows = await s.scalars(select(OutboxEvent).where(OutboxEvent.payment_id == txn,
                                                         OutboxEvent.type == event_type)
                               .order_by(OutboxEvent.created_at, OutboxEvent.id))
        return [dict(e.payload) for e in rows]


async def count_refunds(ctx: AppContext, merchant_id: int) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Refund)
                                  .where(Refund.merchant_id == merchant_id)) or 0)


async def assert_books_balance(ctx: AppContext, merchant: MerchantKeys) -> ledger.Report:
    async with ctx.sessions() as s:
        report = await ledger_verify.operator_verify(s, merchant_id=merchant.id)
    assert report.ok, report.as_dict()["problems"]
    return report


async def extra_key(ctx: AppContext, merchant: MerchantKeys, scopes: tuple[str, ...],
                    mode: str = "test") -> dict[str, str]:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        key = await merchants.create_api_key(s, merchant=m, mode=mode, scopes=scopes)
    return {"Authorization": f"Bearer {key.api_key}"}
