"""bKash's answers in our terms: amounts as bKash writes them, status codes, and every
``transactionStatus`` mapped exhaustively.

Pure: no I/O, no clock (the adapter passes ``now``), no logging.  A ``transactionStatus``
bKash may add later (anything not in :class:`TransactionStatus`) maps to
``Outcome.UNKNOWN``, never to a completion; ``mypy`` proves every member is handled.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.base import (
    Outcome,
    PaymentView,
    RefundResult,
    VerifiedResult,
    provider_status,
)
from ownpay.gateways.bkash.messages import CANCELLED, CUSTOMER_MESSAGES, GENERIC, NOT_COMPLETED

CURRENCY = "BDT"
SUCCESS = "0000"
NOT_FOUND = "2033"  # "Transaction not found": e.g. no refund of the payment yet
# Execute/refund answered "this already happened": ask for the status, do not guess.
ALREADY_DONE = frozenset({"2062", "2068", "2117", "2119"})
# bKash failed on its side and cannot say whether it acted: ask, never repeat the call.
AMBIGUOUS = frozenset({"2003", "2020", "2024", "9999"})
_REASON_CODE = re.compile(r"\bbKash (\d{4}|http_\d{3})\b")
_STATUS_REASON = re.compile(r"\bbKash status (\w+)")


class TransactionStatus(enum.StrEnum):
    """``transactionStatus`` of a bKash payment (create, execute, status query) or refund."""

    INITIATED = "Initiated"
    AUTHORIZED = "Authorized"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"


class CallbackStatus(enum.StrEnum):
    """The ``status`` bKash appends to our callback URL: a hint from the browser, no proof."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCEL = "cancel"


def callback_outcome(raw: object) -> Outcome:
    """What the callback's hint alone lets us conclude: AUTHORIZED (the customer approved;
    execute decides), CANCELLED (the customer backed out at bKash; nothing was paid), or
    UNKNOWN (a failure, or a hint we do not know: bKash is asked)."""
    status = provider_status(CallbackStatus, raw)
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case CallbackStatus.SUCCESS:
            return Outcome.AUTHORIZED
        case CallbackStatus.CANCEL:
            return Outcome.CANCELLED
        case CallbackStatus.FAILURE:
            return Outcome.UNKNOWN
        case _:
            assert_never(status)


# ---- amounts ------------------------------------------------------------------------------


class AmountNotRepresentable(ValueError):
    """bKash cannot be sent this amount; ``str(exc)`` is a readable sentence."""


def to_bkash_amount(minor: int, currency: str = CURRENCY) -> str:
    """Our minor units -> bKash's amount: a string with exactly two decimals (BDT only)."""
    if currency.upper() != CURRENCY:
        raise AmountNotRepresentable(f"bKash takes {CURRENCY} only, not {currency.upper()}.")
    if minor <= 0:
        raise AmountNotRepresentable("bKash takes amounts greater than 0 only.")
    return str(money.to_major(minor, CURRENCY))


def from_bkash_amount(value: Any) -> int | None:
    """bKash's amount string in exact minor units; None for anything that is not one."""
    try:
        return money.parse_minor(str(value), CURRENCY)
    except (money.AmountError, ValueError):
        return None


# ---- reading answers --------------------------------------------------------------------


def code(data: Mapping[str, Any]) -> str | None:
    found = data.get("statusCode") or data.get("errorCode")
    return str(found) if found is not None else None


def message(data: Mapping[str, Any]) -> str:
    said = data.get("statusMessage") or data.get("errorMessage") or data.get("message") or ""
    return " ".join(str(said).split())[:200]


def describe_failure(reason: str | None) -> str | None:
    """The customer's sentence for a stored bKash reason (None: not one of ours)."""
    if not reason:
        return None
    found = _REASON_CODE.search(reason)
    if found:
        return CUSTOMER_MESSAGES.get(found.group(1), GENERIC)
    status = _STATUS_REASON.search(reason)
    if status:
        if status.group(1) == TransactionStatus.CANCELLED:
            return CANCELLED
        return NOT_COMPLETED
    return None


def failed(code: str, message: str, operation: str, payment_id: str) -> VerifiedResult:
    return VerifiedResult(
        outcome=Outcome.FAILED,
        provider_reference=payment_id or None,
        reason=f"bKash {code} {message} ({operation})".replace("  ", " "),
        customer_message=CUSTOMER_MESSAGES.get(code, GENERIC),
    )


def expired(payment: PaymentView, now: datetime) -> bool:
    expires_at = payment.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at <= now


# ---- payments -----------------------------------------------------------------------------


