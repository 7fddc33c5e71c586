"""Money: exact parsing of API amounts into integer minor units, and formatting.

Amounts arrive as JSON numbers or numeric strings.  JSON numbers are parsed by the request
layer straight into :class:`~decimal.Decimal` (never through ``float``), so ``99.99`` is
exactly 9999 cents.  An amount with more decimals than the currency allows is an error,
never a rounding.  Codes and minor-unit exponents come from the ISO 4217 maintenance
agency's published table (the ``iso4217`` package), not CLDR's display digits, which
differ for e.g. IQD or RSD.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency
from iso4217 import Currency

# ISO codes that are not money a customer can pay with.  Precious metals, bond-market
# units, SDR, testing and "no currency" have no minor unit in the table (exponent N.A.);
# fund and accounting units do have one, so they are named here.
_FUND_CODES = frozenset("BOV CHE CHW CLF COU MXV USN UYI UYW XAD".split())


_NUMBER_CHARS = frozenset("0123456789.-+eE")
# No amount anywhere (a payment, a fee rule, a query filter) may exceed this many minor
# units: the largest OWNPAY_MAX_AMOUNT_MINOR allowed, far inside a 64-bit column.
MAX_MINOR = 10**15


class AmountError(ValueError):
    """An amount that cannot be accepted; ``str(exc)`` is a human message."""


@lru_cache(maxsize=1)
def currencies() -> frozenset[str]:
    """Every ISO 4217 code we accept, upper-case."""
    return frozenset(
        c.code for c in Currency if c.exponent is not None and c.code not in _FUND_CODES
    )


def is_currency(code: str) -> bool:
    return code.upper() in currencies()


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return _exponents()[currency.upper()]


@lru_cache(maxsize=1)
def _exponents() -> dict[str, int]:
    return {c.code: c.exponent for c in Currency if c.exponent is not None}


def to_decimal(value: object) -> Decimal:
    """Turn a JSON number (already a Decimal/int) or a numeric string into a Decimal."""
    if isinstance(value, bool) or value is None:
        raise AmountError("The amount must be a number.")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):  # only reached by callers that bypass the JSON decoder
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        # ASCII digits only: str.isdigit() and Decimal() also take other scripts' digits.
        if not text or len(text) > 40 or not all(c in _NUMBER_CHARS for c in text):
            raise AmountError("The amount must be a number.")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise AmountError("The amount must be a number.") from None
    else:
        raise AmountError("The amount must be a number.")
    if not number.is_finite():
        raise AmountError("The amount must be a number.")
    return number


def parse_minor(value: object, currency: str, *, max_minor: int | None = None) -> int:
    """Parse an API amount in major units into integer minor units, exactly.

    Raises :class:`AmountError` for anything that is not a positive amount with at most the
    currency's number of decimals, or that exceeds ``max_minor``.
    """
    number = to_decimal(value)
    if number <= 0:
        raise AmountError("The amount must be greater than 0.")
    if number.adjusted() > 15:  # refuse absurd magnitudes before building huge integers
        raise AmountError("The amount is too large.")
    exp = exponent(currency)
    scaled = number.scaleb(exp)
    if scaled != scaled.to_integral_value():
        if exp == 0:
            raise AmountError(f"The amount must be a whole number for {currency.upper()}.")
        raise AmountError(
            f"The amount may have at most {exp} decimal places for {currency.upper()}."
        )
    minor = int(scaled)
    if minor > MAX_MINOR:
        raise AmountError("The amount is too large.")
    if max_minor is not None and minor > max_minor:
        limit = to_major(max_minor, currency)
        raise AmountError(f"The amount must not exceed {limit} {currency.upper()}.")
    return minor


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units back to an exact Decimal in major units (2 decimals for USD, etc.)."""
    exp = exponent(currency)
    return Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def json_number(minor: int, currency: str) -> int | float:
    """The value to put in a JSON response: 99.99, 500 (JPY), 1.234 (KWD).

    ``float`` is safe here: every amount below 2**53 minor units with at most 4 decimals
    has a shortest repr that is the exact decimal, and that is what JSON encoders print.
    """
    major = to_major(minor, currency)
    if major == major.to_integral_value():
        return int(major)
    return float(major)


def format_plain(minor: int, currency: str) -> str:
    """Operator display: the currency's decimals and its code, ``14.50 USD``, ``500 JPY``,
    ``1.234 KWD``, ``-3.20 USD`` -- no symbol, no grouping (a terminal, grep, a log)."""
    return f"{to_major(minor, currency)} {currency.upper()}"


def format_amount(minor: int, currency: str, locale: str = "en_US") -> str:
    """Human display, e.g. ``$99.99``, ``¥500``, ``KWD 1.234``, with ISO decimals."""
    exp = exponent(currency)
    pattern_digits = "0" * exp
    fmt = "¤#,##0" + (f".{pattern_digits}" if exp else "")
    text = format_currency(
        to_major(minor, currency), currency.upper(), format=fmt, locale=locale,
        currency_digits=False,
    )
    # A code used as the symbol ("BDT1,500.00") reads better with a space: "BDT 1,500.00".
    if len(text) > 3 and text[:3].isalpha() and text[3].isdigit():
        text = text[:3] + "\u00a0" + text[3:]
    return text
