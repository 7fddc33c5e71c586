"""Query parameters of the transaction listing and export, the cursor, and response shapes.

Parameters are parsed by hand from the raw query string, for the reasons the create-intent
body is: every bad parameter is reported at once (FastAPI's own validation stops at type
errors and knows nothing of currencies), amounts are parsed exactly into minor units of the
given currency, and a repeated or misspelt parameter is an error rather than silently
ignored (an export that quietly dropped ``created_form=…`` would return the wrong rows).
The parameter table below is also what the OpenAPI document shows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from ownpay import ids, money
from ownpay.errors import FieldErrors
from ownpay.payments import states
from ownpay.payments.schemas import SUBMISSION_DESCRIPTION, Customer, StatusChange

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CURSOR_VERSION = "1"

# name -> (OpenAPI schema, description); filters are shared by the listing and the export.
FILTER_PARAMETERS: dict[str, tuple[dict[str, Any], str]] = {
    "status": (
        {"type": "array", "items": {"type": "string", "enum": list(states.STATUSES)}},
        "One or several statuses: repeat the parameter or separate them with commas.",
    ),
    "gateway": ({"type": "string", "maxLength": 32}, "Gateway slug, e.g. `stripe`."),
    "order_id": ({"type": "string", "maxLength": 100}, "Your order reference (exact)."),
    "customer_email": (
        {"type": "string", "maxLength": 254},
        "Exact match, case-insensitive (ASCII letters on SQLite, all of Unicode on "
        "PostgreSQL).",
    ),
    "created_from": (
        {"type": "string", "format": "date-time"},
        "ISO 8601; transactions created at or after it (no offset = UTC).",
    ),
    "created_to": (
        {"type": "string", "format": "date-time"},
        "ISO 8601; transactions created before it (no offset = UTC).",
    ),
    "currency": ({"type": "string", "minLength": 3, "maxLength": 3}, "ISO 4217 code."),
    "amount_min": (
        {"type": "string", "example": "10.00"},
        "Smallest amount, in major units of `currency` (required with it), inclusive.",
    ),
    "amount_max": (
        {"type": "string", "example": "99.99"},
        "Largest amount, in major units of `currency` (required with it), inclusive.",
    ),
}
PAGE_PARAMETERS: dict[str, tuple[dict[str, Any], str]] = {
    "limit": (
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        f"Page size, 1 to {MAX_LIMIT}.",
    ),
    "cursor": (
        {"type": "string"},
        "`next_cursor` of the previous page, unchanged (keep the same filters).",
    ),
}
_MULTI = frozenset({"status"})


def openapi_parameters(*tables: dict[str, tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    """``openapi_extra`` entries documenting the query parameters we parse by hand."""
    params: list[dict[str, Any]] = []
    for table in tables:
        for name, (schema, description) in table.items():
            entry: dict[str, Any] = {
                "name": name, "in": "query", "required": False, "schema": schema,
                "description": description,
            }
            if name in _MULTI:
                entry.update(style="form", explode=True)
            params.append(entry)
    return params


@dataclass(frozen=True)
class TransactionFilters:
    """What to select, within one merchant and mode.  Amounts are minor units of
    ``currency``; ``created_from`` is inclusive and ``created_to`` exclusive."""

    statuses: tuple[str, ...] = ()
    gateway: str | None = None
    order_id: str | None = None
    customer_email: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    currency: str | None = None
    amount_min_minor: int | None = None
    amount_max_minor: int | None = None


@dataclass(frozen=True)
class Position:
    """A place in the listing's order (created_at, id), newest first: what a cursor holds."""

    created_at: datetime
    transaction_id: str


@dataclass(frozen=True)
class ListQuery:
    filters: TransactionFilters = field(default_factory=TransactionFilters)
    limit: int = DEFAULT_LIMIT
    after: Position | None = None


# ---- the cursor ------------------------------------------------------------------------------


