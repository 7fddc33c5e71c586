"""Razorpay's answers in our terms: amounts in Razorpay's subunits, the order, payment and
refund statuses (each mapped exhaustively: ``mypy`` proves every member is handled), the
payment and webhook signatures, and what the customer reads.

Pure: no I/O, no clock, no logging.  A status Razorpay may add later (anything not in the
enums below) maps to ``Outcome.UNKNOWN``, never to a completion.

What Razorpay publishes (razorpay.com/docs, "Orders", "Payments", "Refunds", "Webhooks",
"Standard Checkout"): amounts are integers in the currency's smallest unit (paise for INR;
whole units for zero-decimal currencies such as JPY; three-decimal currencies such as KWD,
BHD and OMR are written in thousandths whose last digit must be 0); INR takes at least
1.00; an order's ``receipt`` is at most 40 characters; Checkout's success handler gets
``razorpay_payment_id``, ``razorpay_order_id`` and ``razorpay_signature`` =
HMAC-SHA256(key secret, ``order_id|payment_id``) in hex.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.base import Outcome, RefundResult, VerifiedResult, provider_status
from ownpay.gateways.razorpay import errors

# The currencies OwnPay offers through Razorpay: INR, and those of Razorpay's international
# list that merchants ask for most (international ones need Razorpay's international
# payments enabled on the account).  Exponents are ISO 4217's, which Razorpay's subunits
# follow.
CURRENCIES = frozenset({
    "INR", "USD", "EUR", "GBP", "AUD", "CAD", "SGD", "AED", "SAR", "QAR", "HKD", "CHF",
    "NZD", "SEK", "DKK", "NOK", "ZAR", "MYR", "THB", "LKR", "NPR", "BDT", "CNY", "KES",
    "JPY", "KWD", "BHD", "OMR",
})
THREE_DECIMALS = frozenset({"KWD", "BHD", "OMR"})  # the last decimal must be 0
MIN_INR_MINOR = 100  # "The amount must be at least INR 1.00"
MAX_REFERENCE = 40  # receipt length limit (orders and refunds)

NOT_COMPLETED = "The Razorpay payment did not go through."
GENERIC = errors.GENERIC
_ERROR = re.compile(r"\berror ([a-z0-9_]{1,40}) \(")


class OrderStatus(enum.StrEnum):
    """``status`` of an order."""

    CREATED = "created"  # no payment attempted yet
    ATTEMPTED = "attempted"  # payments tried, none captured (the customer may retry)
    PAID = "paid"  # a payment of the order was captured


class PaymentStatus(enum.StrEnum):
    """``status`` of a payment (``GET /v1/payments/{id}``)."""

    CREATED = "created"
    AUTHORIZED = "authorized"  # not money yet: captured by Razorpay (payment_capture) or us
    CAPTURED = "captured"
    REFUNDED = "refunded"  # captured, then refunded in full
    FAILED = "failed"


class RefundStatus(enum.StrEnum):
    """``status`` of a refund."""

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


# ---- amounts ------------------------------------------------------------------------------


class AmountNotRepresentable(ValueError):
    """Razorpay cannot be sent this amount; ``str(exc)`` is a readable sentence."""


def to_razorpay_amount(minor: int, currency: str) -> int:
    """Our minor units -> Razorpay's ``amount`` (the same subunit, checked)."""
    code = currency.upper()
    if code not in CURRENCIES:
        raise AmountNotRepresentable(f"Razorpay does not take {code} here.")
    if minor <= 0:
        raise AmountNotRepresentable("Razorpay takes amounts greater than 0 only.")
    if code == "INR" and minor < MIN_INR_MINOR:
        raise AmountNotRepresentable("Razorpay takes at least 1.00 INR.")
    if code in THREE_DECIMALS and minor % 10:
        raise AmountNotRepresentable(
            f"Razorpay takes {code} amounts with at most two decimals (the third must be 0).")
    return minor


def from_razorpay_amount(value: Any, currency: str) -> int | None:
    """Razorpay's integer ``amount`` in our minor units; None for anything else."""
    code = str(currency or "").upper()
    if code not in CURRENCIES or isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value >= 0 else None


