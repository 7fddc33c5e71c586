"""PayPal's figures and statuses in our terms: pure functions, no I/O.

* Amounts: PayPal takes a decimal string (``"12.34"``) in the currency's unit.  Most of its
  currencies have two decimals, as in ISO 4217; HUF and TWD have two in ISO 4217 but none at
  PayPal ("decimal amounts cause an error"), JPY has none in either.  So HUF 12.34 (our 1234
  minor units) cannot be sent and is refused when the intent is created; HUF 12.00 goes as
  ``"12"``.  Amounts read back from PayPal convert exactly or not at all (None).
* Statuses: an order (``CREATED`` … ``COMPLETED``), its captures (``COMPLETED``,
  ``PENDING``, ``DECLINED``, …) and refunds map exhaustively; anything unknown is
  ``Outcome.UNKNOWN`` and never a completion.  Only a ``COMPLETED`` capture of a
  ``COMPLETED`` order is money taken.
* Errors: PayPal's ``name`` and, for ``UNPROCESSABLE_ENTITY``, ``details[].issue`` decide
  the outcome of a refused capture or refund, a customer sentence and a history reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, assert_never

from ownpay import money
from ownpay.gateways.base import Outcome, VerifiedResult, provider_status
from ownpay.i18n import N_

# PayPal's payment currencies (developer.paypal.com "Currency codes"); BRL and MYR only for
# in-country accounts, which PayPal itself enforces per account.
CURRENCIES = frozenset({
    "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR",
    "MXN", "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD",
})
NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})
MAX_VALUE_DIGITS = 32  # amount.value: at most 32 characters, ^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$
MAX_ID = 127  # custom_id / invoice_id

GENERIC = N_("PayPal could not take the payment. Please try again.")
DECLINED = N_("PayPal declined the payment method you chose. Please try again with another one.")
CANCELLED_MESSAGE = N_("You cancelled the payment at PayPal.")
NOT_COMPLETED = N_("The PayPal payment did not go through.")


class AmountNotRepresentable(ValueError):
    """PayPal cannot be sent exactly this amount in this currency."""


class OrderStatus(enum.StrEnum):
    """``status`` of an Orders v2 order."""

    CREATED = "CREATED"  # made, not yet approved by the payer
    SAVED = "SAVED"  # saved for later (never with intent CAPTURE from us)
    APPROVED = "APPROVED"  # the payer approved: the merchant must capture
    VOIDED = "VOIDED"  # every purchase unit voided
    COMPLETED = "COMPLETED"  # captured (see the capture's own status)
    PAYER_ACTION_REQUIRED = "PAYER_ACTION_REQUIRED"  # e.g. 3-D Secure, payer must act


class CaptureStatus(enum.StrEnum):
    """``status`` of a capture (``purchase_units[].payments.captures[]``)."""

    COMPLETED = "COMPLETED"
    DECLINED = "DECLINED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    PENDING = "PENDING"  # e.g. eCheck, review, receiving preferences
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


class RefundStatus(enum.StrEnum):
    """``status`` of a refund (Payments v2)."""

    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"


# ---- amounts ------------------------------------------------------------------------------


def _decimals(currency: str) -> int:
    return 0 if currency.upper() in NO_DECIMALS else 2


def to_paypal_amount(amount_minor: int, currency: str) -> str:
    """Our minor units as PayPal's ``amount.value``; raises AmountNotRepresentable."""
    code = currency.upper()
    if code not in CURRENCIES:
        raise AmountNotRepresentable(f"PayPal does not take {code}.")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise AmountNotRepresentable("PayPal takes only positive amounts.")
    ours = money.exponent(code)
    theirs = _decimals(code)
    if ours > theirs and amount_minor % 10 ** (ours - theirs):
        raise AmountNotRepresentable(
            f"PayPal takes {code} amounts without decimals; this amount has some.")
    try:
        value = Decimal(amount_minor).scaleb(-ours).quantize(Decimal(1).scaleb(-theirs))
    except InvalidOperation:  # more digits than any amount PayPal takes
        raise AmountNotRepresentable("The amount is too large for PayPal.") from None
    text = f"{value:f}"
    if len(text) > MAX_VALUE_DIGITS:
        raise AmountNotRepresentable("The amount is too large for PayPal.")
    return text


