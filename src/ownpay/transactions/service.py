"""Transaction queries: one filtered, keyset-ordered SELECT serves the listing and the export.

Order: ``created_at DESC, id DESC`` (newest first; ``id`` breaks ties, so the order is
total).  A page ends at a :class:`Position`; the next page is ``(created_at, id) < position``
— a row-value comparison both engines turn into an index bound (migration 0005).  Rows
inserted while a client pages are newer than every position it holds, so they never shift
a later page: no duplicates and no gaps among the rows that existed when paging began.

Reads select the listed columns only (Core rows, no ORM objects): the export turns a
million of them into CSV, and ORM identity bookkeeping would dominate its cost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Row, Select, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ownpay import money
from ownpay.payments import presenters, repository
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso, iso_required
from ownpay.transactions.schemas import ListQuery, Position, TransactionFilters, encode_cursor

# Rows per database round trip of the export: big enough that the round trips cost little
# next to encoding, small enough that a batch is a few hundred kilobytes.
EXPORT_BATCH = 500

# Case-insensitive equality that the email index (migration 0005) was built with.
_CASE_INSENSITIVE = {"postgresql": "ownpay_ci", "sqlite": "NOCASE"}

P = PaymentIntent
COLUMNS = (
    P.id, P.status, P.mode, P.gateway, P.amount_minor, P.currency, P.fee_minor, P.net_minor,
    P.refunded_minor, P.order_id, P.customer_name, P.customer_email, P.customer_phone,
    P.description, P.metadata_, P.created_at, P.paid_at,
)


class TransactionRow(Protocol):
    """What serialisation reads: a selected row or a :class:`PaymentIntent`."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def gateway(self) -> str: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def fee_minor(self) -> int | None: ...
    @property
    def net_minor(self) -> int | None: ...
    @property
    def refunded_minor(self) -> int: ...
    @property
    def order_id(self) -> str: ...
    @property
    def customer_name(self) -> str: ...
    @property
    def customer_email(self) -> str: ...
    @property
    def customer_phone(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def metadata_(self) -> dict[str, Any] | None: ...
    @property
    def created_at(self) -> Any: ...
    @property
    def paid_at(self) -> Any: ...


@dataclass(frozen=True)
class Page:
    rows: Sequence[Row[Any]]
    has_more: bool
    next_cursor: str | None


def _conditions(
    dialect: str, *, scope: TenantScope, filters: TransactionFilters
) -> list[ColumnElement[bool]]:
    """Tenant scope first (invariant 2), then each filter that was given."""
    where: list[ColumnElement[bool]] = [P.merchant_id == scope.merchant_id, P.mode == scope.mode]
    if len(filters.statuses) == 1:
        where.append(P.status == filters.statuses[0])
    elif filters.statuses:
        where.append(P.status.in_(filters.statuses))
    if filters.gateway is not None:
        where.append(P.gateway == filters.gateway)
    if filters.order_id is not None:
        where.append(P.order_id == filters.order_id)
    if filters.customer_email is not None:
        collation = _CASE_INSENSITIVE.get(dialect, "NOCASE")
        where.append(P.customer_email.collate(collation) == filters.customer_email)
    if filters.created_from is not None:
        where.append(P.created_at >= filters.created_from)
    if filters.created_to is not None:
        where.append(P.created_at < filters.created_to)
    if filters.currency is not None:
        where.append(P.currency == filters.currency)
    if filters.amount_min_minor is not None:
        where.append(P.amount_minor >= filters.amount_min_minor)
    if filters.amount_max_minor is not None:
        where.append(P.amount_minor <= filters.amount_max_minor)
    return where


def page_statement(
    dialect: str, *, scope: TenantScope, filters: TransactionFilters,
    after: Position | None, limit: int,
) -> Select[Any]:
    """At most ``limit`` rows after ``after`` (or from the newest), newest first."""
    where = _conditions(dialect, scope=scope, filters=filters)
    if after is not None:
        # Typed binds: a bare aware datetime would reach PostgreSQL as timestamptz and be
        # compared through the session's time zone; UTCDateTime binds naive UTC, as stored.
        position = tuple_(literal(after.created_at, P.created_at.type),
                          literal(after.transaction_id, P.id.type))
        where.append(tuple_(P.created_at, P.id) < position)
    return (
        select(*COLUMNS).where(*where).order_by(P.created_at.desc(), P.id.desc()).limit(limit)
    )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _position(row: Row[Any]) -> Position:
    return Position(created_at=row.created_at, transaction_id=row.id)


async def list_transactions(
    session: AsyncSession, *, scope: TenantScope, query: ListQuery
) -> Page:
    stmt = page_statement(
        _dialect(session), scope=scope, filters=query.filters,
        after=query.after, limit=query.limit + 1,
    )
    rows = (await session.execute(stmt)).all()
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor(_position(rows[-1])) if has_more else None
    return Page(rows=rows, has_more=has_more, next_cursor=cursor)


async def iter_batches(
    sessions: async_sessionmaker[AsyncSession], *, scope: TenantScope,
    filters: TransactionFilters, batch_size: int = EXPORT_BATCH,
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Every matching row, ``batch_size`` per round trip, newest first.

    Each batch is its own short transaction on a connection that goes back to the pool
    before the batch is yielded: an export that takes minutes holds no snapshot, lock or
    connection while the client reads (SQLite has one connection per process).  Memory is
    one batch, whatever the row count.  Rows created after the export started are newer
    than its first position and are not included.
    """
    after: Position | None = None
    while True:
        async with sessions() as session:
            stmt = page_statement(
                _dialect(session), scope=scope, filters=filters,
                after=after, limit=batch_size,
            )
            # On the session's connection: plain Core rows, without the ORM's result layer.
            connection = await session.connection()
            rows = (await connection.execute(stmt)).all()
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        after = _position(rows[-1])


def _amount(minor: int | None, currency: str) -> int | float | None:
    return None if minor is None else money.json_number(minor, currency)


def serialize(row: TransactionRow) -> dict[str, Any]:
    """One transaction as the API shows it (amounts in major units, ISO 8601 UTC times)."""
    return {
        "transaction_id": row.id,
        "status": row.status,
        "mode": row.mode,
        "gateway": row.gateway,
        "amount": money.json_number(row.amount_minor, row.currency),
        "currency": row.currency,
        "fee": _amount(row.fee_minor, row.currency),
        "net_amount": _amount(row.net_minor, row.currency),
        "refunded_amount": money.json_number(row.refunded_minor or 0, row.currency),
        "order_id": row.order_id,
        "customer": {
            "name": row.customer_name,
            "email": row.customer_email,
            "phone": row.customer_phone,
        },
        "description": row.description,
        "metadata": row.metadata_ or {},  # an object, as the spec types it
        "created_at": iso_required(row.created_at),
        "paid_at": iso(row.paid_at),
    }


def serialize_page(page: Page) -> dict[str, Any]:
    rows: Iterable[Any] = page.rows
    return {
        "data": [serialize(r) for r in rows],
        "has_more": page.has_more,
        "next_cursor": page.next_cursor,
    }


async def get_transaction(
    session: AsyncSession, *, scope: TenantScope, transaction_id: str
) -> dict[str, Any]:
    """The listing's item plus the status history.  Another merchant's or mode's id is a
    plain 404 (the payments service's scoped lookup)."""
    intent = await repository.get_or_404(session, scope, transaction_id)
    history = await repository.history(session, intent)
    # The same history entries as GET /api/v1/payment-intents/{id}, built in one place.
    full = presenters.serialize_intent(intent, history, base_url="")
    return {**serialize(intent), "customer_submission": full["customer_submission"],
            "status_history": full["status_history"]}
