"""Nagad's answers in our terms: amounts as Nagad writes them, our order ids, the
``status`` of the verify API and of the refund (purchase/cancel) answer, each mapped
exhaustively (``mypy`` proves every member is handled).

Pure: no I/O, no clock, no logging.  A status Nagad may add later (anything not in the
enums below) maps to ``Outcome.UNKNOWN``, never to a completion.

What Nagad publishes (its merchant integration guide and sample clients): the verify API
(``GET api/dfs/verify/payment/{paymentReferenceId}``) answers plain JSON with
``merchantId``, ``orderId``, ``paymentRefId``, ``amount`` (decimal string, BDT),
``clientMobileNo``, ``merchantMobileNo``, ``orderDateTime``, ``issuerPaymentDateTime``,
``issuerPaymentRefNo``, ``additionalMerchantInfo``, ``status`` and ``statusCode``; a
refusal is ``{"reason": …, "message": …}``.  There is no currency field: Nagad takes BDT
only (``currencyCode`` ``"050"`` in the complete call).  The refund answer (decrypted
``sensitiveData``) carries ``status``, ``originalAmount``, ``cancelAmount`` and
``cancelTrxId``.

Error codes: Nagad publishes no list of its ``statusCode`` values or refusal ``reason``
codes that we could find (its integration guide is given to merchants under NDA; the
public sample clients show the ``status`` words below and single codes only).  So the
mapping is by ``status``, every value in :data:`STATUS_TEXT` with a customer sentence and
history words; ``statusCode`` and a refusal's ``reason`` / ``message`` are kept verbatim in
the history, and any other status is unknown (the generic sentence, never a completion).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.base import Outcome, RefundResult, VerifiedResult, provider_status
from ownpay.gateways.nagad.messages import (
    CANCELLED,
    DECLINED,
    GENERIC,
    MERCHANT_SIDE,
    NOT_CONFIRMED,
)

CURRENCIES = frozenset({"BDT"})
CURRENCY_CODE = "050"  # ISO 4217 numeric code of BDT, as Nagad's complete call takes it
_ORDER_ID = re.compile(r"^[0-9a-f]{16}[0-9a-f]{4}$")
_TXN = re.compile(r"^txn_([0-9a-f]{16})$")
_DATE = re.compile(r"^(\d{8})")
_REASON = re.compile(r"\bNagad (status|refused|return) (\w+)")


class PaymentStatus(enum.StrEnum):
    """``status`` of the verify API (and of the browser's callback, a hint only)."""

    SUCCESS = "Success"
    ORDER_INITIATED = "OrderInitiated"
    READY = "Ready"
    IN_PROGRESS = "InProgress"
    TRANSACTION_IN_PROGRESS = "TransactionInProgress"
    OTP_SENT = "OtpSent"
    OTP_VERIFIED = "OtpVerified"
    PIN_GIVEN = "PinGiven"
    CANCELLED = "Cancelled"
    PARTIAL_CANCELLED = "PartialCancelled"
    REFUNDED = "Refunded"
    PARTIAL_REFUNDED = "PartialRefunded"
    INVALID_REQUEST = "InvalidRequest"
    FRAUD = "Fraud"
    ABORTED = "Aborted"
    UNKNOWN_FAILED = "UnKnownFailed"
    FAILED = "Failed"


class RefundStatus(enum.StrEnum):
    """``status`` of a refund (purchase/cancel) answer that Nagad carried out."""

    REFUNDED = "Refunded"
    PARTIAL_REFUNDED = "PartialRefunded"
    CANCELLED = "Cancelled"
    PARTIAL_CANCELLED = "PartialCancelled"


# Every status -> (customer sentence, or None where the payment is paid, still open or
# for an operator; the words the status history keeps).
STATUS_TEXT: dict[PaymentStatus, tuple[str | None, str]] = {
    PaymentStatus.SUCCESS: (None, "paid"),
    PaymentStatus.ORDER_INITIATED: (None, "order initiated, customer not at Nagad yet"),
    PaymentStatus.READY: (None, "ready, the customer may pay at Nagad"),
    PaymentStatus.IN_PROGRESS: (None, "in progress at Nagad"),
    PaymentStatus.TRANSACTION_IN_PROGRESS: (None, "transaction in progress at Nagad"),
    PaymentStatus.OTP_SENT: (None, "OTP sent to the customer"),
    PaymentStatus.OTP_VERIFIED: (None, "OTP verified, PIN awaited"),
    PaymentStatus.PIN_GIVEN: (None, "PIN given, Nagad is deciding"),
    PaymentStatus.CANCELLED: (CANCELLED, "cancelled by the customer"),
    PaymentStatus.ABORTED: (CANCELLED, "aborted by the customer"),
    PaymentStatus.FAILED: (DECLINED, "failed at Nagad"),
    PaymentStatus.UNKNOWN_FAILED: (DECLINED, "failed at Nagad for an unknown reason"),
    PaymentStatus.FRAUD: (DECLINED, "refused by Nagad as fraud"),
    PaymentStatus.INVALID_REQUEST: (GENERIC, "Nagad found the request invalid"),
    PaymentStatus.PARTIAL_CANCELLED: (None, "paid, then partly cancelled: for an operator"),
    PaymentStatus.REFUNDED: (None, "paid, then refunded at Nagad: for an operator"),
    PaymentStatus.PARTIAL_REFUNDED: (None, "paid, then partly refunded: for an operator"),
}


# ---- amounts and ids ----------------------------------------------------------------------


class AmountNotRepresentable(ValueError):
    """Nagad cannot be sent this amount; ``str(exc)`` is a readable sentence."""


def to_nagad_amount(minor: int, currency: str) -> str:
    """Our minor units -> Nagad's ``amount``: a decimal string with two decimals, BDT."""
    code = currency.upper()
    if code not in CURRENCIES:
        raise AmountNotRepresentable(f"Nagad takes Bangladeshi taka (BDT) only, not {code}.")
    if minor <= 0:
        raise AmountNotRepresentable("Nagad takes amounts greater than 0 only.")
    return f"{money.to_major(minor, code):.2f}"


def from_nagad_amount(value: Any, currency: str) -> int | None:
    """Nagad's amount (a decimal string; an integer is read too) in exact minor units;
    None for anything that is not one."""
    code = str(currency or "").upper()
    if code not in CURRENCIES or isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        return money.parse_minor(str(value).strip(), code)
    except (money.AmountError, ValueError):
        return None


def order_id(transaction_id: str, nonce: str) -> str:
    """Nagad's ``orderId`` for one attempt: our transaction id's 16 hex digits and a
    4-hex-digit nonce (Nagad refuses an orderId it has seen, and wants it alphanumeric,
    at most 20 characters)."""
    found = _TXN.match(transaction_id)
    stem = found.group(1) if found else re.sub(r"[^0-9a-z]", "", transaction_id.lower())[:16]
    return f"{stem}{nonce}"[:20]


def reference_of(nagad_order_id: object) -> str:
    """Our transaction id an ``orderId`` stands for ("" when it is none of ours)."""
    text = str(nagad_order_id or "")
    return f"txn_{text[:16]}" if _ORDER_ID.match(text) else text[:40]


def currency_of(data: Mapping[str, Any]) -> str:
    """The currency of a verify answer: BDT, the only one Nagad takes, unless the answer
    names another numeric code (then that code, which never matches an intent)."""
    raw = data.get("currencyCode")
    if raw in (None, "", CURRENCY_CODE):
        return "BDT"
    return f"ISO-{str(raw)[:8]}"


def payment_date(data: Mapping[str, Any]) -> str | None:
    """``YYYYMMDD`` (Dhaka) of the payment, for a refund's ``originalRequestDate``."""
    for name in ("orderDateTime", "issuerPaymentDateTime"):
        found = _DATE.match(str(data.get(name) or ""))
        if found:
            return found.group(1)
    return None


def said(data: Mapping[str, Any]) -> str:
    """Nagad's words of a refusal (``reason`` and ``message``), one line, bounded."""
    parts = [str(data.get(k) or "") for k in ("reason", "message")]
    return " ".join(" ".join(parts).split())[:200] or "no reason given"


# ---- the verify answer --------------------------------------------------------------------


def status_outcome(status: PaymentStatus) -> Outcome:
    match status:
        case PaymentStatus.SUCCESS:
            return Outcome.SUCCEEDED
        case (PaymentStatus.ORDER_INITIATED | PaymentStatus.READY | PaymentStatus.IN_PROGRESS
              | PaymentStatus.TRANSACTION_IN_PROGRESS | PaymentStatus.OTP_SENT
              | PaymentStatus.OTP_VERIFIED | PaymentStatus.PIN_GIVEN):
            return Outcome.PENDING  # the customer is (or may still be) at Nagad's page
        case PaymentStatus.CANCELLED | PaymentStatus.ABORTED:
            return Outcome.CANCELLED
        case (PaymentStatus.FAILED | PaymentStatus.UNKNOWN_FAILED | PaymentStatus.FRAUD
              | PaymentStatus.INVALID_REQUEST):
            return Outcome.FAILED
        case (PaymentStatus.REFUNDED | PaymentStatus.PARTIAL_REFUNDED
              | PaymentStatus.PARTIAL_CANCELLED):
            # Paid, then (partly) paid back at Nagad: an operator must look, never a
            # completion or a failure decided here.
            return Outcome.UNKNOWN
        case _:
            assert_never(status)


def map_verify(data: Mapping[str, Any], *, operation: str) -> VerifiedResult:
    """A verify API answer about one Nagad payment in our terms."""
    ref = str(data.get("paymentRefId") or "")[:200] or None
    if data.get("reason") and not data.get("status"):
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=ref,
                              reason=f"Nagad refused the verify: {said(data)} ({operation})")
    raw = data.get("status")
    status = provider_status(PaymentStatus, raw)
    if status is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=ref,
                              reason=f"unmapped Nagad status {str(raw)[:40]!r} ({operation})")
    code = str(data.get("statusCode") or "")[:20]
    outcome = status_outcome(status)
    detail = (f"Nagad status {status}: {STATUS_TEXT[status][1]} "
              f"(statusCode {code or 'none'}) ({operation})")
    match outcome:
        case Outcome.SUCCEEDED:
            issuer = str(data.get("issuerPaymentRefNo") or "")[:80]
            if not issuer or not ref:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=ref,
                    reason=f"Nagad status Success without issuerPaymentRefNo or paymentRefId: "
                    f"not trusted ({operation})")
            currency = currency_of(data)
            amount = from_nagad_amount(data.get("amount"), currency)
            if amount is None:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=ref, provider_txn_id=issuer,
                    reason=f"Nagad status Success with amount {str(data.get('amount'))[:20]!r}"
                    f" in {currency}: not trusted ({operation})")
            return VerifiedResult(
                outcome=Outcome.SUCCEEDED,
                amount_minor=amount,
                currency=currency,
                reference=reference_of(data.get("orderId")),
                provider_reference=ref,
                provider_txn_id=issuer,
                reason=f"Nagad status Success, issuerPaymentRefNo {issuer} ({operation})",
            )
        case Outcome.CANCELLED | Outcome.FAILED:
            return VerifiedResult(outcome=outcome, provider_reference=ref, reason=detail,
                                  customer_message=STATUS_TEXT[status][0])
        case _:
            return VerifiedResult(outcome=outcome, provider_reference=ref, reason=detail)