def map_payment(
    data: Mapping[str, Any], payment: PaymentView, *, operation: str, now: datetime
) -> VerifiedResult:
    """A successful (``0000``) execute or status-query answer about ``payment``."""
    raw = str(data.get("transactionStatus") or "")
    status = provider_status(TransactionStatus, raw)
    payment_id = str(data.get("paymentID") or payment.provider_reference or "")
    if status is None:
        return VerifiedResult(
            outcome=Outcome.UNKNOWN,
            provider_reference=payment_id,
            reason=f"unmapped bKash status {raw[:40]!r} ({operation})",
        )
    match status:
        case TransactionStatus.COMPLETED:
            trx_id = str(data.get("trxID") or "")
            if not trx_id:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN,
                    provider_reference=payment_id,
                    reason=f"bKash status Completed without trxID ({operation})",
                )
            invoice = data.get("merchantInvoiceNumber") or data.get("merchantInvoice")
            return VerifiedResult(
                outcome=Outcome.SUCCEEDED,
                # Unparseable amount/currency -> None/"" -> the core refuses to complete.
                amount_minor=from_bkash_amount(data.get("amount")),
                currency=str(data.get("currency") or ""),
                # "" rather than None when missing: the payments service then refuses it.
                reference=str(invoice) if invoice is not None else "",
                provider_reference=payment_id,
                provider_txn_id=trx_id,
                reason=f"bKash status Completed, trxID {trx_id} ({operation})",
            )
        case TransactionStatus.INITIATED | TransactionStatus.AUTHORIZED:
            # Not executed (or not yet): no money moved.  Unknown while the link lives;
            # once it has expired bKash will not be executed by us any more.
            if expired(payment, now):
                return VerifiedResult(
                    outcome=Outcome.FAILED,
                    provider_reference=payment_id,
                    reason=f"bKash status {status}: never executed before the payment "
                    f"link expired; no money moved ({operation})",
                    customer_message=NOT_COMPLETED,
                )
            return VerifiedResult(
                outcome=Outcome.UNKNOWN,
                provider_reference=payment_id,
                reason=f"bKash status {status} ({operation})",
            )
        case TransactionStatus.FAILED | TransactionStatus.CANCELLED | TransactionStatus.EXPIRED:
            return VerifiedResult(
                outcome=Outcome.FAILED,
                provider_reference=payment_id,
                reason=f"bKash status {status} ({operation})",
                customer_message=describe_failure(f"bKash status {status}"),
            )
        case _:
            assert_never(status)


# ---- refunds ------------------------------------------------------------------------------


def refund_outcome(status: TransactionStatus | None) -> Outcome:
    """A refund answer's status.  Only ``Completed`` is final: bKash does not deduplicate
    refunds, so anything else is asked about again -- never booked as failed on a guess."""
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case TransactionStatus.COMPLETED:
            return Outcome.SUCCEEDED
        case (TransactionStatus.INITIATED | TransactionStatus.AUTHORIZED
              | TransactionStatus.FAILED | TransactionStatus.CANCELLED
              | TransactionStatus.EXPIRED):
            return Outcome.UNKNOWN
        case _:
            assert_never(status)


def refund_completed(data: Mapping[str, Any]) -> bool:
    status = provider_status(TransactionStatus, data.get("transactionStatus"))
    return refund_outcome(status) is Outcome.SUCCEEDED


def map_refund_reply(data: Mapping[str, Any], amount_minor: int) -> RefundResult:
    """A ``0000`` answer to our refund of ``amount_minor``."""
    refund_trx = str(data.get("refundTrxID") or "") or None
    same_amount = from_bkash_amount(data.get("amount")) == amount_minor
    if refund_completed(data) and refund_trx and same_amount:
        return RefundResult(
            outcome=Outcome.SUCCEEDED,
            provider_refund_id=refund_trx,
            reason=f"bKash refund {refund_trx} of {to_bkash_amount(amount_minor)} BDT completed",
        )
    return RefundResult(
        outcome=Outcome.UNKNOWN,
        provider_refund_id=refund_trx,
        reason=f"bKash refund answer not final: status "
        f"{str(data.get('transactionStatus') or '')[:40]!r}, "
        f"amount {str(data.get('amount'))[:20]!r}",
    )


def map_refund_status(
    latest: Mapping[str, Any] | None, note: Mapping[str, Any], known: str | None
) -> RefundResult:
    """bKash's refund status (its latest refund of the payment, or None) about one of ours.

    ``note``: what we noted before sending it (the refund bKash held then, our amount, and
    its refundTrxID once known); ``known``: its refundTrxID if we have it.  SUCCEEDED when
    the latest refund is ours (its refundTrxID, or -- for a refund whose answer was lost --
    a newer refund than the one noted before sending, of our amount); FAILED when bKash
    still holds only what it held before ours was sent; UNKNOWN otherwise."""
    latest = latest or {}
    latest_trx = str(latest.get("refundTrxID") or "")
    completed = refund_completed(latest)
    if known:
        if latest_trx == known and completed:
            return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=known,
                                reason=f"bKash refund {known} completed (refund status)")
        return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=known,
                            reason="bKash's latest refund is another one (refund status)")
    if not note:
        return RefundResult(outcome=Outcome.UNKNOWN, reason="no record of sending this refund")
    if latest_trx and latest_trx != note.get("before") and completed:
        if from_bkash_amount(latest.get("amount")) == note.get("amount_minor"):
            return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=latest_trx,
                                reason=f"bKash refund {latest_trx} completed (refund status)")
        return RefundResult(outcome=Outcome.UNKNOWN,
                            reason=f"bKash's latest refund {latest_trx} has another amount")
    return RefundResult(outcome=Outcome.FAILED,
                        reason="bKash holds no refund newer than before ours was sent "
                        "(refund status): it never arrived")
