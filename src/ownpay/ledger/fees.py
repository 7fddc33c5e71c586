"""Fee rules: flat + percentage with an optional minimum and maximum, per merchant, mode,
gateway and currency.

**Rounding rule.**  The percentage part is computed exactly (integers: the rate is stored in
parts per million) and rounded once, half up, to the currency's minor unit; then the flat
part is added, the minimum and maximum are applied, and the fee is capped at the payment's
amount (a fee never makes the merchant's net negative).  Example: 2.9 % of USD 10.50 is
30.45 cents, so 30; of USD 15.50 it is 44.95 cents, so 45.

The rule that applies is the one for the payment's currency, else the gateway's rule for
any currency (``*``, percentage only: a flat amount means nothing without a currency), else
no fee.  The fee is computed when the payment completes and stored on it; changing a rule
later never changes the fee of a completed payment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import money
from ownpay.db import utcnow
from ownpay.errors import FieldErrors
from ownpay.gateways import registry
from ownpay.ledger.models import ANY_CURRENCY, FeeRule
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso_required

PPM = 1_000_000
MAX_PERCENT_DECIMALS = 4  # 2.9125 % at most: parts per million stay integers


def percentage_minor(amount_minor: int, rate_ppm: int) -> int:
    """``amount × rate`` rounded half up to a whole minor unit (both are non-negative)."""
    return (amount_minor * rate_ppm + PPM // 2) // PPM


def compute_fee(rule: FeeRule | None, amount_minor: int) -> int:
    if rule is None:
        return 0
    fee = rule.flat_minor + percentage_minor(amount_minor, rule.rate_ppm)
    if rule.min_minor is not None:
        fee = max(fee, rule.min_minor)
    if rule.max_minor is not None:
        fee = min(fee, rule.max_minor)
    return max(0, min(fee, amount_minor))


async def find_rule(
    session: AsyncSession, *, scope: TenantScope, gateway: str, currency: str
) -> FeeRule | None:
    """The currency's own rule first, then the gateway's any-currency rule."""
    rules = list(
        await session.scalars(
            select(FeeRule).where(
                FeeRule.merchant_id == scope.merchant_id,
                FeeRule.mode == scope.mode,
                FeeRule.gateway == gateway,
                FeeRule.currency.in_([currency, ANY_CURRENCY]),
            )
        )
    )
    rules.sort(key=lambda r: r.currency == ANY_CURRENCY)
    return rules[0] if rules else None


# ---- managing rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    gateway: str
    currency: str
    flat_minor: int
    rate_ppm: int
    min_minor: int | None
    max_minor: int | None


def _amount(
    value: Any, field: str, currency: str | None, add: Any, *, allow_zero: bool
) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if currency is None:
        add(field, f"The {field} is an amount: give a currency for it (e.g. USD).")
        return None
    try:
        number = money.to_decimal(value)
        if number < 0:
            add(field, f"The {field} must not be negative.")
            return None
        if allow_zero and number == 0:
            return 0
        return money.parse_minor(number, currency)
    except money.AmountError as exc:
        add(field, str(exc).replace("The amount", f"The {field}"))
        return None


def _rate_ppm(value: Any, add: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    try:
        number = money.to_decimal(value)
    except money.AmountError:
        add("percent", "The percent must be a number, e.g. 2.9.")
        return 0
    if not Decimal(0) <= number <= Decimal(100):
        add("percent", "The percent must be between 0 and 100.")
        return 0
    scaled = number.scaleb(MAX_PERCENT_DECIMALS)
    if scaled != scaled.to_integral_value():
        add("percent", f"The percent may have at most {MAX_PERCENT_DECIMALS} decimal places.")
        return 0
    return int(scaled)  # percent × 10⁴ is parts per million


RULE_FIELDS = ("gateway", "currency", "flat", "percent", "min", "max")


def _rule_key(body: dict[str, Any], add: Any) -> tuple[str, str | None]:
    """The gateway and currency (None: any) naming a rule; bad ones are reported."""
    gateway = body.get("gateway")
    if not isinstance(gateway, str) or not gateway.strip():
        add("gateway", "The gateway field is required.")
        gateway = ""
    elif registry.get(gateway.strip()) is None:
        add("gateway", f"Unknown gateway '{gateway.strip()[:32]}'.")
    gateway = gateway.strip()
    raw_currency = body.get("currency")
    currency: str | None = None
    if raw_currency is not None and raw_currency != ANY_CURRENCY:
        if not isinstance(raw_currency, str) or not money.is_currency(raw_currency.strip()):
            add("currency", "Invalid currency code.")
        else:
            currency = raw_currency.strip().upper()
    return gateway, currency


def validate_rule(body: dict[str, Any]) -> RuleInput:
    """Check a rule (API body or CLI options); every bad field is reported at once."""
    errors = FieldErrors()
    add = errors.add
    errors.refuse_unknown(body, RULE_FIELDS)

    gateway, currency = _rule_key(body, add)
    flat = _amount(body.get("flat"), "flat", currency, add, allow_zero=True)
    minimum = _amount(body.get("min"), "min", currency, add, allow_zero=True)
    maximum = _amount(body.get("max"), "max", currency, add, allow_zero=True)
    rate = _rate_ppm(body.get("percent"), add)
    if minimum is not None and maximum is not None and minimum > maximum:
        add("max", "The max must not be less than the min.")
    errors.raise_if_any()
    return RuleInput(
        gateway=gateway,
        currency=currency or ANY_CURRENCY,
        flat_minor=flat or 0,
        rate_ppm=rate,
        min_minor=minimum,
        max_minor=maximum,
    )


async def set_rule(
    session: AsyncSession, *, scope: TenantScope, rule: RuleInput
) -> FeeRule:
    """Create or replace the rule for (merchant, mode, gateway, currency), in one
    ``INSERT … ON CONFLICT DO UPDATE``: concurrent writers of one rule cannot collide on the
    unique key (the last one wins, whole)."""
    now = utcnow()
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    changes = {"flat_minor": rule.flat_minor, "rate_ppm": rule.rate_ppm,
               "min_minor": rule.min_minor, "max_minor": rule.max_minor, "updated_at": now}
    stmt = (
        upsert(FeeRule)
        .values(merchant_id=scope.merchant_id, mode=scope.mode, gateway=rule.gateway,
                currency=rule.currency, created_at=now, **changes)
        .on_conflict_do_update(index_elements=["merchant_id", "mode", "gateway", "currency"],
                               set_=changes)
        .returning(FeeRule)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


def validate_key(gateway: Any, currency: Any, *,
                 given: Iterable[str] = ()) -> tuple[str, str]:
    """The (gateway, currency) naming one rule, as a removal gives them (currency None or
    empty: the any-currency rule); refused with every bad field like a rule, and with any
    other parameter named in ``given``."""
    errors = FieldErrors()
    errors.refuse_unknown(dict.fromkeys(given), ("gateway", "currency"))
    name, code = _rule_key({"gateway": gateway, "currency": currency or None}, errors.add)
    errors.raise_if_any()
    return name, code or ANY_CURRENCY


async def remove_rule(session: AsyncSession, *, scope: TenantScope, gateway: str,
                      currency: str) -> FeeRule | None:
    """Delete the rule for (gateway, currency) of the scope; the removed rule, or None if
    there is none.  Payments completed under it keep the fee stored on them."""
    return (await session.scalars(
        delete(FeeRule).where(FeeRule.merchant_id == scope.merchant_id,
                              FeeRule.mode == scope.mode, FeeRule.gateway == gateway,
                              FeeRule.currency == currency)
        .returning(FeeRule))).one_or_none()


async def list_rules(
    session: AsyncSession, *, merchant_id: int, mode: str | None = None
) -> list[FeeRule]:
    stmt = select(FeeRule).where(FeeRule.merchant_id == merchant_id)
    if mode is not None:
        stmt = stmt.where(FeeRule.mode == mode)
    stmt = stmt.order_by(FeeRule.mode, FeeRule.gateway, FeeRule.currency)
    return list(await session.scalars(stmt))


def percent_number(rate_ppm: int) -> int | float:
    """29000 -> 2.9, 1_000_000 -> 100: the JSON number of the percentage, like amounts.

    Exact: a rate has at most 4 decimals and 7 significant digits (0 … 100.0000), and every
    such decimal is the shortest repr of its float, which is what JSON encoders print (the
    test checks all 1,000,001 rates).
    """
    value = Decimal(rate_ppm).scaleb(-MAX_PERCENT_DECIMALS)  # parts per million / 10⁴
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def serialize_rule(rule: FeeRule) -> dict[str, Any]:
    def major(minor: int | None) -> int | float | None:
        if minor is None or rule.currency == ANY_CURRENCY:
            return None if minor is None else minor
        return money.json_number(minor, rule.currency)

    return {
        "gateway": rule.gateway,
        "mode": rule.mode,
        "currency": None if rule.currency == ANY_CURRENCY else rule.currency,
        "flat": major(rule.flat_minor),
        "percent": percent_number(rule.rate_ppm),
        "min": major(rule.min_minor),
        "max": major(rule.max_minor),
        "updated_at": iso_required(rule.updated_at),
    }
