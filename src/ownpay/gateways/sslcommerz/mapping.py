"""SSLCommerz's answers in our terms: amounts as SSLCommerz writes them, the statuses of
the validation and transaction-query APIs, and the refund statuses, each mapped
exhaustively (``mypy`` proves every member is handled).

Pure: no I/O, no clock, no logging.  A status SSLCommerz may add later (anything not in
the enums below) maps to ``Outcome.UNKNOWN``, never to a completion.

Where the lists come from: SSLCommerz's developer documentation, API v4
(developer.sslcommerz.com/doc/v4/): the "Order Validation API" and "Transaction Query"
response parameters (``status``, ``risk_level`` 0 safe / 1 risky, ``APIConnect``
``INVALID_REQUEST`` / ``FAILED`` / ``INACTIVE`` / ``DONE``), as also handled by SSLCommerz's
own PHP library.  :data:`STATUS_TEXT` gives each status its customer sentence and history
words; :data:`API_CONNECT_TEXT` each ``APIConnect`` value its history words.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.base import Outcome, RefundResult, VerifiedResult, provider_status
from ownpay.i18n import N_

# Currencies SSLCommerz accepts for ``currency`` (all with two decimals); other currencies
# than BDT are converted by SSLCommerz and reported back as currency_type/currency_amount.
CURRENCIES = frozenset({"BDT", "USD", "EUR", "GBP", "AUD", "CAD", "SGD", "INR", "MYR"})
MIN_BDT_MINOR = 1000  # SSLCommerz takes at least 10.00 BDT
MAX_BDT_MINOR = 50_000_000  # and at most 500,000.00 BDT per transaction
API_DONE = "DONE"  # ``APIConnect``: the request was understood and answered

NOT_COMPLETED = N_("The card or wallet payment was not completed.")
CANCELLED_MESSAGE = N_("You cancelled the payment at SSLCommerz.")
EXPIRED_MESSAGE = N_("The SSLCommerz payment session expired before it was paid.")
GENERIC = N_("SSLCommerz could not take the payment. Please try again.")


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


class ApiConnect(enum.StrEnum):
    """``APIConnect`` of the validation, query and refund APIs."""

    DONE = "DONE"  # answered
    INVALID_REQUEST = "INVALID_REQUEST"  # the call's data was invalid
    FAILED = "FAILED"  # the store id / password were refused
    INACTIVE = "INACTIVE"  # the store (or its API user) is inactive


# ``risk_level`` of a paid transaction -> history words.  Not an outcome: SSLCommerz took
# the money either way; "1" is SSLCommerz's advice to check before delivering.
RISK_LEVELS: dict[str, str] = {
    "0": "safe",
    "1": "risky",
}


# Every status -> (customer sentence, or None where the payment is paid or still open;
# the words the status history keeps).
STATUS_TEXT: dict[TransactionStatus, tuple[str | None, str]] = {
    TransactionStatus.VALID: (None, "paid, validated now"),
    TransactionStatus.VALIDATED: (None, "paid, validated before"),
    TransactionStatus.PENDING: (None, "the customer is still at the hosted page"),
    TransactionStatus.UNATTEMPTED: (None, "session created, nothing tried"),
    TransactionStatus.FAILED: (NOT_COMPLETED, "declined by the bank or wallet"),
    TransactionStatus.CANCELLED: (CANCELLED_MESSAGE, "cancelled by the customer"),
    TransactionStatus.EXPIRED: (EXPIRED_MESSAGE, "session timed out unpaid"),
    TransactionStatus.INVALID_TRANSACTION: (NOT_COMPLETED, "no such transaction"),
}

API_CONNECT_TEXT: dict[ApiConnect, str] = {
    ApiConnect.DONE: "answered",
    ApiConnect.INVALID_REQUEST: "invalid data in the call",
    ApiConnect.FAILED: "store credentials refused",
    ApiConnect.INACTIVE: "store or API user inactive",
}


def api_connect_reason(raw: object) -> str:
    """History words for an ``APIConnect`` value (unknown ones are said so)."""
    value = provider_status(ApiConnect, raw)
    return API_CONNECT_TEXT[value] if value is not None else "unknown APIConnect"


def risk_note(data: Mapping[str, Any]) -> str:
    """The history's note on a paid transaction's ``risk_level`` ("" when safe or absent)."""
    raw = str(data.get("risk_level") or "0")
    title = str(data.get("risk_title") or "")[:40]
    match RISK_LEVELS.get(raw):
        case "safe":
            return ""
        case "risky":
            return f"; risk_level 1 ({title}): SSLCommerz advises checking before delivering"
        case _:
            return f"; unknown risk_level {raw[:4]!r} ({title}): check before delivering"


def answered(data: Mapping[str, Any], *, session_key: str | None,
             operation: str) -> VerifiedResult:
    """A query answer judged by its ``APIConnect`` first: only ``DONE`` lets the status
    speak; any other value (or none) is unknown, its words in the history."""
    connect = provider_status(ApiConnect, data.get("APIConnect"))
    if connect is None:
        return VerifiedResult(
            outcome=Outcome.UNKNOWN, provider_reference=session_key,
            reason=f"SSLCommerz APIConnect {str(data.get('APIConnect'))[:30]!r} "
            f"(unknown APIConnect, {operation})")
    match connect:
        case ApiConnect.DONE:
            return map_transaction(data, session_key=session_key, operation=operation)
        case ApiConnect.INVALID_REQUEST | ApiConnect.FAILED | ApiConnect.INACTIVE:
            return VerifiedResult(
                outcome=Outcome.UNKNOWN, provider_reference=session_key,
                reason=f"SSLCommerz APIConnect {str(connect)!r} "
                f"({API_CONNECT_TEXT[connect]}, {operation})")
        case _:
            assert_never(connect)


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
            note = risk_note(data)
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
                                  reason=f"SSLCommerz status {status}: {STATUS_TEXT[status][1]}"
                                  f" ({operation})")
        case TransactionStatus.FAILED | TransactionStatus.INVALID_TRANSACTION:
            return VerifiedResult(
                outcome=Outcome.FAILED, provider_reference=ref,
                reason=f"SSLCommerz status {status}: {STATUS_TEXT[status][1]} "
                f"{str(data.get('error') or data.get('failedreason') or '')[:120]} "
                f"({operation})".replace("  ", " "),
                customer_message=STATUS_TEXT[status][0])
        case TransactionStatus.CANCELLED:
            return VerifiedResult(outcome=Outcome.CANCELLED, provider_reference=ref,
                                  reason=f"SSLCommerz status {status}: "
                                  f"{STATUS_TEXT[status][1]} ({operation})",
                                  customer_message=STATUS_TEXT[status][0])
        case TransactionStatus.EXPIRED:
            return VerifiedResult(outcome=Outcome.FAILED, provider_reference=ref,
                                  reason=f"SSLCommerz status {status}: "
                                  f"{STATUS_TEXT[status][1]} ({operation})",
                                  customer_message=STATUS_TEXT[status][0])
        case _:
            assert_never(status)


def elements(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The transactions of a by-tran_id query (``element``: every attempt with our
    tran_id)."""
    rows = data.get("element")
    return [e for e in rows if isinstance(e, Mapping)] if isinstance(rows, list) else []


