"""Check 2: SUCCEEDED is never returned without the amount, currency and reference of the
payment it is about.  The stand-in is made to report the payment paid -- as asked, and with
the amount, the currency or our reference wrong -- and every result the adapter verifies
from it is judged the way the payments service judges it (``payments.service.mismatch``)."""

from __future__ import annotations

import httpx
import pytest

from ownpay.gateways.base import Outcome
from tests.contract.harnesses.base import Harness
from tests.contract.soundness import assert_sound, completes

pytestmark = pytest.mark.contract


async def test_a_paid_payment_is_verified_with_its_amount_currency_and_reference(
    harness: Harness, http: httpx.AsyncClient,
) -> None:
    ctx = harness.context(http)
    payment = harness.payment()
    results = await harness.pay(ctx, payment)
    assert results
    for result in results:
        assert_sound(payment, result)
        if result.outcome is Outcome.SUCCEEDED:
            assert (result.amount_minor, (result.currency or "").upper(), result.reference) == (
                payment.amount_minor, payment.currency, payment.transaction_id)
            assert completes(payment, result)
    if harness.completes_itself:
        assert results[-1].outcome is Outcome.SUCCEEDED, results[-1]
    else:  # a human decides (manual): the adapter never completes a payment by itself
        assert all(r.outcome is not Outcome.SUCCEEDED for r in results)
        assert results[-1].outcome is Outcome.AWAITING_VERIFICATION


async def test_a_payment_paid_with_other_figures_never_completes(
    harness: Harness, http: httpx.AsyncClient, tamper: str,
) -> None:
    ctx = harness.context(http)
    payment = harness.payment()
    results = await harness.pay(ctx, payment, tamper=tamper)
    assert results
    for result in results:
        assert_sound(payment, result)
        assert not completes(payment, result), (tamper, result)
