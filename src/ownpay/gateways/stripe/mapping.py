"""Stripe's objects in our terms: amounts in Stripe's unit, PaymentIntent and Refund statuses
mapped exhaustively, decline codes as sentences a customer can read.

Pure: no I/O, no clock, no logging.  A status string Stripe may add later (anything not in
:class:`PaymentIntentStatus` / :class:`RefundStatus`) maps to ``Outcome.UNKNOWN``, never to
a completion; ``mypy`` proves every member of the enums is handled (``assert_never``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.base import (
    Outcome,
    PaymentView,
    ProviderRefund,
    RefundResult,
    VerifiedResult,
    provider_status,
)

# docs.stripe.com/currencies: amounts are integers in the currency's minor unit, except the
# zero-decimal currencies (no minor unit), and the three-decimal ones, whose last digit must
# be 0.  Every other currency is two-decimal in Stripe's API (ISK included: multiples of 100).
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
MAX_STRIPE_AMOUNT = 99_999_999  # "The amount value supports up to eight digits."

GENERIC_DECLINE = "Your card was declined. Please try another card."
# Stripe decline/error codes -> what the customer reads.  Codes that should not be revealed
# to a possible fraudster (lost/stolen card) get the generic sentence.
DECLINE_MESSAGES: dict[str, str] = {
    "card_declined": GENERIC_DECLINE,
    "generic_decline": GENERIC_DECLINE,
    "do_not_honor": GENERIC_DECLINE,
    "insufficient_funds": "Your card has insufficient funds. Please try another card.",
    "expired_card": "Your card has expired. Please try another card.",
    "incorrect_cvc": "Your card's security code is incorrect. Please check it and try again.",
    "invalid_cvc": "Your card's security code is incorrect. Please check it and try again.",
    "incorrect_number": "Your card number is incorrect. Please check it and try again.",
    "invalid_number": "Your card number is incorrect. Please check it and try again.",
    "processing_error": "An error occurred while processing your card. Please try again.",
    "authentication_required": "Your bank needs you to confirm this payment. Please try again.",
    "payment_intent_authentication_failure": (
        "Your card could not be authenticated (3-D Secure). Please try again or use another "
        "card."
    ),
}
DECLINE_PREFIX = "Stripe declined: "


class PaymentIntentStatus(enum.StrEnum):
    """docs.stripe.com/payments/paymentintents/lifecycle"""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"


class RefundStatus(enum.StrEnum):
    """docs.stripe.com/api/refunds/object#refund_object-status"""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


# ---- amounts ----------------------------------------------------------------------------


class AmountNotRepresentable(ValueError):
    """Stripe cannot charge this exact amount; ``str(exc)`` is a readable sentence."""


def stripe_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_stripe_amount(minor: int, currency: str) -> int:
    """Our ISO 4217 minor units -> Stripe's integer amount, exactly, or AmountNotRepresentable."""
    code = currency.upper()
    ours, theirs = money.exponent(code), stripe_exponent(code)
    if theirs >= ours:
        amount = minor * 10 ** (theirs - ours)
    else:
        step = 10 ** (ours - theirs)
        if minor % step:
            raise AmountNotRepresentable(
                f"Stripe charges {code} in whole multiples of "
                f"{money.to_major(step, code)} {code}; {money.to_major(minor, code)} is not one."
            )
        amount = minor // step
    if code in THREE_DECIMAL and amount % 10:
        raise AmountNotRepresentable(
            f"Stripe needs {code} amounts whose last (third) decimal is 0; "
            f"{money.to_major(minor, code)} {code} cannot be charged exactly."
        )
    if amount <= 0 or amount > MAX_STRIPE_AMOUNT:
        raise AmountNotRepresentable(
            f"Stripe accepts at most eight digits per amount; {money.to_major(minor, code)} "
            f"{code} is too large."
        )
    return amount


def from_stripe_amount(amount: object, currency: str) -> int | None:
    """Stripe's integer amount -> our minor units; None if it has no exact equivalent."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        return None
    code = currency.upper()
    ours, theirs = money.exponent(code), stripe_exponent(code)
    if ours >= theirs:
        return amount * 10 ** (ours - theirs)
    step = 10 ** (theirs - ours)
    return None if amount % step else amount // step


# ---- reading Stripe objects -----------------------------------------------------------


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def object_id(value: object) -> str | None:
    """An expandable field: an id string, or the expanded object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        return text(value.get("id")) or None
    return None


def decline_message(error: Mapping[str, Any]) -> str:
    for key in ("decline_code", "code"):
        code = text(error.get(key))
        if code in DECLINE_MESSAGES:
            return DECLINE_MESSAGES[code]
    return GENERIC_DECLINE


def decline_reason(error: Mapping[str, Any]) -> str:
    code = text(error.get("decline_code")) or text(error.get("code")) or "card_declined"
    message = text(error.get("message"))
    return f"{DECLINE_PREFIX}{code}" + (f" ({message})" if message else "")


def describe_failure(reason: str | None) -> str | None:
    """The customer's sentence for a stored Stripe decline reason (None: not a decline)."""
    if reason and reason.startswith(DECLINE_PREFIX):
        code = reason.removeprefix(DECLINE_PREFIX).split(" ", 1)[0]
        return DECLINE_MESSAGES.get(code, GENERIC_DECLINE)
    return None


@dataclass(frozen=True)
class Checked:
    amount_minor: int | None
    currency: str
    reference: str


