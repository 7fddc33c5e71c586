"""SSLCommerz's answers in our terms: amounts as SSLCommerz writes them, the statuses of
the validation and transaction-query APIs, and the refund statuses, each mapped
exhaustively (``mypy`` proves every member is handled).

Pure: no I/O, no clock, no logging.  A status SSLCommerz may add later (anything not in
the enums below) maps to ``Outcome.UNKNOWN``, never to a completion.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.base import Outcome, RefundResult, VerifiedResult, provider_status

# Currencies SSLCommerz accepts for ``currency`` (all with two decimals); other currencies
# than BDT are converted by SSLCommerz and reported back as currency_type/currency_amount.
CURRENCIES = frozenset({"BDT", "USD", "EUR", "GBP", "AUD", "CAD", "SGD", "INR", "MYR"})
MIN_BDT_MINOR = 1000  # SSLCommerz takes at least 10.00 BDT
MAX_BDT_MINOR = 50_000_000  # and at most 500,000.00 BDT per transaction
API_DONE = "DONE"  # ``APIConnect``: the request was understood and answered

NOT_COMPLETED = "The card or wallet payment was not completed."
CANCELLED_MESSAGE = "You cancelled the payment at SSLCommerz."
EXPIRED_MESSAGE = "The SSLCommerz payment session expired before it was paid."
GENERIC = "SSLCommerz could not take the payment. Please try again."


class TransactionStatus(enum.StrEnum):
    """``status`` of the validation API and of the transaction query."""

    VALID = "VALID"  # paid, validated for the first time now
    VALIDATED = "VALIDATED"  # paid, validated before (by us or the IPN listener)
    PENDING = "PENDING"  # the customer is still at the hosted page
    UNATTEMPTED = "UNATTEMPTED"  # session created, nothing tried
    FAILED = "FAILED"  # declined by the bank / wallet
    CANCELLED = "CANCELLED"  # the customer cancelled at the hosted page
    EXPIRED = "EXPIRED"  # the session timed out unpaid
    INVALID_TRANSACTION = "INVALID_TRANSACTION"  # no such val_id (validation API)


class RefundReply(enum.StrEnum):
    """``status`` of the refund initiate answer."""

    SUCCESS = "success"  # the refund request was accepted (processed later)
    PROCESSING = "processing"  # a refund request for this is already being processed
    FAILED = "failed"  # refused; ``errorReason`` says why


class RefundState(enum.StrEnum):
    """``status`` of the refund query (by refund_ref_id)."""

    REFUNDED = "refunded"
    PROCESSING = "processing"
    CANCELLED = "cancelled"


# ---- amounts ------------------------------------------------------------------------------


class AmountNotRepresentable(ValueError):
    """SSLCommerz cannot be sent this amount; ``str(exc)`` is a readable sentence."""


def to_sslcommerz_amount(minor: int, currency: str) -> str:
    """Our minor units -> SSLCommerz's amount: a string with exactly two decimals."""
    code = currency.upper()
    if code not in CURRENCIES:
        raise AmountNotRepresentable(f"SSLCommerz does not take {code}.")
    if money.exponent(code) != 2:  # pragma: no cover - every listed currency has two
        raise AmountNotRepresentable(f"SSLCommerz writes two decimals; {code} has another.")
    if minor <= 0:
        raise AmountNotRepresentable("SSLCommerz takes amounts greater than 0 only.")
    if code == "BDT" and minor < MIN_BDT_MINOR:
        raise AmountNotRepresentable("SSLCommerz takes at least 10.00 BDT.")
    if code == "BDT" and minor > MAX_BDT_MINOR:
        raise AmountNotRepresentable("SSLCommerz takes at most 500000.00 BDT per payment.")
    return f"{money.to_major(minor, code):.2f}"


def from_sslcommerz_amount(value: Any, currency: str) -> int | None:
    """SSLCommerz's amount string in exact minor units; None for anything that is not one."""
    code = str(currency or "").upper()
    if code not in CURRENCIES:
        return None
    try:
        return money.parse_minor(str(value), code)
    except (money.AmountError, ValueError):
        return None


# ---- IPN signature ------------------------------------------------------------------------


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def sign(fields: Mapping[str, str], verify_key: str, store_passwd: str) -> str:
    """``verify_sign``: MD5 of ``k=v&…`` over the fields ``verify_key`` lists plus
    ``store_passwd`` = md5(store password), sorted by field name."""
    signed = {name: str(fields.get(name, "")) for name in verify_key.split(",") if name}
    signed["store_passwd"] = md5(store_passwd)
    return md5("&".join(f"{k}={signed[k]}" for k in sorted(signed)))


# ---- payments -----------------------------------------------------------------------------


def _figures(data: Mapping[str, Any]) -> tuple[int | None, str]:
    """The amount and currency the customer was charged in, as SSLCommerz reports them
    (``currency_type``/``currency_amount`` for the original currency when present)."""
    currency = str(data.get("currency_type") or data.get("currency") or "").upper()
    raw = data.get("currency_amount") if data.get("currency_type") else data.get("amount")
    return from_sslcommerz_amount(raw, currency), currency


