"""Razorpay's published error words in our terms: every documented ``reason`` of a failed
payment (and of an API error) with the sentence the customer reads and the words the status
history keeps, and every documented ``code``, ``source`` and ``step``.

Pure data and lookups: no I/O.  A reason Razorpay adds later is kept verbatim in the history
and shown to the customer as the generic sentence (:func:`reason_text`).

Where the lists come from: Razorpay's documentation, "Errors" -- "About Errors" (the error
object: ``code``, ``description``, ``field``, ``source``, ``step``, ``reason``,
``metadata``), "Error Codes" (the ``code`` values), "Payment Method Error Parameters" (the
card flow's ``source`` and ``step`` values), "Cards Error Codes" and "UPI Error Codes" (the
``reason`` values of failed card and UPI payments) and "Error Reasons" (the request-side
reasons), as published in razorpay.com/docs and Razorpay's markdown-docs repository.
"""

from __future__ import annotations

import enum

from ownpay.gateways.base import provider_status

GENERIC = "Razorpay could not take the payment. Please try again."
CANCELLED = "You cancelled the Razorpay payment."
TIMED_OUT = "The Razorpay payment timed out before it was finished. Please try again."
AUTHENTICATION = ("The payment could not be authenticated (for example a wrong OTP). "
                  "Please try again.")
DECLINED = "Your bank declined the payment. Please try another card or payment method."
FUNDS = "The account did not have enough funds. Please try another card or payment method."
NOT_ONLINE = ("This card is not enabled for online payments. Enable it with your bank or "
              "use another card.")
BLOCKED = "This card or account is blocked or inactive. Please use another one."
EXPIRED_CARD = "This card has expired. Please use another card."
CVV = "The card's CVV was not correct. Please try again."
LIMIT = "The card's transaction limit is reached. Please try another card or method."
CARD_NUMBER = "The card number is not valid. Please check it and try again."
BANK_DOWN = ("The bank is having technical trouble. Please try again in a while or use "
             "another payment method.")
UPI_ID = "The UPI ID could not be used. Please check it or pay with another UPI app."
ACCOUNT = "The bank account could not be used. Please try another account or method."
MERCHANT_SIDE = ("Razorpay cannot take this payment for this shop right now. Please choose "
                 "another way to pay or contact the merchant.")


class ErrorCode(enum.StrEnum):
    """``error.code`` (``error_code`` on a payment): the error's type."""

    BAD_REQUEST_ERROR = "BAD_REQUEST_ERROR"
    GATEWAY_ERROR = "GATEWAY_ERROR"
    SERVER_ERROR = "SERVER_ERROR"


class ErrorSource(enum.StrEnum):
    """``error.source``: who the failure came from (the card flow's published values)."""

    CUSTOMER = "customer"
    BUSINESS = "business"
    INTERNAL = "internal"
    GATEWAY = "gateway"
    ISSUER_BANK = "issuer_bank"


class ErrorStep(enum.StrEnum):
    """``error.step``: where in the payment it failed (the card flow's published values)."""

    PAYMENT_INITIATION = "payment_initiation"
    CARD_ENROLLMENT_CHECK = "card_enrollment_check"
    PAYMENT_AUTHENTICATION = "payment_authentication"
    PAYMENT_AUTHORIZATION = "payment_authorization"
    PAYMENT_CAPTURE = "payment_capture"


