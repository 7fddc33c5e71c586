"""aamarPay's answers in our terms: amounts as aamarPay writes them, the payment request's
answer, and every ``pay_status`` / ``status_code`` of the search (trxcheck) API mapped
exhaustively.

Pure: no I/O, no clock, no logging.  A status aamarPay may add later (anything not in
:class:`PayStatus` / :class:`StatusCode`) maps to ``Outcome.UNKNOWN``, never to a
completion; ``mypy`` proves every member is handled.

What aamarPay publishes (developer.aamarpay.com, "Search Transaction" and the IPN
payloads): a successful transaction has ``pay_status`` ``"Successful"`` and
``status_code`` ``"2"``; a failed one ``"Failed"`` / ``"7"``; one not finished yet
``"Pending"``.  The merchant's transaction id comes back as ``mer_txnid``, aamarPay's own as
``pg_txnid``; the merchant's amount and currency as ``amount_original`` /
``currency_merchant`` (``amount`` / ``currency`` on older answers).

Error codes: aamarPay publishes no list of ``status_code`` values beyond ``2`` and ``7``, nor
of its payment-request error messages, that we could find (aamarpay.readme.io, "Search
Transaction", shows the fields, not a code table).  So every ``pay_status`` /
``status_code`` in :data:`STATUS_TEXT` has a customer sentence and history words;
aamarPay's own ``status_title`` / ``error_title`` and a refused request's text are kept
verbatim in the history, and anything else is unknown (the generic sentence, never a
completion).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.aamarpay.messages import (
    CANCELLED,
    DECLINED,
    GENERIC,
    MERCHANT_SIDE,
    NEEDS_PHONE,
    NOT_COMPLETED,
    NOT_CONFIRMED,
)
from ownpay.gateways.base import Outcome, VerifiedResult, provider_status

CURRENCIES = frozenset({"BDT", "USD"})
MAX_TRAN_ID = 32  # aamarPay's limit for tran_id
_REASON = re.compile(r"\baamarPay (?:status|return) (\w+)")


class PayStatus(enum.StrEnum):
    """``pay_status`` of the search API (and of the browser's post, which we never trust)."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    PENDING = "Pending"


class StatusCode(enum.StrEnum):
    """``status_code`` next to ``pay_status``: ``2`` successful, ``7`` failed."""

    SUCCESSFUL = "2"
    FAILED = "7"


# Every pay_status -> (customer sentence, or None where paid or still open; history words).
STATUS_TEXT: dict[PayStatus, tuple[str | None, str]] = {
    PayStatus.SUCCESSFUL: (None, "paid"),
    PayStatus.FAILED: (DECLINED, "declined or failed at aamarPay"),
    PayStatus.PENDING: (None, "not finished at aamarPay yet"),
}

# Every status_code -> history words.
CODE_TEXT: dict[StatusCode, str] = {
    StatusCode.SUCCESSFUL: "successful",
    StatusCode.FAILED: "failed",
}


def code_words(raw: object) -> str:
    """History words for a ``status_code`` (an unlisted one is said so, kept verbatim)."""
    code = _code(raw)
    return CODE_TEXT[code] if code is not None else f"unlisted status_code {str(raw)[:8]!r}"


class ReturnKind(enum.StrEnum):
    """Which of our three URLs aamarPay's page posted the browser back to (a hint only)."""

    SUCCESS = "success"
    FAIL = "fail"
    CANCEL = "cancel"


def return_hint(raw: object) -> Outcome:
    """What the return URL alone lets us conclude: nothing is ever completed by it.
    CANCELLED for the cancel URL, FAILED for the fail URL, UNKNOWN (ask) otherwise."""
    kind = provider_status(ReturnKind, raw)
    if kind is None:
        return Outcome.UNKNOWN
    match kind:
        case ReturnKind.SUCCESS:
            return Outcome.UNKNOWN
        case ReturnKind.FAIL:
            return Outcome.FAILED
        case ReturnKind.CANCEL:
            return Outcome.CANCELLED
        case _:
            assert_never(kind)


# ---- amounts ------------------------------------------------------------------------------


class AmountNotRepresentable(ValueError):
    """aamarPay cannot be sent this amount; ``str(exc)`` is a readable sentence."""


def to_aamarpay_amount(minor: int, currency: str) -> str:
    """Our minor units -> aamarPay's ``amount``: a decimal string, two decimals."""
    code = currency.upper()
    if code not in CURRENCIES:
        raise AmountNotRepresentable(f"aamarPay takes BDT and USD only, not {code}.")
    if minor <= 0:
        raise AmountNotRepresentable("aamarPay takes amounts greater than 0 only.")
    return str(money.to_major(minor, code))


def from_aamarpay_amount(value: Any, currency: str) -> int | None:
    """aamarPay's amount (string or number) in exact minor units; None if it is not one."""
    code = str(currency or "").upper()
    if code not in CURRENCIES or isinstance(value, bool):
        return None
    try:
        return money.parse_minor(str(value), code)
    except (money.AmountError, ValueError):
        return None


# ---- the payment request ------------------------------------------------------------------


def payment_url(data: object) -> str | None:
    """The hosted page's URL from a payment request answer (``result`` ``"true"`` and
    ``payment_url``), else None."""
    if not isinstance(data, Mapping):
        return None
    if str(data.get("result", "")).lower() != "true":
        return None
    url = data.get("payment_url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def refusal(data: object) -> str:
    """aamarPay's words for a refused payment request (it answers a JSON string or an
    object with the reason), one line, bounded."""
    if isinstance(data, Mapping):
        for key in ("errors", "error", "message", "result"):
            if data.get(key):
                data = data[key]
                break
        else:
            data = "no payment_url"
    if isinstance(data, Mapping | list):
        data = " ".join(str(v) for v in (data.values() if isinstance(data, Mapping) else data))
    return " ".join(str(data).split())[:200]


def refusal_message(text: str) -> str:
    """The customer's sentence for a refused payment request."""
    lowered = text.lower()
    if "cus_phone" in lowered:
        return NEEDS_PHONE
    if "store" in lowered or "signature" in lowered or "merchant" in lowered:
        return MERCHANT_SIDE
    return GENERIC


# ---- the search (trxcheck) answer -----------------------------------------------------------


def _field(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = data.get(name)
        if value not in (None, "", "Not-Available"):
            return value
    return None


def _code(raw: object) -> StatusCode | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    return provider_status(StatusCode, raw)


def _title(data: Mapping[str, Any]) -> str:
    said = _field(data, "status_title", "error_title") or ""
    return " ".join(str(said).split())[:120]


def map_verify(data: Mapping[str, Any], *, operation: str) -> VerifiedResult:
    """A search API answer about one of our transactions."""
    raw = data.get("pay_status")
    status = provider_status(PayStatus, raw)
    code = _code(data.get("status_code"))
    pg_txnid = str(_field(data, "pg_txnid") or "") or None
    if status is None:
        shown = str(raw)[:40] if raw is not None else "missing"
        said = f", aamarPay said {str(data['said'])[:120]!r}" if data.get("said") else ""
        return VerifiedResult(
            outcome=Outcome.UNKNOWN,
            reason=f"unmapped aamarPay pay_status {shown!r}{said} ({operation})",
        )
    match status:
        case PayStatus.SUCCESSFUL:
            if code is not StatusCode.SUCCESSFUL or not pg_txnid:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=pg_txnid,
                    reason=f"aamarPay pay_status Successful with status_code "
                    f"{str(data.get('status_code'))[:8]!r} and pg_txnid {pg_txnid!r}: "
                    f"contradictory, not trusted ({operation})",
                )
            currency = str(_field(data, "currency_merchant", "currency") or "")
            amount = _field(data, "amount_original", "amount")
            reference = data.get("mer_txnid")
            return VerifiedResult(
                outcome=Outcome.SUCCEEDED,
                # Unparseable amount/currency -> None/"" -> the core refuses to complete.
                amount_minor=from_aamarpay_amount(amount, currency),
                currency=currency.upper(),
                reference=str(reference) if reference is not None else "",
                provider_reference=pg_txnid,
                provider_txn_id=pg_txnid,
                reason=f"aamarPay status Successful, pg_txnid {pg_txnid} ({operation})",
            )
        case PayStatus.FAILED:
            title = _title(data)
            return VerifiedResult(
                outcome=Outcome.FAILED,
                provider_reference=pg_txnid,
                reason=f"aamarPay status Failed (status_code "
                f"{str(data.get('status_code'))[:8]}{', ' + title if title else ''}) "
                f"({operation})",
                customer_message=STATUS_TEXT[status][0],
            )
        case PayStatus.PENDING:
            return VerifiedResult(
                outcome=Outcome.PENDING,
                provider_reference=pg_txnid,
                reason=f"aamarPay status Pending ({operation})",
            )
        case _:
            assert_never(status)


def describe_failure(reason: str | None) -> str | None:
    """The customer's sentence for a stored aamarPay reason (None: not one of ours)."""
    if not reason:
        return None
    found = _REASON.search(reason)
    if not found:
        return None
    match found.group(1):
        case "Failed":
            return DECLINED
        case "cancel":
            return CANCELLED
        case "fail":
            return NOT_CONFIRMED
        case _:
            return NOT_COMPLETED
