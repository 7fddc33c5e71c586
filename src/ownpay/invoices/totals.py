"""An invoice's totals: one function, exact ``Decimal`` arithmetic in the currency's minor
units, and one rounding rule (docs/invoices.md#totals-and-rounding):

1. Per line: ``amount = quantity × unit price``, rounded half-up to the currency's minor
   unit; then the line's discount (``amount × discount_rate %``) rounded half-up, giving
   ``net = amount − discount``; then the line's tax (``net × tax_rate %``) rounded half-up.
2. ``subtotal = Σ net``.
3. The invoice's discount: a fixed amount (at most the subtotal), or ``subtotal ×
   discount_rate %`` rounded half-up once.
4. The invoice's tax: ``(subtotal − invoice discount) × tax_rate %`` rounded half-up once.
5. ``total = subtotal − invoice discount + Σ line tax + invoice tax``.

Every rounding is ``ROUND_HALF_UP`` (a half minor unit goes away from zero), each amount
is rounded once where it is made, and the sums are exact: what the page, the PDF and the
API show add up to the total, which is what the customer pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ownpay import money

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price_minor: int
    tax_rate: Decimal = Decimal(0)  # percent
    discount_rate: Decimal = Decimal(0)  # percent


@dataclass(frozen=True)
class LineTotal:
    amount_minor: int  # quantity × unit price
    discount_minor: int
    net_minor: int  # amount − discount
    tax_minor: int


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineTotal, ...]
    subtotal_minor: int  # Σ net
    discount_minor: int  # the invoice's own discount
    line_tax_minor: int  # Σ line tax
    tax_minor: int  # the invoice's own tax
    total_minor: int


def _round(value: Decimal) -> int:
    """To a whole minor unit, half-up (``Decimal`` keeps the exact product until here)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_total(line: Line) -> LineTotal:
    amount = _round(line.quantity * line.unit_price_minor)
    discount = _round(amount * line.discount_rate / HUNDRED)
    net = amount - discount
    return LineTotal(amount, discount, net, _round(net * line.tax_rate / HUNDRED))


def compute(lines: list[Line], *, discount_amount_minor: int | None = None,
            discount_rate: Decimal | None = None,
            tax_rate: Decimal | None = None) -> Totals:
    """The totals of an invoice (the module docstring's rule).  A fixed discount above the
    subtotal is capped at the subtotal (the service refuses one before it gets here)."""
    each = tuple(line_total(line) for line in lines)
    subtotal = sum(t.net_minor for t in each)
    if discount_amount_minor is not None:
        discount = min(discount_amount_minor, subtotal)
    elif discount_rate is not None:
        discount = _round(subtotal * discount_rate / HUNDRED)
    else:
        discount = 0
    tax = _round((subtotal - discount) * (tax_rate or 0) / HUNDRED)
    line_tax = sum(t.tax_minor for t in each)
    return Totals(each, subtotal, discount, line_tax, tax, subtotal - discount + line_tax + tax)


def major(minor: int, currency: str) -> str:
    """An amount as the API writes it: a decimal string with the currency's decimals."""
    return str(money.to_major(minor, currency))