class ErrorReason(enum.StrEnum):
    """``error.reason`` (``error_reason`` on a failed payment)."""

    # Cards
    PAYMENT_TIMED_OUT = "payment_timed_out"
    GATEWAY_TECHNICAL_ERROR = "gateway_technical_error"
    PAYMENT_CANCELLED = "payment_cancelled"
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CARD_NOT_ENROLLED = "card_not_enrolled"
    BANK_TECHNICAL_ERROR = "bank_technical_error"
    CARD_DISABLED_FOR_ONLINE_PAYMENTS = "card_disabled_for_online_payments"
    AUTHENTICATION_FAILED = "authentication_failed"
    PAYMENT_RISK_CHECK_FAILED = "payment_risk_check_failed"
    PAYMENT_FAILED = "payment_failed"
    INCORRECT_CVV = "incorrect_cvv"
    DEBIT_INSTRUMENT_INACTIVE = "debit_instrument_inactive"
    DEBIT_INSTRUMENT_BLOCKED = "debit_instrument_blocked"
    CARD_EXPIRED = "card_expired"
    TRANSACTION_LIMIT_EXCEEDED = "transaction_limit_exceeded"
    CARD_NUMBER_INVALID = "card_number_invalid"
    INVALID_OTP = "invalid_otp"
    # UPI
    CREDIT_FAILED = "credit_failed"
    INVALID_VPA = "invalid_vpa"
    PAYMENT_COLLECT_REQUEST_EXPIRED = "payment_collect_request_expired"
    PAYMENT_DECLINED = "payment_declined"
    VPA_RESOLUTION_FAILED = "vpa_resolution_failed"
    AUTHORISATION_DECLINED_BY_PSP = "authorisation_declined_by_psp"
    # Banks and accounts
    BANK_ACCOUNT_INVALID = "bank_account_invalid"
    BANK_ACCOUNT_VALIDATION_FAILED = "bank_account_validation_failed"
    BANK_CUTOFF_IN_PROGRESS = "bank_cutoff_in_progress"
    BANK_NOT_AVAILABLE = "bank_not_available"
    # The request or the business's account
    INPUT_VALIDATION_FAILED = "input_validation_failed"
    CARD_NETWORK_NOT_ENABLED = "card_network_not_enabled"
    INVALID_CURRENCY = "invalid_currency"
    RECURRING_PAYMENT_NOT_ENABLED = "recurring_payment_not_enabled"
    LIVE_MODE_NOT_ENABLED = "live_mode_not_enabled"
    INVALID_AMOUNT = "invalid_amount"
    AMOUNT_LESS_THAN_MINIMUM_AMOUNT = "amount_less_than_minimum_amount"
    BANK_NOT_ENABLED = "bank_not_enabled"
    DUPLICATE_REQUEST = "duplicate_request"


R = ErrorReason
# reason -> (what the customer reads, what the status history keeps)
REASONS: dict[ErrorReason, tuple[str, str]] = {
    R.PAYMENT_TIMED_OUT: (TIMED_OUT, "customer exceeded the time limit"),
    R.GATEWAY_TECHNICAL_ERROR: (BANK_DOWN, "Razorpay's partner bank had a downtime"),
    R.PAYMENT_CANCELLED: (CANCELLED, "customer cancelled or went back"),
    R.CARD_DECLINED: (DECLINED, "declined by the customer's bank"),
    R.INSUFFICIENT_FUNDS: (FUNDS, "insufficient funds"),
    R.CARD_NOT_ENROLLED: (NOT_ONLINE, "card not enabled for online payments"),
    R.BANK_TECHNICAL_ERROR: (BANK_DOWN, "customer's bank had a downtime"),
    R.CARD_DISABLED_FOR_ONLINE_PAYMENTS: (NOT_ONLINE, "card disabled for online payments"),
    R.AUTHENTICATION_FAILED: (AUTHENTICATION, "3DS/OTP authentication failed"),
    R.PAYMENT_RISK_CHECK_FAILED: (DECLINED, "declined by the bank as risky"),
    R.PAYMENT_FAILED: (DECLINED, "declined by the customer's bank"),
    R.INCORRECT_CVV: (CVV, "incorrect CVV"),
    R.DEBIT_INSTRUMENT_INACTIVE: (BLOCKED, "card or account inactive"),
    R.DEBIT_INSTRUMENT_BLOCKED: (BLOCKED, "card or account blocked"),
    R.CARD_EXPIRED: (EXPIRED_CARD, "card expired"),
    R.TRANSACTION_LIMIT_EXCEEDED: (LIMIT, "card's transaction limit exceeded"),
    R.CARD_NUMBER_INVALID: (CARD_NUMBER, "card number invalid"),
    R.INVALID_OTP: (AUTHENTICATION, "incorrect OTP"),
    R.CREDIT_FAILED: (ACCOUNT, "credit failed (account mismatch or partner bank down)"),
    R.INVALID_VPA: (UPI_ID, "not a valid user of the UPI app"),
    R.PAYMENT_COLLECT_REQUEST_EXPIRED: (TIMED_OUT, "UPI collect request expired"),
    R.PAYMENT_DECLINED: (DECLINED, "funds could not be debited"),
    R.VPA_RESOLUTION_FAILED: (UPI_ID, "UPI ID could not be resolved"),
    R.AUTHORISATION_DECLINED_BY_PSP: (UPI_ID, "declined by the UPI app (PSP)"),
    R.BANK_ACCOUNT_INVALID: (ACCOUNT, "bank account invalid or closed"),
    R.BANK_ACCOUNT_VALIDATION_FAILED: (ACCOUNT, "bank account validation failed"),
    R.BANK_CUTOFF_IN_PROGRESS: (BANK_DOWN, "bank cutoff in progress"),
    R.BANK_NOT_AVAILABLE: (BANK_DOWN, "bank not available"),
    R.INPUT_VALIDATION_FAILED: (GENERIC, "request refused as invalid"),
    R.CARD_NETWORK_NOT_ENABLED: (MERCHANT_SIDE, "card network not enabled for the business"),
    R.INVALID_CURRENCY: (MERCHANT_SIDE, "currency not enabled for the business"),
    R.RECURRING_PAYMENT_NOT_ENABLED: (MERCHANT_SIDE, "recurring payments not enabled"),
    R.LIVE_MODE_NOT_ENABLED: (MERCHANT_SIDE, "live mode not enabled (test keys in live?)"),
    R.INVALID_AMOUNT: (MERCHANT_SIDE, "amount or currency invalid"),
    R.AMOUNT_LESS_THAN_MINIMUM_AMOUNT: (MERCHANT_SIDE, "amount below the bank's minimum"),
    R.BANK_NOT_ENABLED: (MERCHANT_SIDE, "bank not enabled for the business"),
    R.DUPLICATE_REQUEST: (GENERIC, "duplicate request"),
}