def decide_sessions(results: list[VerifiedResult], *,
                    current: str | None = None) -> VerifiedResult | None:
    """One payment's sessions, each judged, in one answer: a paid session decides; else
    any session still open (``PENDING`` / ``UNATTEMPTED``: a tab the customer may still
    pay in) keeps the payment undecided, as does one SSLCommerz would not say; only when
    every session ended unpaid does the last one (the current session) speak.  Open and
    unknown answers keep the ``current`` session as the payment's reference."""
    if not results:
        return None
    for result in results:
        if result.outcome is Outcome.SUCCEEDED:
            return result
    for waiting in (Outcome.PROCESSING, Outcome.PENDING, Outcome.UNKNOWN):
        for result in results:
            if result.outcome is waiting:
                return replace(
                    result, provider_reference=current or result.provider_reference,
                    reason=f"SSLCommerz session {str(result.provider_reference or '?')[:40]} "
                    f"can still take the money: {result.reason}"[:480]
                    if len(results) > 1 else result.reason)
    return results[-1]


def describe_failure(reason: str | None) -> str | None:
    """The customer's sentence for a stored SSLCommerz reason (None: not one of ours)."""
    if not reason or "SSLCommerz" not in reason:
        return None
    for status, (message, _words) in STATUS_TEXT.items():
        if message and f"status {status}" in reason:
            return message
    if "CANCELLED" in reason:
        return CANCELLED_MESSAGE
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