def from_paypal_amount(value: Any, currency: str) -> int | None:
    """PayPal's ``amount.value`` in our minor units; None when not exactly representable."""
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE_DIGITS:
        return None
    code = currency.upper() if isinstance(currency, str) else ""
    if not money.is_currency(code):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    minor = amount.scaleb(money.exponent(code))
    if minor != minor.to_integral_value():
        return None
    return int(minor)


def _amount_of(obj: Mapping[str, Any]) -> tuple[int | None, str | None]:
    amount = obj.get("amount")
    if not isinstance(amount, Mapping):
        return None, None
    currency = amount.get("currency_code")
    if not isinstance(currency, str):
        return None, None
    return from_paypal_amount(amount.get("value"), currency), currency.upper()


# ---- orders -------------------------------------------------------------------------------


def purchase_unit(order: Mapping[str, Any]) -> Mapping[str, Any]:
    units = order.get("purchase_units")
    if isinstance(units, list) and units and isinstance(units[0], Mapping):
        return units[0]
    return {}


def captures(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    payments = purchase_unit(order).get("payments")
    found = payments.get("captures") if isinstance(payments, Mapping) else None
    return [c for c in found if isinstance(c, Mapping)] if isinstance(found, list) else []


def approve_link(order: Mapping[str, Any]) -> str | None:
    """Where the payer approves: the ``payer-action`` link (``payment_source`` orders) or
    the ``approve`` link (older ``application_context`` orders)."""
    links = order.get("links")
    if not isinstance(links, list):
        return None
    for rel in ("payer-action", "approve"):
        for link in links:
            if isinstance(link, Mapping) and link.get("rel") == rel and link.get("href"):
                return str(link["href"])
    return None


def order_reference(order: Mapping[str, Any]) -> str | None:
    unit = purchase_unit(order)
    ref = unit.get("custom_id") or unit.get("invoice_id")
    return str(ref) if ref else None


def map_order(order: Mapping[str, Any], *, operation: str) -> VerifiedResult:
    """What an order (as GET or capture answers it) says about the payment."""
    order_id = str(order.get("id") or "") or None
    raw = order.get("status")
    status = provider_status(OrderStatus, raw)
    where = f"PayPal order {order_id} {raw!r} ({operation})"
    if status is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                              reason=f"{where}: status not understood")
    match status:
        case OrderStatus.CREATED | OrderStatus.SAVED | OrderStatus.PAYER_ACTION_REQUIRED:
            return VerifiedResult(outcome=Outcome.PENDING, provider_reference=order_id,
                                  reason=f"{where}: not approved yet")
        case OrderStatus.APPROVED:
            return VerifiedResult(outcome=Outcome.AUTHORIZED, provider_reference=order_id,
                                  reason=f"{where}: approved by the payer, not captured")
        case OrderStatus.VOIDED:
            return VerifiedResult(outcome=Outcome.CANCELLED, provider_reference=order_id,
                                  reason=f"{where}: voided", customer_message=NOT_COMPLETED)
        case OrderStatus.COMPLETED:
            return _map_capture(order, order_id, where)
        case _:
            assert_never(status)


