"""Reads of forwarded messages, scoped to a brand and mode -- or to the installation: what
its own phones received that no brand was given yet (the CLI, the API and the dashboard
list them the same way)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.sms.devices import Owner
from ownpay.sms.models import SmsMessage, owned_by

STATUSES = ("matched", "waiting", "review", "ignored")


async def recent_messages(session: AsyncSession, scope: Owner, *, status: str | None,
                          limit: int) -> list[SmsMessage]:
    """Newest first (stored, then received by the phone); ``status`` one of
    :data:`STATUSES`, or None for all."""
    query = select(SmsMessage).where(owned_by(SmsMessage.merchant_id, scope.merchant_id),
                                     SmsMessage.mode == scope.mode)
    if status:
        query = query.where(SmsMessage.status == status)
    return list(await session.scalars(
        query.order_by(SmsMessage.created_at.desc(), SmsMessage.received_at.desc(),
                       SmsMessage.id.desc()).limit(limit)))