def describe_failure(reason: str | None) -> str | None:
    """The customer's sentence for a stored Nagad reason (None: not one of ours)."""
    if not reason:
        return None
    found = _REASON.search(reason)
    if not found:
        return None
    kind, word = found.groups()
    if kind == "refused":
        return MERCHANT_SIDE
    if kind == "return":
        return NOT_CONFIRMED
    status = provider_status(PaymentStatus, word)
    message = STATUS_TEXT[status][0] if status is not None else None
    return message or GENERIC


# ---- refunds ------------------------------------------------------------------------------


def refund_outcome(status: RefundStatus | None) -> Outcome:
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case (RefundStatus.REFUNDED | RefundStatus.PARTIAL_REFUNDED | RefundStatus.CANCELLED
              | RefundStatus.PARTIAL_CANCELLED):
            return Outcome.SUCCEEDED
        case _:
            assert_never(status)


def map_refund(data: Mapping[str, Any], *, amount: str) -> RefundResult:
    """A decrypted, signature-checked refund answer.  SUCCEEDED only with Nagad's
    ``cancelTrxId`` and the amount we asked for."""
    raw = data.get("status")
    outcome = refund_outcome(provider_status(RefundStatus, raw))
    trx = str(data.get("cancelTrxId") or "")[:80] or None
    text = f"Nagad refund status {str(raw)[:30]!r}"
    if outcome is Outcome.SUCCEEDED:
        back = data.get("cancelAmount")
        if not trx or from_nagad_amount(back, "BDT") != from_nagad_amount(amount, "BDT"):
            return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=trx,
                                reason=f"{text} with cancelTrxId {trx!r} and cancelAmount "
                                f"{str(back)[:20]!r} (asked {amount}): not trusted")
        return RefundResult(outcome=outcome, provider_refund_id=trx,
                            reason=f"{text}, cancelTrxId {trx}")
    return RefundResult(outcome=outcome, provider_refund_id=trx, reason=f"{text} (unmapped)")
