"""Check 4: the rule that refuses an intent is the rule that charges it.  For every
currency and amount the core could hand a gateway (``money.currencies()``, up to the
largest ``OWNPAY_MAX_AMOUNT_MINOR``), what ``currency_supported`` + ``validate_amount``
accept converts to the provider's unit and back exactly, and what they refuse does not
convert at all.  A gateway that converts nothing must refuse nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ownpay import money
from tests.contract.harnesses.base import Harness, adapter

pytestmark = pytest.mark.contract

CURRENCIES = sorted(money.currencies())
MAX_MINOR = 10**15  # the ceiling of OWNPAY_MAX_AMOUNT_MINOR
amounts = st.one_of(
    st.integers(1, MAX_MINOR),
    st.integers(1, 10**6).map(lambda n: n * 10),  # round amounts: where units differ
    st.integers(1, 10**6).map(lambda n: n * 100),
    st.sampled_from([1, 5, 9, 10, 50, 99, 100, 999, 1000, 99_999_999, 100_000_000, MAX_MINOR]),
)


@given(currency=st.sampled_from(CURRENCIES), minor=amounts)
def test_validate_amount_is_the_charge_conversion(converter: type[Harness], currency: str,
                                                  minor: int) -> None:
    gateway = adapter(converter)
    accepted = gateway.currency_supported(currency) and (
        gateway.validate_amount(minor, currency) is None)
    rule = converter.amounts
    if rule is None:
        assert accepted or not gateway.currency_supported(currency), (
            f"{gateway.slug} refuses {minor} {currency} but declares no conversion")
        return
    if accepted:
        sent = rule.to_provider(minor, currency)
        assert rule.from_provider(sent, currency) == minor, (minor, currency, sent)
    else:
        with pytest.raises(rule.refused):
            rule.to_provider(minor, currency)


def test_refusals_are_sentences(converter: type[Harness]) -> None:
    """What ``validate_amount`` says reaches the merchant as ``errors.amount``."""
    gateway = adapter(converter)
    for currency in CURRENCIES:
        if not gateway.currency_supported(currency):
            continue
        for minor in (1, 5, 10**9 + 5, MAX_MINOR):
            reason = gateway.validate_amount(minor, currency)
            assert reason is None or (reason.endswith(".") and len(reason) < 300), reason
