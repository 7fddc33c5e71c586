"""Helpers of the Payments and Refunds page tests: an in-process client signed in as a new
operator of a role (:func:`signed_in`), payments seeded as specs, audit rows of an action,
a payment as stored, and a customer-controlled string that must come out escaped."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from ownpay.payments.models import PaymentIntent
from tests.support.dashboard import Operator, make_user, sign_in
from tests.support.factories import MerchantKeys
from tests.support.transactions import Spec, insert_specs

HOSTILE = "<script>alert(1)</script>\"'{{ 7*7 }}"


async def signed_in(app: Any, ctx: Any, role: str, brand: MerchantKeys | None) -> tuple[
        httpx.AsyncClient, Operator]:
    user = await make_user(ctx, role, merchant=brand.slug if brand else None)
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pay.test")
    assert (await sign_in(c, user.email, user.password)).status_code == 303
    return c, user


async def seed(ctx: Any, merchant: MerchantKeys, *specs: Spec) -> list[Spec]:
    await insert_specs(ctx, list(specs))
    return list(specs)


async def audit_rows(ctx: Any, action: str) -> list[AuditEntry]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def intent_of(ctx: Any, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        found = await s.get(PaymentIntent, txn)
        assert found is not None
        return found