CODES: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST_ERROR: "bad request",
    ErrorCode.GATEWAY_ERROR: "gateway error",
    ErrorCode.SERVER_ERROR: "Razorpay server error",
}

SOURCES: dict[ErrorSource, str] = {
    ErrorSource.CUSTOMER: "from the customer",
    ErrorSource.BUSINESS: "from the business",
    ErrorSource.INTERNAL: "inside Razorpay",
    ErrorSource.GATEWAY: "at the gateway",
    ErrorSource.ISSUER_BANK: "at the issuing bank",
}

STEPS: dict[ErrorStep, str] = {
    ErrorStep.PAYMENT_INITIATION: "at initiation",
    ErrorStep.CARD_ENROLLMENT_CHECK: "at the card enrolment check",
    ErrorStep.PAYMENT_AUTHENTICATION: "at authentication",
    ErrorStep.PAYMENT_AUTHORIZATION: "at authorisation",
    ErrorStep.PAYMENT_CAPTURE: "at capture",
}


def reason_text(reason: object) -> tuple[str, str]:
    """(customer sentence, history words) of a ``reason``; an unknown one keeps its own
    word in the history and the customer reads the generic sentence."""
    known = provider_status(ErrorReason, reason)
    if known is not None:
        return REASONS[known]
    return GENERIC, f"unknown reason {str(reason or '')[:40]!r}"


def describe(code: object, reason: object, source: object = None, step: object = None) -> str:
    """One history line for a Razorpay error: the reason word and what it means, then the
    code, source and step as far as Razorpay gave them."""
    words = [f"error {str(reason or 'none')[:40]} ({reason_text(reason)[1]})"]
    c = provider_status(ErrorCode, code)
    if code:
        words.append(f"{str(code)[:30]} ({CODES[c] if c else 'unknown code'})")
    s = provider_status(ErrorSource, source)
    if source:
        words.append(SOURCES[s] if s else f"source {str(source)[:30]}")
    t = provider_status(ErrorStep, step)
    if step:
        words.append(STEPS[t] if t else f"step {str(step)[:40]}")
    return ", ".join(words)