def map_transaction(
    data: Mapping[str, Any], *, session_key: str | None, operation: str
) -> VerifiedResult:
    """A validation-API or transaction-query answer (one transaction) in our terms."""
    raw = data.get("status")
    status = provider_status(TransactionStatus, raw)
    ref = session_key or None
    if status is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=ref,
                              reason=f"unmapped SSLCommerz status {str(raw)[:40]!r} "
                              f"({operation})")
    match status:
        case TransactionStatus.VALID | TransactionStatus.VALIDATED:
            bank_tran_id = str(data.get("bank_tran_id") or "")
            if not bank_tran_id:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=ref,
                    reason=f"SSLCommerz status {status} without bank_tran_id ({operation})")
            amount, currency = _figures(data)
            risk = str(data.get("risk_level") or "0")
            note = "" if risk == "0" else (
                f"; risk_level {risk[:4]} ({str(data.get('risk_title') or '')[:40]}): "
                "SSLCommerz advises checking before delivering")
            return VerifiedResult(
                outcome=Outcome.SUCCEEDED,
                amount_minor=amount,
                currency=currency,
                reference=str(data.get("tran_id") or ""),
                provider_reference=ref,
                provider_txn_id=bank_tran_id,
                reason=f"SSLCommerz status {status}, val_id "
                f"{str(data.get('val_id') or '')[:60]}, bank_tran_id {bank_tran_id[:60]} "
                f"({operation}){note}"[:480],
            )
        case TransactionStatus.PENDING | TransactionStatus.UNATTEMPTED:
            return VerifiedResult(outcome=Outcome.PENDING, provider_reference=ref,
                                  reason=f"SSLCommerz status {status} ({operation})")
        case TransactionStatus.FAILED | TransactionStatus.INVALID_TRANSACTION:
            return VerifiedResult(
                outcome=Outcome.FAILED, provider_reference=ref,
                reason=f"SSLCommerz status {status} "
                f"{str(data.get('error') or data.get('failedreason') or '')[:120]} "
                f"({operation})".replace("  ", " "),
                customer_message=NOT_COMPLETED)
        case TransactionStatus.CANCELLED:
            return VerifiedResult(outcome=Outcome.CANCELLED, provider_reference=ref,
                                  reason=f"SSLCommerz status {status} ({operation})",
                                  customer_message=CANCELLED_MESSAGE)
        case TransactionStatus.EXPIRED:
            return VerifiedResult(outcome=Outcome.FAILED, provider_reference=ref,
                                  reason=f"SSLCommerz status {status} ({operation})",
                                  customer_message=EXPIRED_MESSAGE)
        case _:
            assert_never(status)


def pick_element(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The transaction to judge from a by-tran_id query (``element``: every attempt with
    our tran_id): a paid one if any, else the last listed."""
    elements = data.get("element")
    if not isinstance(elements, list):
        return None
    rows = [e for e in elements if isinstance(e, Mapping)]
    for row in rows:
        if provider_status(TransactionStatus, row.get("status")) in (
                TransactionStatus.VALID, TransactionStatus.VALIDATED):
            return row
    return rows[-1] if rows else None


def describe_failure(reason: str | None) -> str | None:
    if not reason or "SSLCommerz" not in reason:
        return None
    if "CANCELLED" in reason:
        return CANCELLED_MESSAGE
    if "EXPIRED" in reason:
        return EXPIRED_MESSAGE
    if "FAILED" in reason or "INVALID_TRANSACTION" in reason:
        return NOT_COMPLETED
    return GENERIC


# ---- refunds ------------------------------------------------------------------------------


def refund_reply_outcome(status: RefundReply | None) -> Outcome:
    """The refund initiate answer: accepted requests are processed by SSLCommerz later."""
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case RefundReply.SUCCESS | RefundReply.PROCESSING:
            return Outcome.PROCESSING
        case RefundReply.FAILED:
            return Outcome.FAILED
        case _:
            assert_never(status)


def refund_state_outcome(status: RefundState | None) -> Outcome:
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case RefundState.REFUNDED:
            return Outcome.SUCCEEDED
        case RefundState.PROCESSING:
            return Outcome.PROCESSING
        case RefundState.CANCELLED:
            return Outcome.FAILED
        case _:
            assert_never(status)


def map_refund_reply(data: Mapping[str, Any]) -> RefundResult:
    status = provider_status(RefundReply, data.get("status"))
    ref = str(data.get("refund_ref_id") or "") or None
    outcome = refund_reply_outcome(status)
    if outcome is Outcome.PROCESSING and not ref:
        outcome = Outcome.UNKNOWN
    return RefundResult(
        outcome=outcome, provider_refund_id=ref,
        reason=f"SSLCommerz refund {str(data.get('status') or '')[:20]!r}"
        f"{(' ' + str(data.get('errorReason'))[:200]) if data.get('errorReason') else ''}"
        f"{(' refund_ref_id ' + ref) if ref else ''}")


def map_refund_state(data: Mapping[str, Any], known: str) -> RefundResult:
    status = provider_status(RefundState, data.get("status"))
    return RefundResult(
        outcome=refund_state_outcome(status), provider_refund_id=known,
        reason=f"SSLCommerz refund {known} status {str(data.get('status') or '')[:20]!r}"
        f"{(' ' + str(data.get('errorReason'))[:200]) if data.get('errorReason') else ''}"
        " (refund query)")