def _map_capture(order: Mapping[str, Any], order_id: str | None, where: str) -> VerifiedResult:
    found = captures(order)
    if len(found) != 1:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                              reason=f"{where}: {len(found)} captures, expected one")
    capture = found[0]
    capture_id = str(capture.get("id") or "") or None
    raw = capture.get("status")
    status = provider_status(CaptureStatus, raw)
    detail = capture.get("status_details")
    why = detail.get("reason") if isinstance(detail, Mapping) else None
    said = f"{where}, capture {capture_id} {raw!r}" + (f" ({why})" if why else "")
    if status is None:
        return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                              provider_txn_id=capture_id,
                              reason=f"{said}: status not understood")
    match status:
        case CaptureStatus.COMPLETED:
            amount, currency = _amount_of(capture)
            reference = capture.get("custom_id") or order_reference(order)
            if amount is None or currency is None:
                return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                                      provider_txn_id=capture_id,
                                      reason=f"{said}: amount not understood")
            return VerifiedResult(outcome=Outcome.SUCCEEDED, amount_minor=amount,
                                  currency=currency, reference=str(reference or ""),
                                  provider_reference=order_id, provider_txn_id=capture_id,
                                  reason=said)
        case CaptureStatus.PENDING:
            return VerifiedResult(outcome=Outcome.PROCESSING, provider_reference=order_id,
                                  provider_txn_id=capture_id, reason=said)
        case CaptureStatus.DECLINED | CaptureStatus.FAILED:
            return VerifiedResult(outcome=Outcome.FAILED, provider_reference=order_id,
                                  provider_txn_id=capture_id, reason=said,
                                  customer_message=DECLINED)
        case CaptureStatus.REFUNDED | CaptureStatus.PARTIALLY_REFUNDED:
            # Money was taken and (some) given back outside this payment's flow: an operator
            # decides, the payment is never completed from this answer.
            return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                                  provider_txn_id=capture_id,
                                  reason=f"{said}: refunded at PayPal before completion")
        case _:
            assert_never(status)


# ---- errors -------------------------------------------------------------------------------

# PayPal's ``details[].issue`` (or ``name``) on a refused capture -> (outcome, customer text).
# PENDING: the order can still be approved / captured later; FAILED: this attempt is over.
CAPTURE_ISSUES: dict[str, tuple[Outcome, str]] = {
    "INSTRUMENT_DECLINED": (Outcome.FAILED, DECLINED),
    "TRANSACTION_REFUSED": (Outcome.FAILED, DECLINED),
    "PAYER_CANNOT_PAY": (Outcome.FAILED, DECLINED),
    "PAYER_ACCOUNT_RESTRICTED": (Outcome.FAILED, DECLINED),
    "PAYER_ACCOUNT_LOCKED_OR_CLOSED": (Outcome.FAILED, DECLINED),
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING": (Outcome.FAILED, DECLINED),
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": (
        Outcome.FAILED, "Too many attempts at PayPal. Please try again later."),
    "PAYEE_ACCOUNT_RESTRICTED": (
        Outcome.FAILED, "The merchant cannot take PayPal payments right now."),
    "PAYEE_ACCOUNT_LOCKED_OR_CLOSED": (
        Outcome.FAILED, "The merchant cannot take PayPal payments right now."),
    "PAYEE_BLOCKED_TRANSACTION": (Outcome.FAILED, DECLINED),
    "COMPLIANCE_VIOLATION": (Outcome.FAILED, GENERIC),
    "DUPLICATE_INVOICE_ID": (
        Outcome.FAILED, "PayPal has already taken a payment for this order."),
    "ORDER_EXPIRED": (Outcome.FAILED, "The PayPal order expired before it was paid."),
    "ORDER_NOT_APPROVED": (Outcome.PENDING, "The payment was not approved at PayPal yet."),
    "PAYER_ACTION_REQUIRED": (Outcome.PENDING, "PayPal needs you to finish the payment."),
    "ORDER_ALREADY_CAPTURED": (Outcome.UNKNOWN, GENERIC),  # ask the order again
    "ORDER_ALREADY_AUTHORIZED": (Outcome.UNKNOWN, GENERIC),  # never with intent CAPTURE
    "ORDER_COMPLETED_OR_VOIDED": (Outcome.UNKNOWN, GENERIC),
    "AGREEMENT_ALREADY_CANCELLED": (Outcome.FAILED, GENERIC),
    "CARD_EXPIRED": (Outcome.FAILED, "The card you chose at PayPal has expired."),
}