def checked(pi: Mapping[str, Any]) -> Checked:
    """Amount (in our minor units), currency and our transaction id as Stripe holds them."""
    currency = text(pi.get("currency")).upper()
    received = pi.get("amount_received")
    amount = received if isinstance(received, int) and received > 0 else pi.get("amount")
    return Checked(
        amount_minor=from_stripe_amount(amount, currency) if currency else None,
        currency=currency,
        # "" rather than None when missing: the payments service then refuses it.
        reference=text(metadata(pi).get("transaction_id")),
    )


def matches(pi: Mapping[str, Any], payment: PaymentView) -> bool:
    seen = checked(pi)
    return (
        seen.amount_minor == payment.amount_minor
        and seen.currency == payment.currency.upper()
        and seen.reference == payment.transaction_id
    )


# ---- statuses -----------------------------------------------------------------------------


def map_payment_intent(pi: Mapping[str, Any], payment: PaymentView) -> VerifiedResult:
    """Every PaymentIntent status, mapped; anything unexpected never completes."""
    raw = text(pi.get("status"))
    status = provider_status(PaymentIntentStatus, raw)
    pi_id = text(pi.get("id")) or payment.provider_reference
    processing = payment.status == "processing"
    if status is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                              reason=f"unmapped Stripe status {raw[:40]!r}")
    match status:
        case PaymentIntentStatus.SUCCEEDED:
            seen = checked(pi)
            return VerifiedResult(
                outcome=Outcome.SUCCEEDED,
                amount_minor=seen.amount_minor,
                currency=seen.currency,
                reference=seen.reference,
                provider_reference=pi_id,
                provider_txn_id=object_id(pi.get("latest_charge")),
                reason=f"Stripe PaymentIntent {pi_id} succeeded",
            )
        case PaymentIntentStatus.PROCESSING:
            if not matches(pi, payment):
                return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                                      reason="Stripe processing, but amount/currency/"
                                             "reference differ from the payment")
            return VerifiedResult(outcome=Outcome.PROCESSING, provider_reference=pi_id,
                                  reason="Stripe: payment processing")
        case PaymentIntentStatus.REQUIRES_PAYMENT_METHOD:
            error = pi.get("last_payment_error")
            if isinstance(error, Mapping) and error:
                # A decline: the same PaymentIntent takes another card, so our payment
                # stays payable -- unless it was already processing (then it failed).
                return VerifiedResult(
                    outcome=Outcome.FAILED if processing else Outcome.PENDING,
                    provider_reference=pi_id,
                    reason=decline_reason(error)[:500],
                    customer_message=decline_message(error),
                )
            return VerifiedResult(outcome=Outcome.PENDING, provider_reference=pi_id,
                                  reason="Stripe: waiting for a payment method")
        case PaymentIntentStatus.REQUIRES_CONFIRMATION | PaymentIntentStatus.REQUIRES_ACTION:
            return VerifiedResult(outcome=Outcome.PENDING, provider_reference=pi_id,
                                  reason=f"Stripe: {status}")
        case PaymentIntentStatus.REQUIRES_CAPTURE:
            return VerifiedResult(
                outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                reason="Stripe: requires_capture, but OwnPay captures automatically; "
                       "capture or cancel it in the Stripe dashboard",
            )
        case PaymentIntentStatus.CANCELED:
            cancellation = text(pi.get("cancellation_reason")) or "no reason given"
            if processing:
                return VerifiedResult(outcome=Outcome.FAILED, provider_reference=pi_id,
                                      reason=f"Stripe PaymentIntent canceled ({cancellation})",
                                      customer_message="The card payment was cancelled.")
            return VerifiedResult(
                outcome=Outcome.PENDING, provider_reference=pi_id,
                reason=f"Stripe PaymentIntent canceled ({cancellation})",
                customer_message="The card payment was cancelled. Please try again.",
            )
        case _:
            assert_never(status)


def is_canceled(pi: Mapping[str, Any]) -> bool:
    return provider_status(PaymentIntentStatus, pi.get("status")) is PaymentIntentStatus.CANCELED


def is_paid_or_paying(pi: Mapping[str, Any]) -> bool:
    """Succeeded or processing: the money is (being) taken, nothing to ask the customer."""
    return provider_status(PaymentIntentStatus, pi.get("status")) in (
        PaymentIntentStatus.SUCCEEDED, PaymentIntentStatus.PROCESSING,
    )


def map_refund(data: Mapping[str, Any]) -> RefundResult:
    raw = text(data.get("status"))
    status = provider_status(RefundStatus, raw)
    refund_id = text(data.get("id")) or None
    if status is None:
        return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=refund_id,
                            reason=f"unmapped Stripe refund status {raw[:40]!r}")
    match status:
        case RefundStatus.SUCCEEDED:
            return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=refund_id)
        case RefundStatus.PENDING | RefundStatus.REQUIRES_ACTION:
            return RefundResult(outcome=Outcome.PROCESSING, provider_refund_id=refund_id,
                                reason=f"Stripe refund {status}")
        case RefundStatus.FAILED | RefundStatus.CANCELED:
            why = text(data.get("failure_reason")) or status
            return RefundResult(outcome=Outcome.FAILED, provider_refund_id=refund_id,
                                reason=f"Stripe refund {status}: {why}")
        case _:
            assert_never(status)


def provider_refund(item: Mapping[str, Any]) -> ProviderRefund | None:
    """One entry of Stripe's refund list in our terms (None: an entry without an id)."""
    refund_id = text(item.get("id"))
    if not refund_id:
        return None
    currency = text(item.get("currency")).upper()
    mapped = map_refund(item)
    return ProviderRefund(
        provider_refund_id=refund_id,
        outcome=mapped.outcome,
        amount_minor=from_stripe_amount(item.get("amount"), currency) if currency else None,
        currency=currency,
        refund_id=text(metadata(item).get("refund_id")) or None,
        reason=mapped.reason,
    )
