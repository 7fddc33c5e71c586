"""Razorpay's answers in our terms: amounts in Razorpay's subunits, the Payment Link and
payment statuses, the refund statuses (each mapped exhaustively: ``mypy`` proves every
member is handled), the callback and webhook signatures, and what the customer reads.

Pure: no I/O, no clock, no logging.  A status Razorpay may add later (anything not in the
enums below) maps to ``Outcome.UNKNOWN``, never to a completion.

What Razorpay publishes (razorpay.com/docs, "Payment Links APIs", "Payments", "Refunds",
"Webhooks"): amounts are integers in the currency's smallest unit (paise for INR; whole
units for zero-decimal currencies such as JPY; three-decimal currencies such as KWD, BHD
and OMR are written in thousandths whose last digit must be 0); INR takes at least 1.00.
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
MAX_REFERENCE = 40  # reference_id (and receipt) length limit
# A reference_id is our transaction id, or -- for a later link of the same payment, since
# Razorpay wants reference_id unique per link -- the transaction id, "-" and a number.
_LATER_LINK = re.compile(r"^(?P<txn>.+)-(?P<n>[1-9][0-9]{0,3})$")

NOT_COMPLETED = "The Razorpay payment did not go through."
CANCELLED_MESSAGE = "The Razorpay payment link was cancelled before it was paid."
EXPIRED_MESSAGE = "The Razorpay payment link expired before it was paid."
GENERIC = "Razorpay could not take the payment. Please try again."


class LinkStatus(enum.StrEnum):
    """``status`` of a Payment Link."""

    CREATED = "created"  # payable (failed attempts leave it created: the customer retries)
    PARTIALLY_PAID = "partially_paid"  # only with accept_partial, which we never set
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    PAID = "paid"


class PaymentStatus(enum.StrEnum):
    """``status`` of a payment (``GET /v1/payments/{id}``)."""

    CREATED = "created"
    AUTHORIZED = "authorized"  # Payment Links capture automatically; not money yet
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


# ---- references and signatures -------------------------------------------------------------


def reference_for(transaction_id: str, n: int) -> str:
    """The reference_id of the payment's ``n``-th link (0: the first)."""
    return transaction_id if n == 0 else f"{transaction_id}-{n}"


def link_number(reference_id: str, transaction_id: str) -> int | None:
    """Which link of ``transaction_id`` this reference_id names (None: not one of ours)."""
    if reference_id == transaction_id:
        return 0
    found = _LATER_LINK.match(reference_id)
    if found and found.group("txn") == transaction_id:
        return int(found.group("n"))
    return None


def transaction_of(reference_id: str) -> str:
    """Our transaction id as a link's reference_id records it."""
    found = _LATER_LINK.match(reference_id)
    return found.group("txn") if found else reference_id


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def callback_signature(key_secret: str, params: Mapping[str, str]) -> str:
    """``razorpay_signature`` of a Payment Link callback: HMAC-SHA256 (hex, key secret) of
    ``link_id|reference_id|status|payment_id``."""
    message = "|".join(str(params.get(name, "")) for name in (
        "razorpay_payment_link_id", "razorpay_payment_link_reference_id",
        "razorpay_payment_link_status", "razorpay_payment_id"))
    return hmac_hex(key_secret, message.encode())


def webhook_signature(webhook_secret: str, body: bytes) -> str:
    """``X-Razorpay-Signature``: HMAC-SHA256 (hex, webhook secret) of the raw body."""
    return hmac_hex(webhook_secret, body)


# ---- payments -----------------------------------------------------------------------------


def link_outcome(status: LinkStatus | None) -> Outcome:
    """What a link's status alone says (PAID still needs its captured payment)."""
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case LinkStatus.CREATED:
            return Outcome.PENDING
        case LinkStatus.PARTIALLY_PAID:
            return Outcome.UNKNOWN  # never asked for: an operator must look
        case LinkStatus.EXPIRED:
            return Outcome.FAILED
        case LinkStatus.CANCELLED:
            return Outcome.CANCELLED
        case LinkStatus.PAID:
            return Outcome.SUCCEEDED
        case _:
            assert_never(status)


