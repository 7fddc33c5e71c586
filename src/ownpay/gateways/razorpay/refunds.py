"""Razorpay refunds through the SDK: normal-speed refunds of a captured payment
(``POST /v1/payments/{id}/refund``), made idempotent by our refund id with Razorpay's
``X-Refund-Idempotency`` header (so the core may send a refund again after a lost answer:
the money moves once), fetched by Razorpay's id (``GET /v1/refunds/{id}``) or found by ours
in the payment's list (``GET /v1/payments/{id}/refunds``, ``notes.ownpay_refund_id``)."""

from __future__ import annotations

import re
from typing import Any

from ownpay.gateways.base import (
    GatewayContext,
    GatewayError,
    Outcome,
    PaymentView,
    ProviderRefund,
    RefundResult,
)
from ownpay.gateways.executor import ProviderUnavailable
from ownpay.gateways.razorpay import client, mapping
from ownpay.gateways.razorpay.client import RazorpayRefused, path_id
from ownpay.gateways.razorpay.mapping import AmountNotRepresentable

_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def idempotency_key(refund_id: str) -> str:
    """``X-Refund-Idempotency`` for our refund (10+ characters: letters, digits, - and _)."""
    return ("ownpay-" + _SAFE.sub("-", refund_id))[:64]


async def send(ctx: GatewayContext, payment: PaymentView, *, amount_minor: int,
               refund_id: str, reason: str | None) -> RefundResult:
    if not payment.provider_txn_id:
        return RefundResult(outcome=Outcome.FAILED,
                            reason="payment has no Razorpay payment id; nothing sent")
    if not 0 < amount_minor <= payment.amount_minor:
        return RefundResult(outcome=Outcome.FAILED,
                            reason="refund amount out of range; nothing sent")
    try:
        amount = mapping.to_razorpay_amount(amount_minor, payment.currency)
    except AmountNotRepresentable as exc:
        return RefundResult(outcome=Outcome.FAILED, reason=f"{exc} Nothing sent.")
    body = {
        "amount": amount, "speed": "normal", "receipt": refund_id[:mapping.MAX_REFERENCE],
        "notes": {"ownpay_refund_id": refund_id[:256],
                  "ownpay_transaction_id": payment.transaction_id,
                  "reason": " ".join((reason or "").split())[:256]},
    }
    try:
        pay_id = path_id(payment.provider_txn_id)
        data = await client.call(
            ctx, "refund", lambda sdk: sdk.payment.refund(
                pay_id, body, headers={"X-Refund-Idempotency": idempotency_key(refund_id)}),
            write=True)
    except RazorpayRefused as exc:
        return RefundResult(outcome=Outcome.FAILED, reason=str(exc)[:480])
    except ProviderUnavailable as exc:
        outcome = Outcome.UNKNOWN if exc.may_have_acted else Outcome.FAILED
        return RefundResult(outcome=outcome, reason=str(exc)[:480])
    return mapping.map_refund(data, "refund")


async def query(ctx: GatewayContext, payment: PaymentView, *, refund_id: str,
                provider_refund_id: str | None) -> RefundResult:
    try:
        if provider_refund_id:
            rid = path_id(provider_refund_id)
            data = await client.call(ctx, "fetch refund",
                                     lambda sdk: sdk.refund.fetch(rid), write=False)
            return mapping.map_refund(data, "refund query")
        for row in await of_payment(ctx, payment):
            if mapping.ours(row) == refund_id:
                return mapping.map_refund(row, "refund listing")
    except GatewayError as exc:
        return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=provider_refund_id,
                            reason=str(exc)[:480])
    return RefundResult(outcome=Outcome.UNKNOWN,
                        reason="Razorpay lists no refund with our refund id")


async def of_payment(ctx: GatewayContext, payment: PaymentView) -> list[dict[str, Any]]:
    """Razorpay's refunds of the payment (raises GatewayError when it cannot be asked)."""
    if not payment.provider_txn_id:
        return []
    pay_id = path_id(payment.provider_txn_id)
    data = await client.call(
        ctx, "list refunds",
        lambda sdk: sdk.payment.fetch_multiple_refund(pay_id, {"count": 100}), write=False)
    items = data.get("items")
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []


async def listing(ctx: GatewayContext, payment: PaymentView) -> list[ProviderRefund]:
    """Every refund Razorpay holds for the payment, newest first, ours recognised."""
    rows = sorted(await of_payment(ctx, payment),
                  key=lambda r: r.get("created_at") or 0, reverse=True)
    listed = []
    for row in rows:
        currency = str(row.get("currency") or "").upper()
        listed.append(ProviderRefund(
            provider_refund_id=str(row.get("id") or ""),
            outcome=mapping.map_refund(row, "refund listing").outcome,
            amount_minor=mapping.from_razorpay_amount(row.get("amount"), currency),
            currency=currency, refund_id=mapping.ours(row),
            reason=f"Razorpay refund {str(row.get('status') or '')[:20]!r}",
        ))
    return [r for r in listed if r.provider_refund_id]
