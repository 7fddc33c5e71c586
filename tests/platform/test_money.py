"""Property tests: amounts round-trip exactly through minor units; bad ones are refused."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files
from xml.etree import ElementTree

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


def _published_table() -> dict[str, str]:
    """Code -> minor units ("0".."4" or "N.A.") as ISO's list one XML states them."""
    table = files("iso4217").joinpath("table.xml").read_text(encoding="utf-8")
    root = ElementTree.fromstring(table)
    return {
        entry.findtext("Ccy", ""): entry.findtext("CcyMnrUnts", "")
        for entry in root.iter("CcyNtry")
        if entry.findtext("Ccy")
    }


FUND_CODES = {"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW", "XAD"}


def test_every_iso_4217_currency_has_its_published_exponent() -> None:
    published = _published_table()
    assert len(published) > 150  # the file really was read
    payable = {code for code, units in published.items() if units.isdigit()} - FUND_CODES
    assert money.currencies() == payable
    for code in payable:
        assert money.exponent(code) == int(published[code]), code
        assert money.exponent(code.lower()) == int(published[code]), code
    # What merchants here and elsewhere use most, stated independently of the file.
    assert [money.exponent(c) for c in ("BDT", "USD", "JPY", "KWD", "IQD", "ISK")] == [
        2, 2, 0, 3, 3, 0,
    ]


def test_metals_funds_and_unknown_codes_are_not_payable() -> None:
    assert money.is_currency("usd")
    for code in ("XAU", "XDR", "XTS", "XXX", "CLF", "UYW", "XAD", "ABC", ""):
        assert not money.is_currency(code), code


def test_format() -> None:
    assert money.format_amount(9999, "USD") == "$99.99"
    assert [money.format_plain(m, c) for m, c in ((1450, "USD"), (500, "JPY"), (1234, "KWD"),
                                                  (-320, "usd"))] == [
        "14.50 USD", "500 JPY", "1.234 KWD", "-3.20 USD"]
    assert money.format_amount(500, "JPY") == "¥500"
    assert money.format_amount(1234, "KWD").endswith("1.234")
    assert money.json_number(10000, "USD") == 100
    assert isinstance(money.json_number(10000, "USD"), int)


def test_max_amount() -> None:
    with pytest.raises(money.AmountError, match="must not exceed"):
        money.parse_minor("100.01", "USD", max_minor=10000)
    assert money.parse_minor("100.00", "USD", max_minor=10000) == 10000