def exponent(currency: str) -> int:
    return money.exponent(currency.upper())


# ---- signatures ---------------------------------------------------------------------------


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def payment_signature(key_secret: str, order_id: str, payment_id: str) -> str:
    """``razorpay_signature`` of Checkout's success handler: HMAC-SHA256 (hex, key secret)
    of ``order_id|payment_id``."""
    return hmac_hex(key_secret, f"{order_id}|{payment_id}".encode())


def signature_ok(expected: str, given: str) -> bool:
    """Constant-time comparison of two hex signatures (an empty one never matches)."""
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def webhook_signature(webhook_secret: str, body: bytes) -> str:
    """``X-Razorpay-Signature``: HMAC-SHA256 (hex, webhook secret) of the raw body."""
    return hmac_hex(webhook_secret, body)


# ---- orders and payments ------------------------------------------------------------------


# Our payment statuses in which a Razorpay payment may still be taken (captured) for it.
TAKING_MONEY = frozenset({"pending", "processing"})


def can_take_money(our_status: str) -> bool:
    """Whether our payment (by its status) may still take money: never once it is
    cancelled, expired, failed or completed."""
    return our_status in TAKING_MONEY


def payment_outcome(status: PaymentStatus | None) -> Outcome:
    """What a payment's status says about money taken."""
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case PaymentStatus.CAPTURED:
            return Outcome.SUCCEEDED
        case PaymentStatus.AUTHORIZED:
            return Outcome.PROCESSING  # to be captured (or auto-refunded by Razorpay)
        case PaymentStatus.CREATED:
            return Outcome.PENDING
        case PaymentStatus.FAILED:
            return Outcome.PENDING  # the order stays payable: the customer may try again
        case PaymentStatus.REFUNDED:
            return Outcome.UNKNOWN  # money taken and given back: not ours to complete
        case _:
            assert_never(status)


def order_outcome(status: OrderStatus | None) -> Outcome:
    """What an order's status alone says (PAID still needs its captured payment)."""
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case OrderStatus.CREATED | OrderStatus.ATTEMPTED:
            return Outcome.PENDING
        case OrderStatus.PAID:
            return Outcome.SUCCEEDED
        case _:
            assert_never(status)


def payments_of(order: Mapping[str, Any], rows: Any) -> list[Mapping[str, Any]]:
    """The payments (``GET /v1/orders/{id}/payments`` items) that belong to the order."""
    order_id = str(order.get("id") or "")
    items = rows.get("items") if isinstance(rows, Mapping) else rows
    if not isinstance(items, list):
        return []
    return [p for p in items if isinstance(p, Mapping) and p.get("id")
            and str(p.get("order_id") or "") == order_id]