def payment_outcome(status: PaymentStatus | None) -> Outcome:
    """What a payment's status says about money taken."""
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case PaymentStatus.CAPTURED:
            return Outcome.SUCCEEDED
        case PaymentStatus.AUTHORIZED:
            return Outcome.PROCESSING  # Razorpay captures it (or refunds it) by itself
        case PaymentStatus.CREATED:
            return Outcome.PENDING
        case PaymentStatus.FAILED:
            return Outcome.FAILED
        case PaymentStatus.REFUNDED:
            return Outcome.UNKNOWN  # money taken and given back: not ours to complete
        case _:
            assert_never(status)


def captured_payment_id(link: Mapping[str, Any]) -> str | None:
    """The id of the link's captured payment, as its ``payments`` list names it."""
    rows = link.get("payments")
    if not isinstance(rows, list):
        return None
    for row in rows:
        if isinstance(row, Mapping) and row.get("status") == PaymentStatus.CAPTURED:
            found = str(row.get("payment_id") or row.get("id") or "")
            if found:
                return found
    return None


def map_link(link: Mapping[str, Any], payment: Mapping[str, Any] | None, *,
             operation: str) -> VerifiedResult:
    """A Payment Link (and, when it says paid, its captured payment as fetched) in our
    terms.  SUCCEEDED only when both agree: the link ``paid`` and the payment
    ``captured``, belonging to the link's order; the figures are the payment's."""
    link_id = str(link.get("id") or "") or None
    raw = link.get("status")
    status = provider_status(LinkStatus, raw)
    outcome = link_outcome(status)
    said = f"Razorpay link {str(raw)[:30]!r}"
    if status is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=link_id,
                              reason=f"unmapped {said} ({operation})")
    if outcome is not Outcome.SUCCEEDED:
        return VerifiedResult(
            outcome=outcome, provider_reference=link_id,
            reason=f"{said}{_last_attempt(link)} ({operation})",
            customer_message={Outcome.FAILED: EXPIRED_MESSAGE,
                              Outcome.CANCELLED: CANCELLED_MESSAGE}.get(outcome))
    if payment is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=link_id,
                              reason=f"{said} without a captured payment ({operation})")
    return _paid(link, payment, link_id, operation)


def _paid(link: Mapping[str, Any], payment: Mapping[str, Any], link_id: str | None,
          operation: str) -> VerifiedResult:
    pay_raw = payment.get("status")
    pay_status = provider_status(PaymentStatus, pay_raw)
    pay_id = str(payment.get("id") or "")
    said = f"Razorpay link 'paid', payment {pay_id[:40]} {str(pay_raw)[:30]!r}"
    if payment_outcome(pay_status) is not Outcome.SUCCEEDED or not pay_id:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=link_id,
                              reason=f"{said} ({operation})")
    order = str(link.get("order_id") or "")
    if order and str(payment.get("order_id") or "") != order:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=link_id,
                              reason=f"{said} of another order ({operation})")
    currency = str(payment.get("currency") or "").upper()
    return VerifiedResult(
        outcome=Outcome.SUCCEEDED,
        amount_minor=from_razorpay_amount(payment.get("amount"), currency),
        currency=currency,
        reference=transaction_of(str(link.get("reference_id") or "")),
        provider_reference=link_id,
        provider_txn_id=pay_id,
        reason=f"{said}, method {str(payment.get('method') or '')[:20]} ({operation})"[:480],
    )


def _last_attempt(link: Mapping[str, Any]) -> str:
    rows = [r for r in link.get("payments") or [] if isinstance(r, Mapping)]
    if not rows:
        return ""
    last = rows[-1]
    return f"; last attempt {str(last.get('status') or '')[:20]!r}"


def describe_failure(reason: str | None) -> str | None:
    if not reason or "Razorpay" not in reason:
        return None
    if "'expired'" in reason:
        return EXPIRED_MESSAGE
    if "'cancelled'" in reason:
        return CANCELLED_MESSAGE
    if "'failed'" in reason:
        return NOT_COMPLETED
    return GENERIC


def error_description(data: Any) -> str:
    """Razorpay's ``{"error": {"code", "description", ...}}`` in one short line."""
    error = data.get("error") if isinstance(data, Mapping) else None
    if not isinstance(error, Mapping):
        return "no error description"
    code = str(error.get("code") or "")[:40]
    text = " ".join(str(error.get("description") or "").split())[:200]
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
