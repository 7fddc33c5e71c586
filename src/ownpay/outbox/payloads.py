"""Every event payload OwnPay sends, built in one place (payment and refund events alike).

(Documented for receivers in ``webhooks/schemas.py``'s event models.)

A payment event keeps every field of the spec's ``payment.completed`` example (``event``,
``transaction_id``, ``order_id``, ``amount``, ``currency``, ``status``, ``paid_at``,
``gateway``) and adds ``id``, ``created_at``, ``mode`` and ``metadata``; other payment events
have the same shape plus their own ``<status>_at`` timestamp.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ownpay import money
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from ownpay.timefmt import iso, iso_required


def payment_event_payload(
    intent: PaymentIntent, event_type: str, *, event_id: str, now: datetime, reason: str | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": event_id,
        "event": event_type,
        "transaction_id": intent.id,
        "order_id": intent.order_id,
        "amount": money.json_number(intent.amount_minor, intent.currency),
        "currency": intent.currency,
        "status": intent.status,
        "paid_at": iso(intent.paid_at),
        "gateway": intent.gateway,
        "mode": intent.mode,
        "created_at": iso_required(now),
        "metadata": intent.metadata_ or {},
    }
    if intent.status != "completed":
        payload[f"{intent.status}_at"] = iso_required(now)
    if reason and intent.status in {"failed", "cancelled"}:
        payload["reason"] = reason
    if intent.provider_txn_id:
        payload["provider_transaction_id"] = intent.provider_txn_id
    if intent.submission:
        payload["customer_submission"] = dict(intent.submission)
    if intent.status in {"refunded", "partially_refunded"}:
        payload["refunded_amount"] = money.json_number(intent.refunded_minor, intent.currency)
    return payload


def refund_brief(refund: Refund) -> dict[str, Any]:
    """The ``refund`` object a ``payment.partially_refunded``/``payment.refunded`` event
    carries: which refund moved the payment."""
    return {
        "id": refund.id,
        "amount": money.json_number(refund.amount_minor, refund.currency),
        "currency": refund.currency,
        "reason": refund.reason,
        "status": refund.status,
    }


def refund_failed_payload(refund: Refund, payment: PaymentIntent) -> dict[str, Any]:
    """``refund.failed`` (``id``, ``event`` and ``created_at`` are added by the writer)."""
    return {
        "refund_id": refund.id,
        "transaction_id": payment.id,
        "order_id": payment.order_id,
        "amount": money.json_number(refund.amount_minor, refund.currency),
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.failure_reason,
        "gateway": refund.gateway,
        "mode": refund.mode,
        "refunded_amount": money.json_number(payment.refunded_minor, payment.currency),
        "metadata": payment.metadata_ or {},
    }


# ---- the OwnPay merchant API's webhook (the ``ownpay-legacy`` scheme) ----------------------

# Our event type → the one those clients know.  Other events are not sent in this scheme.
LEGACY_EVENTS = {
    "payment.completed": "payment.completed",
    "payment.failed": "payment.failed",
    "payment.cancelled": "payment.cancelled",
    "payment.partially_refunded": "refund.completed",
    "payment.refunded": "refund.completed",
}


def decimal_string(minor: int, currency: str) -> str:
    """An amount as those clients read it: a string with the currency's decimals."""
    return str(money.to_major(minor, currency))


def legacy_payment_payload(
    event: dict[str, Any], payment: PaymentIntent, *, at: datetime
) -> dict[str, Any] | None:
    """The flat body the clients of OwnPay's merchant API parse (WHMCS finds the invoice by
    ``reference`` or ``metadata.whmcs_invoice_id``; WooCommerce checks amount and currency),
    from one stored event and its payment; None for an event that scheme does not carry.
    The status is the event's (the payment may have moved on since)."""
    kind = LEGACY_EVENTS.get(str(event.get("event")))
    if kind is None:
        return None
    body: dict[str, Any] = {
        "event": kind,
        "payment_id": payment.public_id,
        "transaction_id": payment.id,
        "trx_id": payment.id,
        "gateway_trx_id": payment.provider_txn_id,
        "reference": payment.order_id,
        "amount": decimal_string(payment.amount_minor, payment.currency),
        "currency": payment.currency,
        "fee": decimal_string(payment.fee_minor or 0, payment.currency),
        "gateway": payment.gateway,
        "status": event.get("status", payment.status),
        "customer": {"name": payment.customer_name or None,
                     "email": payment.customer_email or None,
                     "phone": payment.customer_phone},
        "metadata": payment.metadata_ or {},
        "timestamp": iso_required(at),
    }
    refunded = event.get("refunded_amount")
    if kind == "refund.completed" and refunded is not None:
        body["refunded_amount"] = decimal_string(
            money.parse_minor(str(refunded), payment.currency), payment.currency)
    return body


