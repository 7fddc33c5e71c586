"""Property tests: amounts round-trip exactly through minor units; bad ones are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ownpay import money

CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "BDT", "EUR", "BHD", "CLP"])


@given(currency=CURRENCIES, minor=st.integers(min_value=1, max_value=10**14),
       as_string=st.booleans())
def test_valid_amount_round_trips(currency: str, minor: int, as_string: bool) -> None:
    exp = money.exponent(currency)
    text = str(Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))
    value: object = text if as_string else Decimal(text)
    assert money.parse_minor(value, currency) == minor
    assert money.to_major(minor, currency) == Decimal(text)
    # and the JSON rendering parses back to the same minor units
    rendered = Decimal(repr(money.json_number(minor, currency)))
    assert money.parse_minor(rendered, currency) == minor


@given(currency=CURRENCIES, minor=st.integers(min_value=1, max_value=10**12),
       extra=st.integers(1, 9))
def test_over_precise_amount_rejected(currency: str, minor: int, extra: int) -> None:
    exp = money.exponent(currency)
    # one more decimal digit than allowed, non-zero
    value = Decimal(minor * 10 + extra).scaleb(-(exp + 1))
    with pytest.raises(money.AmountError):
        money.parse_minor(value, currency)
    with pytest.raises(money.AmountError):
        money.parse_minor(str(value), currency)


@given(currency=CURRENCIES,
       value=st.decimals(max_value=0, allow_nan=False, allow_infinity=False, places=2))
def test_non_positive_rejected(currency: str, value: Decimal) -> None:
    with pytest.raises(money.AmountError):
        money.parse_minor(value, currency)


@pytest.mark.parametrize("value", [None, True, False, "", "  ", "1,5", "0x10", "NaN", "Infinity",
                                   "1e99999999", [], {}])
def test_garbage_rejected(value: object) -> None:
    with pytest.raises(money.AmountError):
        money.parse_minor(value, "USD")


def test_exponents_follow_iso_4217() -> None:
    currencies = ("USD", "JPY", "KWD", "BDT", "IQD", "ISK")
    assert [money.exponent(c) for c in currencies] == [2, 0, 3, 2, 3, 0]
    assert money.is_currency("usd")
    assert not money.is_currency("XAU") and not money.is_currency("ABC")


def test_format() -> None:
    assert money.format_amount(9999, "USD") == "$99.99"
    assert money.format_amount(500, "JPY") == "¥500"
    assert money.format_amount(1234, "KWD").endswith("1.234")
    assert money.json_number(10000, "USD") == 100
    assert isinstance(money.json_number(10000, "USD"), int)


def test_max_amount() -> None:
    with pytest.raises(money.AmountError, match="must not exceed"):
        money.parse_minor("100.01", "USD", max_minor=10000)
    assert money.parse_minor("100.00", "USD", max_minor=10000) == 10000