def encode_cursor(position: Position) -> str:
    """Opaque to clients: the exact (microsecond) created_at and the id of the last row."""
    micros = (position.created_at - _EPOCH) // _MICROSECOND
    raw = f"{_CURSOR_VERSION}:{micros}:{position.transaction_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: str) -> Position | None:
    """The position a cursor names, or None if it is not one of ours."""
    if not value or len(value) > 80:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    version, _, rest = raw.partition(":")
    micros, _, txn = rest.partition(":")
    if version != _CURSOR_VERSION or not (micros.isascii() and micros.isdigit()):
        return None
    if not ids.is_transaction_id(txn):
        return None
    try:
        created_at = _EPOCH + int(micros) * _MICROSECOND
    except OverflowError:
        return None
    return Position(created_at=created_at, transaction_id=txn)


# ---- parsing ---------------------------------------------------------------------------------


def _group(items: Iterable[tuple[str, str]], allowed: Iterable[str],
           errors: FieldErrors) -> dict[str, list[str]]:
    known = set(allowed)
    grouped: dict[str, list[str]] = {}
    for name, value in items:
        if name not in known:
            errors.add(name[:40], "Unknown parameter.")
            continue
        grouped.setdefault(name, []).append(value)
    for name, values in grouped.items():
        if len(values) > 1 and name not in _MULTI:
            errors.add(name, f"Give {name} at most once.")
    return grouped


def _text(grouped: dict[str, list[str]], name: str, limit: int, errors: FieldErrors) -> str | None:
    values = grouped.get(name)
    if not values:
        return None
    value = values[0].strip()
    if not value:
        errors.add(name, f"The {name} must not be empty.")
        return None
    if len(value) > limit:
        errors.add(name, f"The {name} may not be greater than {limit} characters.")
        return None
    return value


def _statuses(values: list[str], errors: FieldErrors) -> tuple[str, ...]:
    chosen: list[str] = []
    for value in values:
        for part in value.split(","):
            status = part.strip().lower()
            if not status:
                continue
            if status not in states.STATUSES:
                errors.add("status", f"Unknown status '{part.strip()[:40]}'; use one of: "
                           f"{', '.join(states.STATUSES)}.")
            elif status not in chosen:
                chosen.append(status)
    if values and not chosen and "status" not in errors:
        errors.add("status", "The status must not be empty.")
    return tuple(chosen)


def _timestamp(grouped: dict[str, list[str]], name: str, errors: FieldErrors) -> datetime | None:
    value = _text(grouped, name, 40, errors)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        errors.add(name, f"The {name} must be an ISO 8601 timestamp, e.g. 2026-01-31T00:00:00Z.")
        return None


def _currency(grouped: dict[str, list[str]], errors: FieldErrors) -> tuple[str | None, bool]:
    """(the currency, whether one was given at all, valid or not)."""
    value = _text(grouped, "currency", 3, errors)
    if value is None:
        return None, "currency" in grouped
    if not money.is_currency(value):
        errors.add("currency", "Invalid currency code.")
        return None, True
    return value.upper(), True


def _amount(grouped: dict[str, list[str]], name: str, currency: str | None,
            currency_given: bool, errors: FieldErrors) -> int | None:
    value = _text(grouped, name, 40, errors)
    if value is None:
        return None
    try:
        number = money.to_decimal(value)
    except money.AmountError:
        errors.add(name, f"The {name} must be a number in major units, e.g. 99.99.")
        return None
    if number < 0:
        errors.add(name, f"The {name} must not be negative.")
        return None
    if currency is None:
        if not currency_given:
            errors.add(name, f"The {name} is in major units of a currency: give currency too.")
        return None
    if number == 0:
        return 0
    try:
        return money.parse_minor(number, currency)
    except money.AmountError as exc:
        errors.add(name, str(exc).replace("The amount", f"The {name}"))
        return None


