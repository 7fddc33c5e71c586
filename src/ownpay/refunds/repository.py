"""Reading refunds: by the tenant scope, except what is named for the operator (its CLI)
and the worker's sweeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.errors import NotFound
from ownpay.pagination import check_page_params, newest_first
from ownpay.refunds.models import Refund, RefundStatusHistory, is_refund_id
from ownpay.refunds.states import PENDING, PROCESSING, STATUSES
from ownpay.tenancy import TenantScope

NOT_FOUND = "Refund not found."
DEFAULT_PAGE = 20
MAX_PAGE = 100


async def get_or_404(session: AsyncSession, scope: TenantScope, refund_id: str) -> Refund:
    """Scoped lookup: another merchant's or mode's refund is a plain 404."""
    refund = None
    if is_refund_id(refund_id):
        refund = await session.scalar(select(Refund).where(
            Refund.id == refund_id, Refund.merchant_id == scope.merchant_id,
            Refund.mode == scope.mode))
    if refund is None:
        raise NotFound(NOT_FOUND)
    return refund


async def load(session: AsyncSession, refund_id: str) -> Refund:
    """A refund the caller already holds the id of (from its own scoped rows)."""
    refund = await session.get(Refund, refund_id, populate_existing=True)
    assert refund is not None  # noqa: S101 - refunds are never deleted
    return refund


@dataclass(frozen=True)
class RefundFilters:
    transaction_id: str | None = None
    status: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


def _filtered(stmt: Select[Refund], filters: RefundFilters) -> Select[Refund]:
    R = Refund  # noqa: N806 - reads like the table
    if filters.transaction_id is not None:
        stmt = stmt.where(R.payment_id == filters.transaction_id)
    if filters.status is not None:
        stmt = stmt.where(R.status == filters.status)
    if filters.created_from is not None:
        stmt = stmt.where(R.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(R.created_at < filters.created_to)
    return stmt


async def page(
    session: AsyncSession, scope: TenantScope, filters: RefundFilters, *,
    limit: int = DEFAULT_PAGE, starting_after: str | None = None,
) -> tuple[list[Refund], bool]:
    """Newest first, keyset-paginated on (created_at, id): rows inserted while a client
    pages land before its cursor, so pages never repeat or skip a refund."""
    check_page_params(limit=limit, maximum=MAX_PAGE, status=filters.status, statuses=STATUSES)
    where = (Refund.merchant_id == scope.merchant_id, Refund.mode == scope.mode)
    stmt = _filtered(select(Refund).where(*where), filters)
    return await newest_first(session, stmt, Refund, scope=where, limit=limit,
                              starting_after=starting_after, noun="refund")


async def of_payment(session: AsyncSession, payment_id: str) -> list[Refund]:
    return list(await session.scalars(select(Refund).where(Refund.payment_id == payment_id)))


async def by_provider_refund_id(
    session: AsyncSession, payment_id: str, provider_refund_id: str
) -> Refund | None:
    return await session.scalar(select(Refund).where(
        Refund.payment_id == payment_id, Refund.provider_refund_id == provider_refund_id))


async def history(session: AsyncSession, refund: Refund) -> list[RefundStatusHistory]:
    return list(await session.scalars(
        select(RefundStatusHistory)
        .where(RefundStatusHistory.refund_id == refund.id,
               RefundStatusHistory.merchant_id == refund.merchant_id)
        .order_by(RefundStatusHistory.id)))


# ---- operator and worker reads (every merchant) ------------------------------------------


async def operator_page(
    session: AsyncSession, *, merchant_id: int | None, mode: str | None,
    filters: RefundFilters, limit: int = DEFAULT_PAGE,
) -> list[Refund]:
    """The operator's CLI: every merchant's (or one's) refunds, newest first."""
    check_page_params(limit=limit, maximum=MAX_PAGE, status=filters.status, statuses=STATUSES)
    stmt = select(Refund)
    if merchant_id is not None:
        stmt = stmt.where(Refund.merchant_id == merchant_id)
    if mode is not None:
        stmt = stmt.where(Refund.mode == mode)
    stmt = _filtered(stmt, filters).order_by(Refund.created_at.desc(), Refund.id.desc())
    return list(await session.scalars(stmt.limit(limit)))


async def operator_scope(session: AsyncSession, refund_id: str) -> TenantScope:
    """The merchant and mode a refund belongs to (the operator names it by id alone)."""
    row = (await session.execute(
        select(Refund.merchant_id, Refund.mode).where(Refund.id == refund_id)
    )).first()
    if row is None:
        raise NotFound(f"Refund '{refund_id}' does not exist.")
    return TenantScope(int(row[0]), str(row[1]))


async def due_for_reconcile(session: AsyncSession, *, now: datetime, limit: int) -> list[Refund]:
    return list(await session.scalars(
        select(Refund)
        .where(Refund.status == PENDING, Refund.next_check_at.is_not(None),
               Refund.next_check_at <= now)
        .order_by(Refund.next_check_at)
        .limit(limit)))


async def processing_of_payment(session: AsyncSession, payment_id: str) -> list[Refund]:
    """Pending refunds of a payment that its gateway acknowledged and is still settling."""
    return list(await session.scalars(
        select(Refund).where(Refund.payment_id == payment_id, Refund.status == PENDING,
                             Refund.stage == PROCESSING, Refund.next_check_at.is_not(None))))
