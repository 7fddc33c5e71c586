"""Merchants, API keys and gateway accounts: create, list, revoke, enable, look up.

Functions take the session explicitly and only ``flush()``; the caller owns the transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import i18n
from ownpay.db import utcnow
from ownpay.errors import FieldErrors, MerchantExists, NotFound, ValidationFailed
from ownpay.gateways import registry
from ownpay.gateways.base import ConfigInvalid
from ownpay.merchants import repository
from ownpay.merchants.accounts import credentials_context
from ownpay.merchants.models import ApiKey, GatewayAccount, Merchant
from ownpay.security import Keyring, api_key_digest, display_prefix, new_api_key
from ownpay.urls import BadUrl, normalize_http_url

SCOPES = ("read", "write", "admin")
MODES = ("test", "live")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class CreatedKey:
    id: int
    api_key: str  # the only time the plaintext exists outside the caller's hands
    mode: str
    scopes: tuple[str, ...]


def parse_scopes(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return SCOPES
    scopes = tuple(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValidationFailed(
            errors={"scopes": [f"Unknown scope(s): {', '.join(bad)}. Use read, write, admin."]}
        )
    return scopes


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValidationFailed(errors={"mode": ["Mode must be test or live."]})
    return mode


PROFILE_FIELDS = ("name", "base_url", "logo_url", "primary_color", "intent_lifetime",
                  "checkout_language")


def _checked_profile(errors: FieldErrors, given: dict[str, Any]) -> dict[str, Any]:
    """The merchant columns for the fields in ``given``, checked as on creation (errors into
    ``errors``); an empty or ``None`` optional field becomes ``None`` (cleared)."""
    values: dict[str, Any] = {}
    if "name" in given:
        name = given["name"] or ""
        if not name.strip() or len(name) > 150:
            errors.add("name", "Name is required and at most 150 characters.")
        values["name"] = name.strip()
    for label in ("base_url", "logo_url"):
        if label not in given:
            continue
        try:
            url = normalize_http_url(given[label]) if given[label] else None
        except BadUrl as exc:
            errors.add(label, str(exc))  # "The URL must be an absolute http(s) URL.", …
            continue
        if url and len(url) > 500:  # the column's size
            errors.add(label, "The URL must be at most 500 characters.")
        values[label] = url.rstrip("/") if url and label == "base_url" else url
    if "primary_color" in given:
        color = given["primary_color"] or None
        if color and not _COLOR.match(color):
            errors.add("primary_color", "Must be a colour like #1a73e8.")
        values["primary_color"] = color
    if "checkout_language" in given:
        lang = given["checkout_language"] or i18n.DEFAULT
        if lang not in i18n.LANGUAGES:
            errors.add("checkout_language",
                       "Must be one of: " + ", ".join(i18n.LANGUAGES) + ".")
        values["checkout_language"] = lang
    if "intent_lifetime" in given:
        lifetime = given["intent_lifetime"]
        if lifetime is not None and not 60 <= lifetime <= 7 * 86400:
            errors.add("intent_lifetime", "Must be between 60 and 604800 seconds.")
        values["intent_lifetime"] = lifetime
    return values


async def create_merchant(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    base_url: str | None = None,
    intent_lifetime: int | None = None,
    logo_url: str | None = None,
    primary_color: str | None = None,
    checkout_language: str | None = None,
) -> Merchant:
    errors = FieldErrors()
    if not _SLUG.match(slug):
        errors.add("slug", "Slug must be 3-64 lower-case letters, digits or hyphens.")
    values = _checked_profile(errors, {
        "name": name, "base_url": base_url, "logo_url": logo_url,
        "primary_color": primary_color, "intent_lifetime": intent_lifetime,
        "checkout_language": checkout_language,
    })
    errors.raise_if_any()
    if await repository.by_slug(session, slug) is not None:
        raise MerchantExists(f"Merchant '{slug}' already exists.")
    merchant = Merchant(slug=slug, status="active", created_at=utcnow(), **values)
    session.add(merchant)
    await session.flush()
    return merchant


async def update_merchant(
    session: AsyncSession, merchant: Merchant, *, changes: dict[str, Any]
) -> Merchant:
    """Change the fields named in ``changes`` (of :data:`PROFILE_FIELDS`), validated as on
    creation, every bad field at once; an empty or ``None`` value clears an optional field
    (the base URL falls back to the installation's).  The slug never changes: it is in
    every provider webhook URL."""
    errors = FieldErrors()
    errors.refuse_unknown(changes, PROFILE_FIELDS)
    if not changes:
        errors.add("merchant", "Nothing to change: give at least one of "
                   + ", ".join(PROFILE_FIELDS) + ".")
    values = _checked_profile(errors, changes)
    errors.raise_if_any()
    for column, value in values.items():
        setattr(merchant, column, value)
    await session.flush()
    return merchant


async def get_merchant(session: AsyncSession, slug: str) -> Merchant:
    return await repository.by_slug_or_404(session, slug)


async def list_merchants(session: AsyncSession) -> list[Merchant]:
    return await repository.operator_list(session)


# What an API key may be made for besides our API: "ownpay" = OwnPay's merchant-API clients.
DIALECTS = (None, "ownpay")


async def create_api_key(
    session: AsyncSession,
    *,
    merchant: Merchant,
    mode: str,
    scopes: tuple[str, ...] = SCOPES,
    name: str | None = None,
    dialect: str | None = None,
) -> CreatedKey:
    check_mode(mode)
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of: {', '.join(d for d in DIALECTS if d)}")
    plaintext = new_api_key(mode)
    row = ApiKey(
        merchant_id=merchant.id,
        mode=mode,
        key_hash=api_key_digest(plaintext),
        prefix=display_prefix(plaintext),
        scopes=",".join(scopes),
        name=name,
        dialect=dialect,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return CreatedKey(id=row.id, api_key=plaintext, mode=mode, scopes=scopes)


async def list_api_keys(session: AsyncSession, *, merchant: Merchant) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.merchant_id == merchant.id).order_by(ApiKey.id)
    return list(await session.scalars(stmt))


async def revoke_api_key(
    session: AsyncSession, *, key_id: int, merchant_id: int | None = None
) -> ApiKey:
    stmt = select(ApiKey).where(ApiKey.id == key_id)
    if merchant_id is not None:
        stmt = stmt.where(ApiKey.merchant_id == merchant_id)
    key = await session.scalar(stmt)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key


async def touch_api_key(session: AsyncSession, key_id: int) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))


async def enable_gateway(
    session: AsyncSession,
    keyring: Keyring,
    *,
    merchant: Merchant,
    mode: str,
    gateway: str,
    values: dict[str, Any],
    display_name: str | None = None,
    keep_secrets: bool = False,
) -> GatewayAccount:
    """Create or update a gateway account; secret values are encrypted, never echoed.

    ``keep_secrets`` (the dashboard's write-only fields): a secret credential given empty
    or not at all keeps the account's stored value, so reconfiguring a setting does not
    mean typing every secret again."""
    check_mode(mode)
    adapter = registry.get(gateway)
    if adapter is None:
        known = ", ".join(sorted(registry.all_gateways()))
        raise ValidationFailed(
            errors={"gateway": [f"Unknown gateway '{gateway}'. Known: {known}."]}
        )
    if mode not in adapter.modes:
        modes = ", ".join(sorted(adapter.modes))
        raise ValidationFailed(
            errors={"mode": [f"Gateway '{gateway}' is available in {modes} mode only."]}
        )
    account = await session.scalar(
        select(GatewayAccount).where(
            GatewayAccount.merchant_id == merchant.id,
            GatewayAccount.mode == mode,
            GatewayAccount.gateway == gateway,
        )
    )
    if keep_secrets and account is not None:
        stored = stored_credentials(keyring, account)
        values = dict(values)
        for f in adapter.credential_fields:
            if f.secret and not values.get(f.name) and stored.get(f.name):
                values[f.name] = stored[f.name]
    try:
        credentials, settings = adapter.validate_config(
            {k: v for k, v in values.items() if isinstance(v, str)}, values
        )
    except ConfigInvalid as exc:
        raise ValidationFailed(errors=exc.errors) from None
    now = utcnow()
    blob = keyring.encrypt(
        orjson.dumps(credentials), context=credentials_context(merchant.id, mode, gateway)
    )
    name = display_name or settings.get("display_name") or adapter.display_name
    if account is None:
        account = GatewayAccount(
            merchant_id=merchant.id,
            mode=mode,
            gateway=gateway,
            created_at=now,
        )
        session.add(account)
    account.active = True
    account.display_name = str(name)[:100]
    account.credentials_enc = blob
    account.settings = settings
    account.updated_at = now
    await session.flush()
    return account


def stored_credentials(keyring: Keyring, account: GatewayAccount) -> dict[str, str]:
    """The account's decrypted credentials, for the server's own use only (never a page)."""
    if not account.credentials_enc:
        return {}
    raw = keyring.decrypt(account.credentials_enc, context=credentials_context(
        account.merchant_id, account.mode, account.gateway))
    data = orjson.loads(raw)
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def shown_config(keyring: Keyring, account: GatewayAccount) -> dict[str, Any]:
    """What a form may show of an account's configuration: non-secret credentials and
    settings by value, each secret only as ``True`` (set) or ``False`` (not set)."""
    adapter = registry.get(account.gateway)
    stored = stored_credentials(keyring, account)
    shown: dict[str, Any] = {}
    for f in adapter.credential_fields if adapter else ():
        shown[f.name] = bool(stored.get(f.name)) if f.secret else stored.get(f.name, "")
    for key, value in (account.settings or {}).items():
        shown.setdefault(key, value)
    return shown


async def disable_gateway(
    session: AsyncSession, *, merchant: Merchant, mode: str, gateway: str
) -> GatewayAccount:
    account = await session.scalar(
        select(GatewayAccount).where(
            GatewayAccount.merchant_id == merchant.id,
            GatewayAccount.mode == mode,
            GatewayAccount.gateway == gateway,
        )
    )
    if account is None:
        raise NotFound(f"Gateway '{gateway}' is not configured for {merchant.slug} ({mode}).")
    account.active = False
    account.updated_at = utcnow()
    await session.flush()
    return account


async def list_gateway_accounts(session: AsyncSession, *,
                                merchant: Merchant) -> list[GatewayAccount]:
    stmt = (
        select(GatewayAccount)
        .where(GatewayAccount.merchant_id == merchant.id)
        .order_by(GatewayAccount.mode, GatewayAccount.gateway)
    )
    return list(await session.scalars(stmt))
