"""Checking an invoice's terms -- the body of ``POST`` and ``PATCH /api/v1/invoices`` --
every bad field at once (``lines[2].quantity`` names the line), into the values the service
stores and the lines ``totals.compute`` adds up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ownpay import money
from ownpay.errors import FieldErrors
from ownpay.invoices import totals
from ownpay.money import AmountError

KNOWN = ("customer_id", "customer_name", "customer_email", "currency", "lines",
         "discount_amount", "discount_rate", "tax_rate", "due_date", "notes")
LINE_KNOWN = ("description", "quantity", "unit_price", "tax_rate", "discount_rate")
MAX_LINES = 100
MAX_QUANTITY = Decimal(1_000_000)
NOTES_LIMIT = 2000
DESCRIPTION_LIMIT = 500


def _text(errors: FieldErrors, body: dict[str, Any], field: str, limit: int) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or (
            value.strip() and not value.replace("\n", " ").isprintable()):
        errors.add(field, f"The {field.replace('_', ' ')} must be text of at most {limit} "
                   "characters.")
        return None
    return value.strip() or None


def rate(value: Any) -> Decimal:
    """A percentage from 0 to 100 with at most 4 decimals; raises :class:`AmountError`."""
    number = money.to_decimal(value)
    if not 0 <= number <= 100 or number.as_tuple().exponent < -4:  # type: ignore[operator]
        raise AmountError("A rate is a percentage from 0 to 100 with at most 4 decimals.")
    return number.normalize() if number else Decimal(0)


def quantity(value: Any) -> Decimal:
    number = money.to_decimal(value)
    if number <= 0 or number > MAX_QUANTITY:
        raise AmountError("The quantity must be greater than 0 and at most 1000000.")
    if number.as_tuple().exponent < -3:  # type: ignore[operator]
        raise AmountError("The quantity may have at most 3 decimal places.")
    return number.normalize()


def _optional_rate(errors: FieldErrors, where: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return rate(value)
    except AmountError as exc:
        errors.add(where, str(exc))
        return None


def _line(errors: FieldErrors, index: int, raw: Any, currency: str | None,
          max_minor: int) -> dict[str, Any] | None:
    where = f"lines[{index}]"
    if not isinstance(raw, dict):
        errors.add(where, "Each line is an object with description, quantity and unit_price.")
        return None
    bad = len(errors.as_dict())
    for name in raw:
        if name not in LINE_KNOWN:
            errors.add(f"{where}.{name}", "Unknown field.")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip() \
            or len(description) > DESCRIPTION_LIMIT or not description.isprintable():
        errors.add(f"{where}.description",
                   f"The description is required: text of at most {DESCRIPTION_LIMIT} "
                   "characters.")
    qty = price = None
    try:
        qty = quantity(raw.get("quantity", 1))
    except AmountError as exc:
        errors.add(f"{where}.quantity", str(exc))
    if currency is not None:
        try:
            price = money.parse_minor(raw.get("unit_price"), currency, max_minor=max_minor)
        except AmountError as exc:
            errors.add(f"{where}.unit_price", str(exc))
    tax = _optional_rate(errors, f"{where}.tax_rate", raw.get("tax_rate"))
    discount = _optional_rate(errors, f"{where}.discount_rate", raw.get("discount_rate"))
    if len(errors.as_dict()) != bad or qty is None or price is None:
        return None
    return {"description": str(description).strip(), "quantity": str(qty),
            "unit_price": totals.major(price, currency or ""),
            "tax_rate": None if tax is None else str(tax),
            "discount_rate": None if discount is None else str(discount)}


def as_line(stored: dict[str, Any], currency: str) -> totals.Line:
    """A stored line (strings) as ``totals.compute`` takes it."""
    return totals.Line(
        description=stored["description"], quantity=Decimal(stored["quantity"]),
        unit_price_minor=money.parse_minor(stored["unit_price"], currency),
        tax_rate=Decimal(stored.get("tax_rate") or 0),
        discount_rate=Decimal(stored.get("discount_rate") or 0))


def check_terms(body: dict[str, Any], *, max_minor: int,
                current: dict[str, Any] | None = None) -> tuple[dict[str, Any], FieldErrors]:
    """The values to store (``lines`` as strings, amounts in minor units, ``total_minor``),
    and the errors.  ``current`` is a draft's own terms when ``body`` changes only some."""
    errors = FieldErrors()
    errors.refuse_unknown(body, KNOWN)
    if current is not None:
        if not body:
            errors.add("request", "Nothing to update: send one of " + ", ".join(KNOWN) + ".")
        if "currency" in body and body["currency"] != current["currency"]:
            errors.add("currency", "An invoice's currency cannot change: make a new invoice.")
        merged = {**current, **{k: v for k, v in body.items() if k != "currency"}}
    else:
        merged = dict(body)
    values: dict[str, Any] = {}
    currency = merged.get("currency")
    if not isinstance(currency, str) or not money.is_currency(currency):
        errors.add("currency", "The currency must be an ISO 4217 code, e.g. BDT or USD.")
        currency = None
    else:
        currency = currency.upper()
        values["currency"] = currency
    raw_lines = merged.get("lines")
    lines: list[dict[str, Any]] = []
    if not isinstance(raw_lines, list) or not 1 <= len(raw_lines) <= MAX_LINES:
        errors.add("lines", f"Give 1 to {MAX_LINES} line items.")
    else:
        for i, raw in enumerate(raw_lines):
            line = _line(errors, i, raw, currency, max_minor)
            if line is not None:
                lines.append(line)
    values["lines"] = lines
    discount_amount = None
    if merged.get("discount_amount") is not None and merged.get("discount_rate") is not None:
        errors.add("discount_amount", "Give discount_amount or discount_rate, not both.")
    elif merged.get("discount_amount") is not None and currency is not None:
        try:
            discount_amount = money.parse_minor(merged["discount_amount"], currency)
        except AmountError as exc:
            errors.add("discount_amount", str(exc))
    values["discount_amount_minor"] = discount_amount
    discount_rate = _optional_rate(errors, "discount_rate", merged.get("discount_rate"))
    tax_rate = _optional_rate(errors, "tax_rate", merged.get("tax_rate"))
    values["discount_rate"] = None if discount_rate is None else str(discount_rate)
    values["tax_rate"] = None if tax_rate is None else str(tax_rate)
    due = merged.get("due_date")
    values["due_date"] = None
    if isinstance(due, date):
        values["due_date"] = due
    elif due is not None:
        try:
            values["due_date"] = date.fromisoformat(due) if isinstance(due, str) \
                and len(due) == 10 else None
        except ValueError:
            pass
        if values["due_date"] is None:
            errors.add("due_date", "The due date is a day, YYYY-MM-DD.")
    values["notes"] = _text(errors, merged, "notes", NOTES_LIMIT)
    for field, limit in (("customer_name", 150), ("customer_email", 254)):
        values[field] = _text(errors, merged, field, limit)
    customer_id = merged.get("customer_id")
    if customer_id is not None and not isinstance(customer_id, str):
        errors.add("customer_id", "The customer_id is a customer's id (cus_…).")
    values["customer_id"] = customer_id if isinstance(customer_id, str) else None
    if errors or currency is None:
        return values, errors
    found = totals.compute([as_line(line, currency) for line in lines],
                           discount_amount_minor=discount_amount, discount_rate=discount_rate,
                           tax_rate=tax_rate)
    if discount_amount is not None and discount_amount > found.subtotal_minor:
        errors.add("discount_amount", "The discount may not be more than the subtotal.")
    if found.total_minor > max_minor:
        errors.add("lines", "The invoice's total is more than this installation's limit "
                   f"({totals.major(max_minor, currency)} {currency}).")
    values["total_minor"] = found.total_minor
    return values, errors
