"""Payment links: creating, reading, listing and changing links (``links/terms.py`` checks
their terms), and what the public page needs: the link of a slug and whether it takes a
payment now (docs/payment-links.md).

A link is a brand's and mode's, like every other object: each read names a
:class:`~ownpay.tenancy.TenantScope`, except :func:`public_link`, which finds a link by the
slug of its public page (the page then serves only that link's brand).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ownpay.config import Settings
from ownpay.db import utcnow
from ownpay.errors import NotFound, ValidationFailed
from ownpay.i18n import gettext as _
from ownpay.links import terms
from ownpay.links.models import PaymentLink
from ownpay.merchants.models import GatewayAccount, Merchant
from ownpay.outbox.payloads import decimal_string
from ownpay.pagination import newest_first
from ownpay.payments import states
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso

# Payments that hold a place under a link's usage cap: paid, or still under way.
HOLDING = (states.PENDING, states.PROCESSING, states.AWAITING_VERIFICATION, states.COMPLETED,
           states.PARTIALLY_REFUNDED, states.REFUNDED)
PAID = (states.COMPLETED, states.PARTIALLY_REFUNDED, states.REFUNDED)
LINK_NOT_FOUND = "Payment link not found."


def new_link_id() -> str:
    return "plink_" + secrets.token_hex(8)


def new_slug() -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l
    return "".join(secrets.choice(alphabet) for _ in range(10))


# ---- creating, reading, changing ------------------------------------------------------------


async def create_link(session: AsyncSession, scope: TenantScope, body: dict[str, Any], *,
                      settings: Settings) -> PaymentLink:
    now = utcnow()
    values = await terms.check_terms(session, scope, body, settings=settings, now=now)
    chosen = values.pop("slug", None)
    values.setdefault("active", True)
    for _attempt in range(5):  # a random slug that is taken is drawn again
        link = PaymentLink(id=new_link_id(), merchant_id=scope.merchant_id, mode=scope.mode,
                           slug=chosen or new_slug(), created_at=now, updated_at=now, **values)
        try:
            async with session.begin_nested():
                session.add(link)
                await session.flush()
        except IntegrityError:
            if chosen:
                raise ValidationFailed(errors={"slug": [
                    "That slug is taken: choose another."]}) from None
            continue
        return link
    raise RuntimeError("no free slug after 5 draws")  # 32**10 slugs: never in practice


async def get_link(session: AsyncSession, scope: TenantScope, link_id: str) -> PaymentLink:
    link = await session.scalar(select(PaymentLink).where(
        PaymentLink.id == link_id, PaymentLink.merchant_id == scope.merchant_id,
        PaymentLink.mode == scope.mode))
    if link is None:
        raise NotFound(LINK_NOT_FOUND)
    return link


async def update_link(session: AsyncSession, scope: TenantScope, link_id: str,
                      body: dict[str, Any], *, settings: Settings) -> PaymentLink:
    link = await get_link(session, scope, link_id)
    values = await terms.check_terms(session, scope, body, settings=settings, link=link,
                                     now=utcnow())
    values["updated_at"] = utcnow()
    try:
        async with session.begin_nested():
            await session.execute(update(PaymentLink).where(PaymentLink.id == link.id)
                                  .values(**values))
    except IntegrityError:
        raise ValidationFailed(errors={"slug": ["That slug is taken: choose another."]}) \
            from None
    await session.refresh(link)
    return link


async def list_links(session: AsyncSession, scope: TenantScope, *, limit: int,
                     starting_after: str | None,
                     active: bool | None = None) -> tuple[list[PaymentLink], bool]:
    """One page, newest first; ``active`` keeps only links turned on (True) or off (False)."""
    mine = (PaymentLink.merchant_id == scope.merchant_id, PaymentLink.mode == scope.mode)
    query = select(PaymentLink).where(*mine)
    if active is not None:
        query = query.where(PaymentLink.active.is_(active))
    return await newest_first(session, query, PaymentLink, scope=mine, limit=limit,
                              starting_after=starting_after, noun="payment link")


async def payments_of(session: AsyncSession, scope: TenantScope, link_id: str, *, limit: int,
                      starting_after: str | None) -> tuple[list[PaymentIntent], bool]:
    """The payments made on a link (every status), newest first."""
    mine = (PaymentIntent.merchant_id == scope.merchant_id, PaymentIntent.mode == scope.mode)
    return await newest_first(session, select(PaymentIntent).where(
        *mine, PaymentIntent.link_id == link_id), PaymentIntent, scope=mine, limit=limit,
        starting_after=starting_after, noun="payment")


async def paid_counts(session: AsyncSession, link_ids: list[str]) -> dict[str, int]:
    """How many payments of each link are paid (refunded ones included)."""
    if not link_ids:
        return {}
    rows = await session.execute(
        select(PaymentIntent.link_id, func.count()).where(
            PaymentIntent.link_id.in_(link_ids), PaymentIntent.status.in_(PAID))
        .group_by(PaymentIntent.link_id))
    return {link_id: n for link_id, n in rows.all() if link_id}


async def offered_gateways(session: AsyncSession, scope: TenantScope) -> list[tuple[str, str]]:
    """The gateways a link may allow: the brand's active ones in the mode, as (slug, name)."""
    rows = await session.execute(select(GatewayAccount.gateway, GatewayAccount.display_name)
                                 .where(GatewayAccount.merchant_id == scope.merchant_id,
                                        GatewayAccount.mode == scope.mode,
                                        GatewayAccount.active.is_(True))
                                 .order_by(GatewayAccount.gateway))
    return [(slug, name) for slug, name in rows.all()]


