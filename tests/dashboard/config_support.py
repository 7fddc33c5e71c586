"""Helpers of the configuration-page tests: a signed-in user looking at a given brand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from ownpay.audit.models import AuditEntry
from ownpay.dashboard.models import UserSession
from ownpay.dashboard.roles import BRAND_ROLES
from ownpay.db import utcnow
from tests.support.dashboard import Operator, make_user, post_form, sign_in
from tests.support.factories import MerchantKeys


async def signed_in(client: httpx.AsyncClient, ctx: Any, role: str, brand: MerchantKeys,
                    *, mode: str = "test") -> Operator:
    """Sign ``client`` in as a new ``role`` user looking at ``brand`` in ``mode``."""
    user = await make_user(ctx, role, merchant=brand.slug if role in BRAND_ROLES else None)
    assert (await sign_in(client, user.email, user.password)).status_code == 303
    switched = await post_form(client, "/admin/account", "/admin/switch", {
        "merchant": str(brand.id), "mode": mode, "next": "/admin/"})
    assert switched.status_code == 303
    return user


async def expire_step_up(ctx: Any, user: Operator) -> None:
    long_ago = utcnow() - timedelta(seconds=ctx.settings.session_reauth_window + 5)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(UserSession).where(UserSession.user_id == user.id)
                        .values(reauthenticated_at=long_ago))


async def audit_rows(ctx: Any, action: str, object_id: str | int,
                     merchant_id: int | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action,
                                     AuditEntry.object_id == str(object_id))
    if merchant_id is not None:
        query = query.where(AuditEntry.merchant_id == merchant_id)
    async with ctx.sessions() as s:
        return list(await s.scalars(query))