def pick_payment(payments: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The payment that decides the order: a captured one, else a refunded, an authorized,
    then the latest attempt."""
    for wanted in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, PaymentStatus.AUTHORIZED):
        for row in payments:
            if row.get("status") == wanted:
                return row
    latest = sorted(payments, key=lambda p: p.get("created_at") or 0)
    return latest[-1] if latest else None


def map_order(order: Mapping[str, Any], payment: Mapping[str, Any] | None, *,
              operation: str) -> VerifiedResult:
    """An order and the payment that decides it (as fetched) in our terms.  SUCCEEDED only
    when both agree: the order ``paid`` and the payment ``captured``, belonging to the
    order; the figures are the payment's, the reference the order's receipt."""
    order_id = str(order.get("id") or "") or None
    raw = order.get("status")
    status = provider_status(OrderStatus, raw)
    said = f"Razorpay order {str(raw)[:30]!r}"
    if status is None or order_id is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                              reason=f"unmapped {said} ({operation})")
    if payment is not None and str(payment.get("order_id") or "") != order_id:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                              reason=f"{said}, a payment of another order ({operation})")
    pay_raw = payment.get("status") if payment is not None else None
    pay_status = provider_status(PaymentStatus, pay_raw)
    pay_id = str(payment.get("id") or "")[:40] if payment is not None else ""
    if payment is not None:
        said += f", payment {pay_id} {str(pay_raw)[:30]!r}"
    if payment is None:
        if status is OrderStatus.PAID:
            return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                                  reason=f"{said} without a captured payment ({operation})")
        return VerifiedResult(outcome=Outcome.PENDING, provider_reference=order_id,
                              reason=f"{said} ({operation})")
    outcome = payment_outcome(pay_status)
    if pay_status is None:
        outcome = Outcome.UNKNOWN
    if outcome is Outcome.SUCCEEDED and order_outcome(status) is not Outcome.SUCCEEDED:
        outcome = Outcome.UNKNOWN  # captured, yet the order does not say paid
    if outcome is not Outcome.SUCCEEDED:
        if outcome is Outcome.PENDING and status is OrderStatus.PAID:
            outcome = Outcome.UNKNOWN
        failed = pay_status is PaymentStatus.FAILED
        return VerifiedResult(outcome=outcome, provider_reference=order_id,
                              provider_txn_id=pay_id or None,
                              reason=f"{said}{_error(payment)} ({operation})"[:480],
                              customer_message=errors.reason_text(
                                  payment.get("error_reason"))[0] if failed else None)
    currency = str(payment.get("currency") or "").upper()
    return VerifiedResult(
        outcome=Outcome.SUCCEEDED,
        amount_minor=from_razorpay_amount(payment.get("amount"), currency),
        currency=currency,
        reference=str(order.get("receipt") or "") or None,
        provider_reference=order_id,
        provider_txn_id=pay_id,
        reason=f"{said}, method {str(payment.get('method') or '')[:20]} ({operation})"[:480],
    )


def _error(payment: Mapping[str, Any]) -> str:
    """A failed payment's ``error_*`` fields as history words ("" when it has none)."""
    if not (payment.get("error_reason") or payment.get("error_code")):
        return ""
    return " (" + errors.describe(payment.get("error_code"), payment.get("error_reason"),
                                  payment.get("error_source"), payment.get("error_step")) + ")"


def describe_failure(reason: str | None) -> str | None:
    """The customer's sentence for a stored Razorpay reason (None: not one of ours): the
    sentence of the error reason it names, else a plain one."""
    if not reason or "Razorpay" not in reason:
        return None
    found = _ERROR.search(reason)
    if found:
        return errors.reason_text(found.group(1))[0]
    if "'failed'" in reason:
        return NOT_COMPLETED
    return GENERIC


def error_description(data: Any) -> str:
    """Razorpay's ``{"error": {"code", "description", "reason", "source", "step", ...}}``
    in one short line."""
    error = data.get("error") if isinstance(data, Mapping) else None
    if not isinstance(error, Mapping):
        return "no error description"
    code = str(error.get("code") or "")[:40]
    text = " ".join(str(error.get("description") or "").split())[:200]
    if error.get("reason"):
        said = errors.describe(code, error.get("reason"), error.get("source"),
                               error.get("step"))
        return f"{said}: {text}"
    return f"{code}: {text}" if code else text


# ---- refunds ------------------------------------------------------------------------------


def refund_outcome(status: RefundStatus | None) -> Outcome:
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case RefundStatus.PROCESSED:
            return Outcome.SUCCEEDED
        case RefundStatus.PENDING:
            return Outcome.PROCESSING
        case RefundStatus.FAILED:
            return Outcome.FAILED
        case _:
            assert_never(status)


def map_refund(data: Mapping[str, Any], operation: str) -> RefundResult:
    raw = data.get("status")
    refund_id = str(data.get("id") or "") or None
    outcome = refund_outcome(provider_status(RefundStatus, raw))
    if refund_id is None and outcome is not Outcome.FAILED:
        outcome = Outcome.UNKNOWN
    return RefundResult(outcome=outcome, provider_refund_id=refund_id,
                        reason=f"Razorpay refund {refund_id or '?'} {str(raw)[:20]!r} "
                        f"({operation})")


def ours(refund: Mapping[str, Any]) -> str | None:
    """Our refund id on a Razorpay refund we sent (``notes.ownpay_refund_id``)."""
    notes = refund.get("notes")
    if isinstance(notes, Mapping) and notes.get("ownpay_refund_id"):
        return str(notes["ownpay_refund_id"])
    return None
