"""What the sandbox's buttons mean: the developer's choice on the checkout page, mapped
exhaustively, and what "the provider" says about a payment later.

Pure: no I/O, no clock, no logging.  A choice the page does not offer maps to
``Outcome.UNKNOWN`` (the adapter then refuses the form)."""

from __future__ import annotations

import enum
from typing import assert_never

from ownpay.gateways.base import Outcome, PaymentView, VerifiedResult, provider_status
from ownpay.i18n import N_


class SandboxChoice(enum.StrEnum):
    """The ``outcome`` button pressed on the sandbox's checkout fragment."""

    SUCCEED = "succeed"
    FAIL = "fail"
    PROCESSING = "processing"


def choice_outcome(raw: object) -> Outcome:
    choice = provider_status(SandboxChoice, raw)
    if choice is None:
        return Outcome.UNKNOWN
    match choice:
        case SandboxChoice.SUCCEED:
            return Outcome.SUCCEEDED
        case SandboxChoice.FAIL:
            return Outcome.FAILED
        case SandboxChoice.PROCESSING:
            return Outcome.PROCESSING
        case _:
            assert_never(choice)


_REASONS = {
    Outcome.SUCCEEDED: "sandbox: customer chose success",
    Outcome.FAILED: "sandbox: customer chose failure (card_declined)",
    Outcome.PROCESSING: "sandbox: customer left the payment processing",
}


def provider_reference(payment: PaymentView) -> str:
    return f"sbx_{payment.transaction_id[4:]}"


def choice_result(raw: object, payment: PaymentView) -> VerifiedResult | None:
    """The verified result of the developer's choice (None: not a choice the page offers).
    The sandbox is its own provider: it reports exactly the payment's amount, currency and
    reference."""
    outcome = choice_outcome(raw)
    if outcome not in _REASONS:
        return None
    return VerifiedResult(
        outcome=outcome,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reference=payment.transaction_id,
        provider_reference=provider_reference(payment),
        reason=_REASONS[outcome],
        customer_message=N_("Your card was declined (sandbox).") if outcome is Outcome.FAILED
        else None,
    )


def settlement(payment: PaymentView) -> VerifiedResult:
    """What the sandbox "provider" says when asked: a payment left processing has settled."""
    if payment.status == "processing":
        return VerifiedResult(
            outcome=Outcome.SUCCEEDED,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            reference=payment.transaction_id,
            provider_reference=payment.provider_reference,
            reason="sandbox: processing payment settled by reconciliation",
        )
    return VerifiedResult(outcome=Outcome.PENDING)
