"""The delivery log: what was sent where, every attempt's outcome, and replaying a delivery.

Every function takes the tenant scope (``scope``): another merchant's or mode's delivery is
a plain 404.  Functions ``flush`` at most; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.db import utcnow
from ownpay.errors import InvalidState, NotFound
from ownpay.pagination import check_page_params, newest_first
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso
from ownpay.webhooks.models import (
    CANCELLED,
    DELIVERY_STATUSES,
    OPEN_STATUSES,
    PENDING,
    RETRYING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

DEFAULT_PAGE = 20
MAX_PAGE = 100


@dataclass(frozen=True)
class DeliveryFilters:
    status: str | None = None
    event_type: str | None = None
    transaction_id: str | None = None
    endpoint_id: str | None = None


async def list_deliveries(
    session: AsyncSession,
    *,
    scope: TenantScope,
    filters: DeliveryFilters,
    limit: int = DEFAULT_PAGE,
    starting_after: str | None = None,
) -> tuple[list[WebhookDelivery], bool]:
    """Newest first.  ``starting_after`` is the last id of the previous page."""
    check_page_params(limit=limit, maximum=MAX_PAGE, status=filters.status,
                      statuses=DELIVERY_STATUSES)
    D = WebhookDelivery  # noqa: N806 - reads like the table
    where = (D.merchant_id == scope.merchant_id, D.mode == scope.mode)
    stmt = select(D).where(*where)
    if filters.status is not None:
        stmt = stmt.where(D.status == filters.status)
    if filters.event_type is not None:
        stmt = stmt.where(D.event_type == filters.event_type)
    if filters.transaction_id is not None:
        stmt = stmt.where(D.payment_id == filters.transaction_id)
    if filters.endpoint_id is not None:
        stmt = stmt.where(D.endpoint_id == filters.endpoint_id)
    return await newest_first(session, stmt, D, scope=where, limit=limit,
                              starting_after=starting_after, noun="delivery")


async def get_delivery(
    session: AsyncSession,
    *,
    scope: TenantScope,
    delivery_id: str,
    for_update: bool = False,
) -> WebhookDelivery:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.merchant_id == scope.merchant_id,
        WebhookDelivery.mode == scope.mode,
    )
    if for_update:
        stmt = stmt.with_for_update()
    delivery = await session.scalar(stmt)
    if delivery is None:
        raise NotFound("Webhook delivery not found.")
    return delivery


async def attempts_of(session: AsyncSession, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    stmt = (
        select(WebhookAttempt)
        .where(
            WebhookAttempt.delivery_id == delivery.id,
            WebhookAttempt.merchant_id == delivery.merchant_id,
        )
        .order_by(WebhookAttempt.number)
    )
    return list(await session.scalars(stmt))


async def retry_delivery(
    session: AsyncSession, *, scope: TenantScope, delivery_id: str
) -> WebhookDelivery:
    """Make a delivery due now (any status but cancelled); the worker sends it.

    A dead-lettered delivery gets exactly one more attempt: if that fails too it is dead
    again.  A delivery being attempted at this moment is a 409 (it is already being sent).
    """
    delivery = await get_delivery(
        session, scope=scope, delivery_id=delivery_id, for_update=True
    )
    now = utcnow()
    # Lasting reasons first: they tell the operator what to do, whereas an attempt in
    # flight is over within the lease (and answering that instead would depend on timing).
    if delivery.status == CANCELLED:
        raise InvalidState("The delivery's endpoint was deleted; it cannot be sent again.")
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise InvalidState("The delivery's endpoint was deleted; it cannot be sent again.")
    if not endpoint.enabled:
        raise InvalidState("The endpoint is disabled: enable it, then send the delivery again.")
    if delivery.locked_until is not None and delivery.locked_until > now:
        raise InvalidState("The delivery is being attempted right now.")
    delivery.status = PENDING if delivery.attempts == 0 else RETRYING
    delivery.next_attempt_at = now
    delivery.locked_until = None
    delivery.lease_token = None
    delivery.updated_at = now
    await session.flush()
    return delivery


def serialize_attempt(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": iso(attempt.started_at),
        "duration_ms": attempt.duration_ms,
        "success": attempt.success,
        "status_code": attempt.status_code,
        "response_body": attempt.response_body,
        "error": attempt.error,
    }


def serialize_delivery(
    delivery: WebhookDelivery, attempts: Sequence[WebhookAttempt] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "transaction_id": delivery.payment_id,
        "mode": delivery.mode,
        "status": delivery.status,
        "attempt_count": delivery.attempts,
        "next_attempt_at": (
            iso(delivery.next_attempt_at) if delivery.status in OPEN_STATUSES else None
        ),
        "last_attempt_at": iso(delivery.last_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": iso(delivery.delivered_at),
        "created_at": iso(delivery.created_at),
    }
    if attempts is not None:
        out["payload"] = orjson.loads(delivery.body)
        out["attempts"] = [serialize_attempt(a) for a in attempts]
    return out

