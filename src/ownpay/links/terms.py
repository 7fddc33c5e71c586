"""A payment link's terms, checked: every field of a create or change body at once, in the
API's ``VALIDATION_ERROR`` shape (``links/service.py`` stores what this returns)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import money
from ownpay.config import Settings
from ownpay.errors import FieldErrors, ValidationFailed
from ownpay.gateways import registry
from ownpay.links.models import PaymentLink
from ownpay.merchants.models import GatewayAccount
from ownpay.payments import methods
from ownpay.tenancy import TenantScope
from ownpay.urls import BadUrl, normalize_http_url

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])")
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
FIELD_TYPES = ("text", "number", "select")
MAX_FIELDS, MAX_OPTIONS = 10, 20
TEXT_LIMIT = 500  # a text field's answer, at most
MAX_USES = 1_000_000
# The customer's own fields on the page: a custom field may not take these names.
RESERVED = frozenset({"customer_name", "customer_email", "customer_phone", "amount",
                      "gateway", "csrf_token", "submission"})
KNOWN = ("slug", "title", "description", "image_url", "currency", "amount", "min_amount",
         "max_amount", "gateways", "fields", "max_uses", "expires_at", "active", "redirect_url")
def _text(body: dict[str, Any], name: str, limit: int, errors: FieldErrors, *,
          required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(name, f"The {name.replace('_', ' ')} field is required.")
        return None
    if not isinstance(value, str):
        errors.add(name, f"The {name.replace('_', ' ')} must be a string.")
        return None
    value = value.strip()
    if len(value) > limit:
        errors.add(name, f"The {name.replace('_', ' ')} may not be greater than {limit} "
                         "characters.")
        return None
    if not value.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        errors.add(name, f"The {name.replace('_', ' ')} must not contain control characters.")
        return None
    return value


def _url(body: dict[str, Any], name: str, errors: FieldErrors) -> str | None:
    raw = _text(body, name, 2048, errors)
    if raw is None:
        return None
    try:
        return normalize_http_url(raw)
    except BadUrl as exc:
        errors.add(name, str(exc))
        return None


def _amount(body: dict[str, Any], name: str, currency: str | None, max_minor: int,
            errors: FieldErrors) -> int | None:
    raw = body.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if currency is None:
        return None  # reported as the currency's problem
    try:
        return money.parse_minor(money.to_decimal(raw), currency, max_minor=max_minor)
    except money.AmountError as exc:
        errors.add(name, str(exc))
        return None


def _field(raw: object, n: int, errors: FieldErrors) -> dict[str, Any] | None:
    where = f"fields[{n}]"
    if not isinstance(raw, dict):
        errors.add(where, "Each field is an object with name, label and type.")
        return None
    unknown = set(raw) - {"name", "label", "type", "required", "options"}
    if unknown:
        errors.add(where, f"Unknown key(s): {', '.join(sorted(str(k)[:40] for k in unknown))}.")
        return None
    name, label, kind = raw.get("name"), raw.get("label"), raw.get("type", "text")
    required, options = raw.get("required", False), raw.get("options")
    problems = []
    if not isinstance(name, str) or not FIELD_NAME.fullmatch(name) or name in RESERVED:
        problems.append("name is 1 to 40 of a-z, 0-9 and _ (starting with a letter), not one "
                        "of the page's own fields")
    if not isinstance(label, str) or not label.strip() or len(label) > 80 \
            or not label.isprintable():
        problems.append("label is 1 to 80 printable characters")
    if kind not in FIELD_TYPES:
        problems.append("type is text, number or select")
    if not isinstance(required, bool):
        problems.append("required is true or false")
    if kind == "select":
        if not (isinstance(options, list) and 1 <= len(options) <= MAX_OPTIONS
                and all(isinstance(o, str) and o.strip() and len(o) <= 80 and o.isprintable()
                        for o in options) and len(set(options)) == len(options)):
            problems.append(f"options are 1 to {MAX_OPTIONS} different texts of at most 80 "
                            "characters")
    elif options is not None:
        problems.append("only a select field has options")
    if problems:
        errors.add(where, "The " + "; the ".join(problems) + ".")
        return None
    assert isinstance(name, str) and isinstance(label, str)  # noqa: S101
    shown: dict[str, Any] = {"name": name, "label": label.strip(), "type": kind,
                             "required": required}
    if kind == "select":
        shown["options"] = [str(o).strip() for o in options or []]
    return shown


def _fields(raw: object, errors: FieldErrors) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_FIELDS:
        errors.add("fields", f"A list of at most {MAX_FIELDS} fields.")
        return None
    found = [_field(item, n, errors) for n, item in enumerate(raw)]
    clean = [f for f in found if f is not None]
    if len(clean) != len(raw):
        return None
    names = [f["name"] for f in clean]
    if len(set(names)) != len(names):
        errors.add("fields", "Field names must be different.")
        return None
    return clean


def _expiry(raw: object, errors: FieldErrors, now: datetime) -> datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        errors.add("expires_at", "An ISO 8601 time with its offset, e.g. 2027-01-31T18:00:00Z.")
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.add("expires_at", "An ISO 8601 time with its offset, e.g. 2027-01-31T18:00:00Z.")
        return None
    if moment.tzinfo is None:
        errors.add("expires_at", "Give the time's offset (Z for UTC).")
        return None
    moment = moment.astimezone(UTC).replace(microsecond=0)
    if moment <= now:
        errors.add("expires_at", "The expiry must be in the future.")
        return None
    return moment


async def _gateways(session: AsyncSession, scope: TenantScope, raw: object, currency: str | None,
                    amount_minor: int | None, errors: FieldErrors) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > 20 or not all(isinstance(g, str) for g in raw):
        errors.add("gateways", "A list of gateway names (at most 20).")
        return None
    wanted = list(dict.fromkeys(g.strip() for g in raw))
    active = set(await session.scalars(select(GatewayAccount.gateway).where(
        GatewayAccount.merchant_id == scope.merchant_id, GatewayAccount.mode == scope.mode,
        GatewayAccount.active.is_(True))))
    for gateway in wanted:
        if gateway not in active:
            errors.add("gateways", f"Gateway '{gateway[:40]}' is not configured or inactive.")
        elif currency is not None:
            reason = methods.refusal(gateway, scope.mode, amount_minor or 1, currency) \
                if amount_minor else (None if _takes(gateway, currency) else
                                      f"Gateway '{gateway}' does not accept {currency}.")
            if reason:
                errors.add("gateways", reason)
    return wanted


def _takes(gateway: str, currency: str) -> bool:
    adapter = registry.get(gateway)
    return adapter is not None and adapter.currency_supported(currency)


async def check_terms(session: AsyncSession, scope: TenantScope, body: dict[str, Any], *,
                      settings: Settings, link: PaymentLink | None = None,
                      now: datetime) -> dict[str, Any]:
    """The link's columns from ``body`` -- every field checked at once (400 with all the
    problems); for a change (``link`` given) only the fields sent, checked with the rest of
    the link's terms."""
    errors = FieldErrors()
    errors.refuse_unknown(body, KNOWN)
    values: dict[str, Any] = {}
    creating = link is None
    if creating or "slug" in body:
        slug = _text(body, "slug", 64, errors)
        if slug is not None and not SLUG.fullmatch(slug):
            errors.add("slug", "3 to 64 of a-z, 0-9 and -, starting and ending with a letter "
                               "or digit.")
        elif slug is not None:
            values["slug"] = slug
        elif not creating:
            errors.add("slug", "A link's slug cannot be removed.")
    if creating or "title" in body:
        values["title"] = _text(body, "title", 120, errors, required=True)
    for name, limit in (("description", 2000),):
        if name in body:
            values[name] = _text(body, name, limit, errors)
    for name in ("image_url", "redirect_url"):
        if name in body:
            values[name] = _url(body, name, errors)
    if creating:
        raw = body.get("currency")
        if not isinstance(raw, str) or not money.is_currency(raw.strip()):
            errors.add("currency", "The currency field is required: an ISO 4217 code."
                       if raw is None else "Invalid currency code.")
        else:
            values["currency"] = raw.strip().upper()
    elif "currency" in body:
        errors.add("currency", "A link's currency cannot change: make a new link.")
    currency = values.get("currency") if creating else (link.currency if link else None)
    limit = settings.max_amount_minor
    priced = {name: _amount(body, name, currency, limit, errors)
              for name in ("amount", "min_amount", "max_amount") if name in body}
    if creating or priced:
        fixed = priced.get("amount") if "amount" in body else (
            link.amount_minor if link else None)
        low = priced.get("min_amount") if "min_amount" in body else (
            link.min_minor if link else None)
        high = priced.get("max_amount") if "max_amount" in body else (
            link.max_minor if link else None)
        if fixed is not None and (low is not None or high is not None):
            errors.add("amount", "Give a fixed amount, or min_amount/max_amount for the "
                                 "customer's own amount -- not both.")
        if low is not None and high is not None and low > high:
            errors.add("min_amount", "The min amount may not be greater than the max amount.")
        values.update(amount_minor=fixed, min_minor=low, max_minor=high)
    if "gateways" in body or creating:
        gateways = await _gateways(session, scope, body.get("gateways"), currency,
                                   values.get("amount_minor", link.amount_minor if link else None),
                                   errors)
        if gateways is not None or creating:
            values["gateways"] = gateways or []
    if "fields" in body or creating:
        fields = _fields(body.get("fields"), errors)
        if fields is not None or creating:
            values["fields"] = fields or []
    if "max_uses" in body:
        raw = body["max_uses"]
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | Decimal)
                                or raw != int(raw) or not 1 <= raw <= MAX_USES):
            errors.add("max_uses", f"A whole number from 1 to {MAX_USES:,}, or null.")
        else:
            values["max_uses"] = None if raw is None else int(raw)
    if "expires_at" in body:
        values["expires_at"] = _expiry(body["expires_at"], errors, now)
    if "active" in body:
        if not isinstance(body["active"], bool):
            errors.add("active", "true or false.")
        else:
            values["active"] = body["active"]
    errors.raise_if_any()
    if not creating and not values:
        raise ValidationFailed(errors={"request": [
            "Nothing to update: send one of " + ", ".join(KNOWN) + "."]})
    return values
