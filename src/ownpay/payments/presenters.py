"""How a payment intent is shown: to the API (JSON shapes) and to a gateway adapter (the
read-only :class:`~ownpay.gateways.base.PaymentView`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ownpay import jsoncodec, money
from ownpay.gateways.base import PaymentView
from ownpay.merchants.accounts import checkout_url
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.payments.service import CreatedIntent
from ownpay.timefmt import iso, iso_required
from ownpay.web.idempotency import Answer


def created_answer(created: CreatedIntent) -> Answer:
    """``201 Created`` of ``POST /api/v1/payment-intents``, byte-exact to the spec."""
    return Answer(201, jsoncodec.dumps({
        "success": True,
        "transaction_id": created.transaction_id,
        "payment_url": created.payment_url,
        "status": "pending",
        "expires_at": iso_required(created.expires_at),
    }))


def serialize_intent(
    intent: PaymentIntent, rows: Iterable[PaymentStatusHistory], *, base_url: str
) -> dict[str, Any]:
    status_history = [
        {"from_status": None, "to_status": "pending", "actor": "api", "reason": "created",
         "at": iso(intent.created_at)}
    ] + [
        {"from_status": r.from_status, "to_status": r.to_status, "actor": r.actor,
         "reason": r.reason, "at": iso(r.created_at)}
        for r in rows
    ]
    return {
        "transaction_id": intent.id,
        "status": intent.status,
        "mode": intent.mode,
        "gateway": intent.gateway,
        "amount": money.json_number(intent.amount_minor, intent.currency),
        "currency": intent.currency,
        "order_id": intent.order_id,
        "customer": {
            "name": intent.customer_name,
            "email": intent.customer_email,
            "phone": intent.customer_phone,
        },
        "description": intent.description,
        "metadata": intent.metadata_ or {},  # an object, as the spec types it
        "payment_url": checkout_url(base_url, intent.id),
        "return_url": intent.return_url,
        "cancel_url": intent.cancel_url,
        "provider_reference": intent.provider_reference,
        "provider_transaction_id": intent.provider_txn_id,
        "failure_reason": intent.failure_reason,
        "customer_submission": customer_submission(intent),
        "created_at": iso(intent.created_at),
        "expires_at": iso(intent.expires_at),
        "paid_at": iso(intent.paid_at),
        # Known once paid: our fee and what the merchant nets (amount - fee).
        "fee": _amount_or_none(intent.fee_minor, intent.currency),
        "net_amount": _amount_or_none(intent.net_minor, intent.currency),
        "refunded_amount": money.json_number(intent.refunded_minor or 0, intent.currency),
        "status_history": status_history,
    }


def customer_submission(intent: PaymentIntent) -> dict[str, str] | None:
    """What the customer entered on the checkout page for an offline payment (e.g. the
    account they paid from), as the gateway stored it: ``None`` when nothing was submitted."""
    return {str(k): str(v) for k, v in intent.submission.items()} if intent.submission else None


def _amount_or_none(minor: int | None, currency: str) -> int | float | None:
    return None if minor is None else money.json_number(minor, currency)


def payment_view(intent: PaymentIntent, merchant_slug: str) -> PaymentView:
    return PaymentView(
        transaction_id=intent.id,
        merchant_slug=merchant_slug,
        mode=intent.mode,
        status=intent.status,
        amount_minor=intent.amount_minor,
        currency=intent.currency,
        order_id=intent.order_id,
        description=intent.description,
        customer_name=intent.customer_name,
        customer_email=intent.customer_email,
        customer_phone=intent.customer_phone,
        expires_at=intent.expires_at,
        provider_reference=intent.provider_reference,
        provider_txn_id=intent.provider_txn_id,
        submission=intent.submission,
        attempts=intent.attempts,
    )