# ---- the UddoktaPay and PipraPay facades (``compat/``) ----------------------------------------
# Their verify answers and their IPNs are one body; built here so the route and the IPN say
# the same thing.  ``transaction_id`` is our ``txn_…`` id (what their refund route takes);
# ``invoice_id`` / ``pp_id`` is the payment's UUID (``public_id``).

# Our payment events → sent to those APIs' webhook_url (their receivers then verify).
KEYED_EVENTS = frozenset({"payment.completed", "payment.failed", "payment.cancelled",
                          "payment.expired"})

_UDDOKTAPAY_STATUS = {
    "pending": "PENDING", "processing": "PENDING", "awaiting_verification": "PENDING",
    "completed": "COMPLETED", "partially_refunded": "COMPLETED", "refunded": "COMPLETED",
    "failed": "ERROR", "cancelled": "ERROR", "expired": "ERROR",
}
_PIPRAPAY_STATUS = {
    "pending": "pending", "processing": "pending", "awaiting_verification": "pending",
    "completed": "completed", "partially_refunded": "completed", "refunded": "refunded",
    "failed": "failed", "cancelled": "failed", "expired": "failed",
}
PAID_STATUSES = frozenset({"completed", "partially_refunded", "refunded"})


def _wall_clock(payment: PaymentIntent) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC): when it was paid, else when it was created."""
    return (payment.paid_at or payment.created_at).strftime("%Y-%m-%d %H:%M:%S")


def _sender(payment: PaymentIntent) -> str:
    submitted = payment.submission or {}
    return str(submitted.get("sender_account") or payment.customer_phone or "")


def uddoktapay_payment(payment: PaymentIntent, status: str | None = None) -> dict[str, Any]:
    """UddoktaPay's verify-payment answer (and IPN body).  ``fee`` is our fee (paid by the
    merchant); ``charged_amount`` is what the customer paid: the amount."""
    amount = decimal_string(payment.amount_minor, payment.currency)
    ours = status or payment.status
    return {
        "full_name": payment.customer_name or "",
        "email": payment.customer_email or "",
        "amount": amount,
        "fee": decimal_string(payment.fee_minor or 0, payment.currency),
        "charged_amount": amount,
        "invoice_id": payment.public_id,
        "metadata": payment.metadata_ or {},
        "payment_method": payment.gateway or "",
        "sender_number": _sender(payment),
        "transaction_id": payment.id,
        "date": _wall_clock(payment),
        "status": _UDDOKTAPAY_STATUS.get(ours, "PENDING"),
    }


def piprapay_payment(payment: PaymentIntent, status: str | None = None) -> dict[str, Any]:
    """PipraPay's verify-payments answer (and webhook body)."""
    ours = status or payment.status
    return {
        "pp_id": payment.public_id,
        "customer_name": payment.customer_name or "",
        "customer_email_mobile": payment.customer_email or payment.customer_phone or "",
        "payment_method": payment.gateway or "",
        "amount": decimal_string(payment.amount_minor, payment.currency),
        "fee": decimal_string(payment.fee_minor or 0, payment.currency),
        "refund_amount": decimal_string(payment.refunded_minor or 0, payment.currency),
        "total": decimal_string(payment.amount_minor, payment.currency),
        "currency": payment.currency,
        "metadata": payment.metadata_ or {},
        "sender_number": _sender(payment),
        "transaction_id": payment.id,
        "status": _PIPRAPAY_STATUS.get(ours, "pending"),
        "date": _wall_clock(payment),
    }


def _keyed(build: Any) -> Any:
    def payload(event: dict[str, Any], payment: PaymentIntent, *,
                at: datetime) -> dict[str, Any] | None:
        if str(event.get("event")) not in KEYED_EVENTS:
            return None
        return dict(build(payment, str(event.get("status") or payment.status)))
    return payload


# An endpoint scheme whose body is built from the payment as well as the event → its builder
# (``webhooks/delivery/fanout.py``); None: not sent in that scheme.
PaymentBody = Any
PAYMENT_BODIES: dict[str, PaymentBody] = {
    "ownpay-legacy": legacy_payment_payload,
    "uddoktapay": _keyed(uddoktapay_payment),
    "piprapay": _keyed(piprapay_payment),
}