def link_url(base_url: str, link: PaymentLink) -> str:
    return f"{base_url.rstrip('/')}/pay/{link.slug}"


def serialize(link: PaymentLink, *, base_url: str, paid: int) -> dict[str, Any]:
    def amount(minor: int | None) -> str | None:
        return None if minor is None else decimal_string(minor, link.currency)

    return {
        "id": link.id, "url": link_url(base_url, link), "slug": link.slug,
        "title": link.title, "description": link.description, "image_url": link.image_url,
        "currency": link.currency, "amount": amount(link.amount_minor),
        "min_amount": amount(link.min_minor), "max_amount": amount(link.max_minor),
        "gateways": list(link.gateways or []), "fields": list(link.fields or []),
        "max_uses": link.max_uses, "paid_count": paid, "expires_at": iso(link.expires_at),
        "active": link.active, "redirect_url": link.redirect_url, "mode": link.mode,
        "created_at": iso(link.created_at), "updated_at": iso(link.updated_at),
    }


def audited(shown: dict[str, Any]) -> dict[str, Any]:
    """What an audit row keeps of a serialised link (not counts, times or the URL)."""
    return {k: v for k, v in shown.items() if k not in ("paid_count", "created_at",
                                                      "updated_at", "url")}


# ---- the public page --------------------------------------------------------------------------


async def public_link(session: AsyncSession, slug: str) -> tuple[PaymentLink, Merchant] | None:
    """The link of a public page and its brand (an active brand only)."""
    if not terms.SLUG.fullmatch(slug):
        return None
    row = (await session.execute(
        select(PaymentLink, Merchant).join(Merchant, Merchant.id == PaymentLink.merchant_id)
        .where(PaymentLink.slug == slug, Merchant.status == "active"))).first()
    return None if row is None else (row[0], row[1])


async def holding(db: AsyncSession | AsyncConnection, link_id: str, *, now: datetime) -> int:
    """The payments holding a place under a link's cap: paid, being paid or waiting for an
    operator, and pending ones not yet past their expiry."""
    P = PaymentIntent  # noqa: N806
    return int(await db.scalar(select(func.count()).select_from(P).where(
        P.link_id == link_id, P.status.in_(HOLDING),
        (P.status != states.PENDING) | (P.expires_at > now))) or 0)


def closed_because(link: PaymentLink, *, now: datetime, taken: int | None = None) -> str | None:
    """Why the link takes no payment now (None: it does)."""
    if not link.active:
        return _("This payment link is turned off.")
    if link.expires_at is not None and link.expires_at <= now:
        return _("This payment link has expired.")
    if link.max_uses is not None and taken is not None and taken >= link.max_uses:
        return _("This payment link has reached its limit of payments.")
    return None