def _filters(grouped: dict[str, list[str]], errors: FieldErrors) -> TransactionFilters:
    statuses = _statuses(grouped.get("status", []), errors)
    created_from = _timestamp(grouped, "created_from", errors)
    created_to = _timestamp(grouped, "created_to", errors)
    if created_from and created_to and created_from >= created_to:
        errors.add("created_to", "The created_to must be later than created_from.")
    currency, currency_given = _currency(grouped, errors)
    amount_min = _amount(grouped, "amount_min", currency, currency_given, errors)
    amount_max = _amount(grouped, "amount_max", currency, currency_given, errors)
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        errors.add("amount_max", "The amount_max must not be less than amount_min.")
    return TransactionFilters(
        statuses=statuses,
        gateway=_text(grouped, "gateway", 32, errors),
        order_id=_text(grouped, "order_id", 100, errors),
        customer_email=_text(grouped, "customer_email", 254, errors),
        created_from=created_from,
        created_to=created_to,
        currency=currency,
        amount_min_minor=amount_min,
        amount_max_minor=amount_max,
    )


def _limit(grouped: dict[str, list[str]], errors: FieldErrors) -> int:
    values = grouped.get("limit")
    if not values:
        return DEFAULT_LIMIT
    text = values[0].strip()
    whole = text.isascii() and text.isdigit() and len(text) <= 4
    if not whole or not 1 <= int(text) <= MAX_LIMIT:
        errors.add("limit", f"The limit must be a whole number from 1 to {MAX_LIMIT}.")
        return DEFAULT_LIMIT
    return int(text)


def parse_list_query(items: Iterable[tuple[str, str]]) -> ListQuery:
    """``GET /api/v1/transactions``'s parameters; raises VALIDATION_ERROR naming every bad
    one."""
    errors = FieldErrors()
    grouped = _group(items, [*FILTER_PARAMETERS, *PAGE_PARAMETERS], errors)
    filters = _filters(grouped, errors)
    limit = _limit(grouped, errors)
    after: Position | None = None
    cursor = grouped.get("cursor")
    if cursor:
        after = decode_cursor(cursor[0].strip())
        if after is None:
            errors.add("cursor", "The cursor is not valid: pass next_cursor of the previous "
                       "page unchanged.")
    errors.raise_if_any()
    return ListQuery(filters=filters, limit=limit, after=after)


def parse_filters(items: Iterable[tuple[str, str]]) -> TransactionFilters:
    """The export's parameters: the filters only (an export is never paginated)."""
    errors = FieldErrors()
    grouped = _group(items, FILTER_PARAMETERS, errors)
    filters = _filters(grouped, errors)
    errors.raise_if_any()
    return filters


# ---- response shapes (OpenAPI) -------------------------------------------------------------


class TransactionOut(BaseModel):
    """One payment as the transaction listing shows it."""

    transaction_id: str = Field(description="OwnPay's id of the payment.",
                                examples=["txn_9f2c3a4b5d6e7f8a"])
    status: str = Field(description=", ".join(states.STATUSES))
    mode: str = Field(description="test or live")
    gateway: str = Field(description="The gateway slug the payment was created for.")
    amount: float = Field(description="Major units, as a JSON number.")
    currency: str = Field(description="ISO 4217 code, upper case.")
    fee: float | None = Field(description="Our fee (major units), set when the payment "
                              "completes.")
    net_amount: float | None = Field(description="amount - fee, set when the payment completes.")
    refunded_amount: float = Field(description="Sum of completed refunds (major units).")
    order_id: str = Field(description="The merchant's order reference.")
    customer: Customer = Field(description="Who pays: name, email, phone.")
    description: str | None = Field(description="Shown on the checkout page.")
    metadata: dict[str, Any] = Field(description="The merchant's key-value pairs; `{}` if "
                                     "none (as in the webhooks).")
    created_at: str = Field(description="ISO 8601, UTC.")
    paid_at: str | None = Field(description="ISO 8601, UTC; when the payment completed.")


class TransactionDetail(TransactionOut):
    """One transaction with every status change it went through."""

    customer_submission: dict[str, str] | None = Field(description=SUBMISSION_DESCRIPTION)
    status_history: list[StatusChange] = Field(description="Oldest first, from creation on.")


class TransactionList(BaseModel):
    """One page of transactions, newest first."""

    data: list[TransactionOut] = Field(description="At most `limit` transactions.")
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null on the "
        "last page."
    )
