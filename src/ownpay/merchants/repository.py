"""Reading merchants (brands).  A merchant is itself the tenant, so these are the operator's
lookups (by slug or id); what belongs to a merchant is read through its scope elsewhere."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.errors import NotFound
from ownpay.merchants.models import Merchant


async def by_slug(session: AsyncSession, slug: str) -> Merchant | None:
    return await session.scalar(select(Merchant).where(Merchant.slug == slug))


async def by_slug_or_404(session: AsyncSession, slug: str) -> Merchant:
    merchant = await by_slug(session, slug)
    if merchant is None:
        raise NotFound(f"Merchant '{slug}' does not exist.")
    return merchant


async def active_by_slug(session: AsyncSession, slug: str) -> Merchant | None:
    merchant = await by_slug(session, slug)
    return merchant if merchant is not None and merchant.status == "active" else None


async def operator_list(session: AsyncSession) -> list[Merchant]:
    return list(await session.scalars(select(Merchant).order_by(Merchant.id)))
