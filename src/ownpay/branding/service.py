"""Changing a brand's look and feel: one function, :func:`update_theme`, used by the
dashboard's "Look & feel" form and ``ownpay merchants theme``.

Every field is checked before anything is written and all refusals come back at once
(``ValidationFailed`` with ``errors`` per field).  Uploaded images become PNGs
(``images.py``), custom CSS is sanitised (``css.py``); each is stored once in
``brand_assets`` under its SHA-256 and the brand's ``theme`` names the current one.  A
replaced or removed asset's row is deleted, unless it is the one still named.  Like every
service here it only flushes: the caller's transaction commits it with its audit row.
"""

from __future__ import annotations

import hashlib
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.branding import contrast, css, images
from ownpay.branding.models import BrandAsset
from ownpay.branding.theme import ASSET_FIELDS, COLOR_FIELDS, DEFAULT_PRIMARY, TEXT_FIELDS
from ownpay.errors import FieldErrors
from ownpay.jsoncodec import clean_text
from ownpay.merchants.models import Merchant
from ownpay.urls import BadUrl, normalize_http_url

LIMITS = {"support_email": 254, "support_phone": 40, "support_url": 500, "footer_text": 500}
FIELDS = ("primary_color", *COLOR_FIELDS, *TEXT_FIELDS, *ASSET_FIELDS)


def _text(errors: FieldErrors, name: str, value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not clean_text(value) or any(ord(c) < 0x20 and c not in "\n" for c in value):
        errors.add(name, "Must be plain text without control characters.")
        return None
    if len(value) > LIMITS[name]:
        errors.add(name, f"At most {LIMITS[name]} characters.")
        return None
    if name == "support_email":
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            errors.add(name, "Must be an e-mail address like help@example.com.")
            return None
    elif name == "support_phone":
        if "\n" in value or not all(c.isdigit() or c in " +-()." for c in value):
            errors.add(name, "Must be a phone number (digits, spaces and + - ( ) . only).")
            return None
    elif name == "support_url":
        try:
            return normalize_http_url(value)
        except BadUrl as exc:
            errors.add(name, str(exc))
            return None
    elif "\n" in value and name != "footer_text":
        errors.add(name, "Must be one line.")
        return None
    return value


def _colour(errors: FieldErrors, name: str, value: str | None) -> str | None:
    if not value:
        return None
    if not contrast.is_color(value):
        errors.add(name, "Must be a colour like #1a73e8.")
        return None
    return value.lower()


async def _store(session: AsyncSession, merchant: Merchant, kind: str, data: bytes,
                 content_type: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    found = await session.scalar(select(BrandAsset.id).where(
        BrandAsset.merchant_id == merchant.id, BrandAsset.kind == kind,
        BrandAsset.sha256 == sha))
    if found is None:
        session.add(BrandAsset(merchant_id=merchant.id, kind=kind, sha256=sha,
                               content_type=content_type, data=data))
    return sha


async def update_theme(session: AsyncSession, merchant: Merchant, *,
                       changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Apply ``changes`` (keys of :data:`FIELDS`; "" or None clears a field; ``logo`` /
    ``favicon`` are the uploaded bytes, ``css`` the stylesheet text) and return what changed
    as ``{field: {"before": …, "after": …}}`` for the audit row (assets by digest)."""
    errors = FieldErrors()
    for name in sorted(set(changes) - set(FIELDS)):
        errors.add(name, "Unknown field.")
    theme: dict[str, Any] = dict(merchant.theme or {})
    primary = merchant.primary_color
    if "primary_color" in changes:
        primary = _colour(errors, "primary_color", changes["primary_color"])
    for name in COLOR_FIELDS:
        if name in changes:
            theme[name] = _colour(errors, name, changes[name])
    for name in TEXT_FIELDS:
        if name in changes:
            theme[name] = _text(errors, name, changes[name] or "")
    button = theme.get("button_text_color")
    if button and "button_text_color" not in errors and "primary_color" not in errors:
        refused = contrast.readable(button, primary or DEFAULT_PRIMARY)
        if refused:
            errors.add("button_text_color", refused)
    prepared: dict[str, tuple[bytes, str] | None] = {}
    for kind in ("logo", "favicon"):
        if kind in changes:
            data = changes[kind]
            try:
                prepared[kind] = None if not data else (images.process(data, kind).data,
                                                        "image/png")
            except images.BadImage as exc:
                errors.add(kind, str(exc))
    if "css" in changes:
        try:
            text = css.sanitise(changes["css"] or "")
            prepared["css"] = (text.encode("utf-8"), "text/css") if text.strip() else None
        except css.BadCss as exc:
            errors.add("css", str(exc))
    errors.raise_if_any()
    for kind, made in prepared.items():
        theme[kind] = None if made is None else await _store(session, merchant, kind, *made)
    before = {"primary_color": merchant.primary_color,
              **{k: (merchant.theme or {}).get(k) for k in FIELDS if k != "primary_color"}}
    merchant.primary_color = primary
    merchant.theme = {k: v for k, v in theme.items() if v is not None} or None
    after = {"primary_color": primary, **{k: theme.get(k) for k in FIELDS
                                          if k != "primary_color"}}
    changed = {k: {"before": before[k], "after": after[k]} for k in FIELDS
               if before[k] != after[k]}
    for kind in ASSET_FIELDS:
        if kind in changed and before[kind]:
            await session.execute(delete(BrandAsset).where(
                BrandAsset.merchant_id == merchant.id, BrandAsset.kind == kind,
                BrandAsset.sha256 == before[kind]))
    await session.flush()
    return changed


async def asset(session: AsyncSession, sha256: str, content_type: str, *,
                merchant_id: int | None = None) -> BrandAsset | None:
    """A stored asset by digest and type: any brand's on the main address (assets are
    public and named by their content), only ``merchant_id``'s when given (a brand domain)."""
    query = select(BrandAsset).where(BrandAsset.sha256 == sha256,
                                     BrandAsset.content_type == content_type)
    if merchant_id is not None:
        query = query.where(BrandAsset.merchant_id == merchant_id)
    return await session.scalar(query.limit(1))