# Refused refunds: every one is final (PayPal moved nothing) -> a history reason.
REFUND_ISSUES: dict[str, str] = {
    "REFUND_AMOUNT_EXCEEDED": "more than is left of the capture",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "currency differs from the capture",
    "CAPTURE_FULLY_REFUNDED": "the capture is already fully refunded",
    "REFUND_TIME_LIMIT_EXCEEDED": "too late to refund this capture at PayPal",
    "REFUND_NOT_ALLOWED": "PayPal does not allow refunding this capture",
    "REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK": "the capture is under a chargeback",
    "PARTIAL_REFUND_NOT_ALLOWED": "PayPal does not allow a partial refund of this capture",
    "REFUND_FAILED_INSUFFICIENT_FUNDS": "the merchant's PayPal balance is too low",
    "PENDING_CAPTURE": "the capture is still pending",
    "TRANSACTION_DISPUTED": "the capture is disputed",
    "MULTI_CURRENCY_REFUND_NOT_SUPPORTED": "PayPal refuses a refund in another currency",
    "DECIMAL_PRECISION": "amount has too many decimals for PayPal",
    "AMOUNT_MISMATCH": "amount does not match PayPal's figures",
    "INVALID_RESOURCE_ID": "PayPal does not know this capture",
}


def issue_of(name: str | None, details: Any) -> str:
    """The most precise error word: the first ``details[].issue``, else ``name``."""
    if isinstance(details, list):
        for item in details:
            issue = item.get("issue") if isinstance(item, Mapping) else getattr(item, "issue",
                                                                                 None)
            if issue:
                return str(issue)[:80]
    return str(name or "UNKNOWN_ERROR")[:80]


def capture_refused(issue: str, *, order_id: str | None, said: str) -> VerifiedResult:
    """A capture PayPal refused with ``issue`` (it moved no money)."""
    outcome, message = CAPTURE_ISSUES.get(issue, (Outcome.UNKNOWN, GENERIC))
    return VerifiedResult(outcome=outcome, provider_reference=order_id,
                          reason=f"PayPal refused the capture: {issue} ({said})"[:480],
                          customer_message=message)


def describe_failure(reason: str | None) -> str | None:
    """The customer's sentence for a stored failure reason of ours."""
    if not reason or "PayPal" not in reason:
        return None
    for issue, (_outcome, message) in CAPTURE_ISSUES.items():
        if issue in reason:
            return message
    if "voided" in reason:
        return NOT_COMPLETED
    if "cancelled at PayPal" in reason:
        return CANCELLED_MESSAGE
    if "DECLINED" in reason or "FAILED" in reason:
        return DECLINED
    return GENERIC


# ---- refunds ------------------------------------------------------------------------------


def refund_outcome(status: RefundStatus | None) -> Outcome:
    if status is None:
        return Outcome.UNKNOWN
    match status:
        case RefundStatus.COMPLETED:
            return Outcome.SUCCEEDED
        case RefundStatus.PENDING:
            return Outcome.PROCESSING
        case RefundStatus.FAILED | RefundStatus.CANCELLED:
            return Outcome.FAILED
        case _:
            assert_never(status)


def order_refunds(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The refunds an order (GET) lists under ``purchase_units[0].payments.refunds``."""
    payments = purchase_unit(order).get("payments")
    found = payments.get("refunds") if isinstance(payments, Mapping) else None
    return [r for r in found if isinstance(r, Mapping)] if isinstance(found, list) else []


def refund_amount(refund: Mapping[str, Any]) -> tuple[int | None, str]:
    amount, currency = _amount_of(refund)
    return amount, currency or ""


def refund_reason(refund: Mapping[str, Any]) -> str:
    detail = refund.get("status_details")
    why = detail.get("reason") if isinstance(detail, Mapping) else None
    return f"PayPal refund {refund.get('id')} {refund.get('status')!r}" + (
        f" ({why})" if why else "")
