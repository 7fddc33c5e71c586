"""What every verified result of every gateway must satisfy, wherever a check obtains one."""

from __future__ import annotations

from ownpay.gateways.base import Outcome, PaymentView, RefundResult, VerifiedResult
from ownpay.payments.models import PaymentIntent
from ownpay.payments.service import mismatch

REFUND_OUTCOMES = {Outcome.SUCCEEDED, Outcome.PROCESSING, Outcome.FAILED, Outcome.UNKNOWN}


def intent_of(payment: PaymentView) -> PaymentIntent:
    """The payment as the payments service checks results against it (not stored)."""
    return PaymentIntent(id=payment.transaction_id, amount_minor=payment.amount_minor,
                         currency=payment.currency)


def completes(payment: PaymentView, result: VerifiedResult) -> bool:
    """Whether the core would complete ``payment`` with ``result``."""
    return result.outcome is Outcome.SUCCEEDED and mismatch(intent_of(payment), result) is None


def assert_sound(payment: PaymentView, result: VerifiedResult) -> None:
    """A SUCCEEDED result names the amount, currency and reference it is about."""
    assert isinstance(result.outcome, Outcome)
    if result.outcome is Outcome.SUCCEEDED:
        assert result.amount_minor is not None, result
        assert result.currency, result
        assert result.reference is not None, result


def assert_refund_sound(result: RefundResult) -> None:
    assert result.outcome in REFUND_OUTCOMES, result
