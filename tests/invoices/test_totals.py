"""``invoices/totals.py``: the rounding rule of docs/invoices.md as a table -- half-cent
edges, line discounts and taxes rounded per line, the invoice's discount and tax rounded
once on the subtotal, a currency without decimals (JPY) and one with three (KWD)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ownpay.invoices import totals
from ownpay.invoices.totals import Line

pytestmark = pytest.mark.unit
D = Decimal

# (lines as (qty, unit price minor, tax %, discount %), invoice discount amount, discount %,
#  tax %) -> (subtotal, invoice discount, line tax, invoice tax, total), in minor units.
CASES = [
    # 1 × 10.00 with nothing: 10.00.
    ([("1", 1000, "0", "0")], None, None, None, (1000, 0, 0, 0, 1000)),
    # 0.5 × 0.01 = 0.005 → half-up to 0.01.
    ([("0.5", 1, "0", "0")], None, None, None, (1, 0, 0, 0, 1)),
    # 0.499 × 0.01 = 0.00499 → 0.00.
    ([("0.499", 1, "0", "0")], None, None, None, (0, 0, 0, 0, 0)),
    # 3 × 0.10 tax 5 %: 0.30, tax 0.015 → 0.02 (half-up per line).
    ([("3", 10, "5", "0")], None, None, None, (30, 0, 2, 0, 32)),
    # Two such lines: each line's tax rounds on its own (0.02 + 0.02), not 0.03 on 0.60.
    ([("3", 10, "5", "0"), ("3", 10, "5", "0")], None, None, None, (60, 0, 4, 0, 64)),
    # The same 0.60 on one line: tax 0.03 once.
    ([("6", 10, "5", "0")], None, None, None, (60, 0, 3, 0, 63)),
    # Line discount then line tax: 1 × 9.99, 15 % off = 1.4985 → 1.50, net 8.49, 7.5 % tax
    # = 0.63675 → 0.64.
    ([("1", 999, "7.5", "15")], None, None, None, (849, 0, 64, 0, 913)),
    # Invoice discount % once on the subtotal: 2 lines of 0.05, 10 % of 0.10 = 0.01.
    ([("1", 5, "0", "0"), ("1", 5, "0", "0")], None, D("10"), None, (10, 1, 0, 0, 9)),
    # Invoice tax on (subtotal - discount): 33.33 - 3.33 fixed = 30.00, 2.5 % = 0.75.
    ([("1", 3333, "0", "0")], 333, None, D("2.5"), (3333, 333, 0, 75, 3075)),
    # Invoice tax half-cent edge: 1.50 × 1 % = 0.015 → 0.02.
    ([("1", 150, "0", "0")], None, None, D("1"), (150, 0, 0, 2, 152)),
    # A fixed discount above the subtotal is capped at it.
    ([("1", 100, "0", "0")], 500, None, None, (100, 100, 0, 0, 0)),
    # Everything at once: 2.5 × 12.99 = 32.475 → 32.48; 10 % off 3.248 → 3.25; net 29.23;
    # 5 % tax 1.4615 → 1.46. Plus 1 × 0.99. Subtotal 30.22; 7 % off = 2.1154 → 2.12;
    # 28.10 × 15 % = 4.215 → 4.22. Total 30.22 - 2.12 + 1.46 + 4.22 = 33.78.
    ([("2.5", 1299, "5", "10"), ("1", 99, "0", "0")], None, D("7"), D("15"),
     (3022, 212, 146, 422, 3378)),
]


@pytest.mark.parametrize(("lines", "amount", "rate", "tax", "expected"), CASES)
def test_the_rounding_rule(lines: list[tuple[str, int, str, str]], amount: int | None,
                           rate: Decimal | None, tax: Decimal | None,
                           expected: tuple[int, int, int, int, int]) -> None:
    found = totals.compute([Line("x", D(q), p, D(t), D(d)) for q, p, t, d in lines],
                           discount_amount_minor=amount, discount_rate=rate, tax_rate=tax)
    assert (found.subtotal_minor, found.discount_minor, found.line_tax_minor,
            found.tax_minor, found.total_minor) == expected
    assert found.total_minor == (sum(t.net_minor + t.tax_minor for t in found.lines)
                                 - found.discount_minor + found.tax_minor)


def test_a_currency_without_decimals_rounds_to_whole_yen() -> None:
    # JPY: minor unit = 1 yen. 3 × ¥333 = ¥999; 8 % tax = 79.92 → ¥80; 1.5 × ¥5 = 7.5 → ¥8.
    found = totals.compute([Line("Tea", D(3), 333, D(8)), Line("Sweets", D("1.5"), 5)])
    assert [(t.amount_minor, t.tax_minor) for t in found.lines] == [(999, 80), (8, 0)]
    assert found.total_minor == 1087
    assert totals.major(found.total_minor, "JPY") == "1087"


def test_a_currency_with_three_decimals_keeps_them() -> None:
    # KWD: 1.5 × 0.333 = 0.4995 → 0.500 (minor unit 0.001).
    found = totals.compute([Line("Dates", D("1.5"), 333)], tax_rate=D(10))
    assert (found.subtotal_minor, found.tax_minor, found.total_minor) == (500, 50, 550)
    assert totals.major(found.total_minor, "KWD") == "0.550"


def test_no_float_is_ever_involved() -> None:
    # 0.1 + 0.2 style: 3 lines of 0.10 are exactly 0.30, and 1/3 % on 3.00 is 0.01.
    found = totals.compute([Line("x", D(1), 10)] * 3, tax_rate=D("0.3333"))
    assert (found.subtotal_minor, found.tax_minor) == (30, 0)
    found = totals.compute([Line("x", D(1), 300)], tax_rate=D("0.3333"))
    assert found.tax_minor == 1
