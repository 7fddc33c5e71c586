"""Reading payment intents.  Every function takes the tenant scope, except the few named
for the operator (``operator_…``: the CLI acts across merchants) and the worker's sweeps,
which by design look at every merchant's overdue or stuck payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import ids
from ownpay.errors import NotFound
from ownpay.payments import states
from ownpay.payments.models import PROVIDER_TXN_HELD, PaymentIntent, PaymentStatusHistory
from ownpay.tenancy import TenantScope

NOT_FOUND = "Payment intent not found."


async def get(session: AsyncSession, scope: TenantScope, transaction_id: str, *,
              for_update: bool = False) -> PaymentIntent | None:
    if not ids.is_transaction_id(transaction_id):
        return None
    stmt = select(PaymentIntent).where(
        PaymentIntent.id == transaction_id,
        PaymentIntent.merchant_id == scope.merchant_id,
        PaymentIntent.mode == scope.mode,
    )
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get_or_404(session: AsyncSession, scope: TenantScope, transaction_id: str, *,
                     for_update: bool = False) -> PaymentIntent:
    """Scoped lookup: another merchant's or mode's id is a plain 404."""
    intent = await get(session, scope, transaction_id, for_update=for_update)
    if intent is None:
        raise NotFound(NOT_FOUND)
    return intent


async def by_public_id(session: AsyncSession, scope: TenantScope,
                       public_id: str) -> PaymentIntent | None:
    """Scoped lookup by the UUID of the OwnPay merchant API (``payment_id``)."""
    return await session.scalar(select(PaymentIntent).where(
        PaymentIntent.public_id == public_id,
        PaymentIntent.merchant_id == scope.merchant_id,
        PaymentIntent.mode == scope.mode,
    ))


async def reload(session: AsyncSession, intent: PaymentIntent) -> PaymentIntent:
    """The row as it stands now (the caller already holds a scoped instance)."""
    fresh = await session.get(PaymentIntent, intent.id, populate_existing=True)
    assert fresh is not None  # noqa: S101 - payments are never deleted
    return fresh


async def reload_by_id(session: AsyncSession, payment_id: str) -> PaymentIntent:
    """A payment named by one of our own rows (a refund's ``payment_id``: same tenant)."""
    found = await session.get(PaymentIntent, payment_id, populate_existing=True)
    assert found is not None  # noqa: S101 - payments are never deleted
    return found


async def by_provider_reference(
    session: AsyncSession, scope: TenantScope, gateway: str, provider_reference: str
) -> PaymentIntent | None:
    """The newest payment of the scope whose provider object is ``provider_reference``."""
    return await session.scalar(
        select(PaymentIntent)
        .where(PaymentIntent.merchant_id == scope.merchant_id, PaymentIntent.mode == scope.mode,
               PaymentIntent.gateway == gateway,
               PaymentIntent.provider_reference == provider_reference)
        .order_by(PaymentIntent.created_at.desc())
        .limit(1)
    )


async def by_id_for_gateway(
    session: AsyncSession, scope: TenantScope, gateway: str, transaction_id: str
) -> PaymentIntent | None:
    if not ids.is_transaction_id(transaction_id):
        return None
    return await session.scalar(
        select(PaymentIntent).where(
            PaymentIntent.id == transaction_id, PaymentIntent.merchant_id == scope.merchant_id,
            PaymentIntent.mode == scope.mode, PaymentIntent.gateway == gateway))


async def history(session: AsyncSession, intent: PaymentIntent) -> list[PaymentStatusHistory]:
    stmt = (
        select(PaymentStatusHistory)
        .where(
            PaymentStatusHistory.payment_id == intent.id,
            PaymentStatusHistory.merchant_id == intent.merchant_id,
        )
        .order_by(PaymentStatusHistory.id)
    )
    return list(await session.scalars(stmt))


async def provider_txn_used_elsewhere(
    session: AsyncSession, intent: PaymentIntent, provider_txn_id: str
) -> bool:
    used = await session.scalar(
        select(PaymentIntent.id).where(
            PaymentIntent.merchant_id == intent.merchant_id,
            PaymentIntent.mode == intent.mode,
            PaymentIntent.provider_txn_id == provider_txn_id,
            PaymentIntent.id != intent.id,
            text(PROVIDER_TXN_HELD),
        )
    )
    return used is not None


# ---- operator and worker reads (every merchant) ------------------------------------------


async def operator_get(session: AsyncSession, transaction_id: str) -> PaymentIntent | None:
    """The operator's CLI names a payment by id alone; its merchant and mode follow."""
    if not ids.is_transaction_id(transaction_id):
        return None
    return await session.get(PaymentIntent, transaction_id)


async def due_for_expiry(
    session: AsyncSession, *, now: datetime, exclude: Sequence[str] = (), limit: int = 200
) -> list[PaymentIntent]:
    """Pending payments past ``expires_at``, leaving out ``exclude`` (payments whose
    provider is not to be asked again yet, so they never starve the others)."""
    P = PaymentIntent  # noqa: N806
    stmt = (
        select(P)
        .where(P.status == states.PENDING, P.expires_at <= now)
        .order_by(P.expires_at)
        .limit(limit)
    )
    if exclude:
        stmt = stmt.where(P.id.not_in(list(exclude)))
    return list(await session.scalars(stmt))


async def stuck_processing(
    session: AsyncSession, *, older_than: datetime, limit: int = 100
) -> list[PaymentIntent]:
    stmt = (
        select(PaymentIntent)
        .where(PaymentIntent.status == states.PROCESSING, PaymentIntent.updated_at <= older_than)
        .order_by(PaymentIntent.updated_at)
        .limit(limit)
    )
    return list(await session.scalars(stmt))
