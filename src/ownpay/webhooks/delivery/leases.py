"""Leases: a worker claims due deliveries in a short transaction (``FOR UPDATE SKIP LOCKED``
on PostgreSQL), sends them outside any transaction, and records each outcome only if the
row still carries its lease token."""

from __future__ import annotations

import secrets as random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Table, and_, exists, insert, or_, select, update
from sqlalchemy.orm import aliased

from ownpay import metrics
from ownpay.config import Settings
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.webhooks import callbacks
from ownpay.webhooks.delivery.transport import AttemptResult, Claim
from ownpay.webhooks.models import (
    DEAD,
    OPEN_STATUSES,
    RETRYING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = structlog.get_logger("ownpay.webhooks")


def lease_seconds(settings: Settings) -> float:
    """Never shorter than one request: a live worker must not be overtaken by another."""
    return max(float(settings.webhook_lease), settings.webhook_timeout + 5.0)


def _claimable(now: datetime) -> list[Any]:
    d = WebhookDelivery
    earlier = aliased(WebhookDelivery)
    blocked_by_earlier = exists().where(
        earlier.endpoint_id == d.endpoint_id,
        earlier.payment_id == d.payment_id,
        earlier.status.in_(OPEN_STATUSES),
        or_(
            earlier.event_created_at < d.event_created_at,
            and_(earlier.event_created_at == d.event_created_at, earlier.event_id < d.event_id),
        ),
    )
    return [
        d.status.in_(OPEN_STATUSES),
        d.next_attempt_at <= now,
        or_(d.locked_until.is_(None), d.locked_until <= now),
        WebhookEndpoint.enabled.is_(True),
        WebhookEndpoint.deleted_at.is_(None),
        ~blocked_by_earlier,
    ]


async def claim_due(
    ctx: AppContext, *, limit: int, room: dict[str, int] | None = None, default_room: int = 0
) -> list[Claim]:
    """Lease up to ``limit`` due deliveries; ``room`` caps how many per endpoint may be taken
    (endpoints absent from it get ``default_room``, 0 = no cap)."""
    claims, _capped = await _claim(ctx, limit=limit, room=room or {}, default_room=default_room)
    return claims


async def _claim(
    ctx: AppContext, *, limit: int, room: dict[str, int], default_room: int
) -> tuple[list[Claim], bool]:
    """``claim_due``, also saying whether an endpoint's cap left due rows behind."""
    full = [endpoint for endpoint, free in room.items() if free <= 0]
    now = utcnow()
    token = random.token_hex(16)
    d = WebhookDelivery
    async with ctx.sessions() as session, session.begin():
        stmt = (
            select(d.id, d.endpoint_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
            .where(*_claimable(now))
            .order_by(d.next_attempt_at, d.event_created_at, d.id)
            .limit(limit)
            .with_for_update(of=d, skip_locked=True)
        )
        if full:
            stmt = stmt.where(d.endpoint_id.not_in(full))
        candidates = (await session.execute(stmt)).all()
        taken: Counter[str] = Counter()
        chosen: list[str] = []
        for delivery_id, endpoint_id in candidates:
            cap = room.get(endpoint_id, default_room)
            if cap and taken[endpoint_id] >= cap:
                continue
            taken[endpoint_id] += 1
            chosen.append(delivery_id)
        capped = len(chosen) < len(candidates)
        if not chosen:
            return [], capped
        until = now + timedelta(seconds=lease_seconds(ctx.settings))
        await session.execute(
            update(d).where(d.id.in_(chosen)).values(locked_until=until, lease_token=token)
        )
        rows = (
            await session.execute(
                select(d.id, d.event_type, d.body, d.attempts, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
                .where(d.id.in_(chosen))
            )
        ).all()
        secrets = callbacks.SecretsForClaims(session, ctx.keyring, now)
        claims = [
            Claim(
                delivery_id=row[0], lease_token=token, endpoint_id=row[4].id,
                merchant_id=row[4].merchant_id, url=row[4].url, event_type=row[1], body=row[2],
                attempts=row[3], secrets=await secrets.of(row[4]), scheme=row[4].scheme,
            )
            for row in rows
        ]
    order = {delivery_id: i for i, delivery_id in enumerate(chosen)}
    return sorted(claims, key=lambda c: order[c.delivery_id]), capped


async def record(ctx: AppContext, claim: Claim, result: AttemptResult) -> bool:
    """Store the outcome if the lease is still ours; False if another worker took over."""
    number = claim.attempts + 1
    now = utcnow()
    values: dict[str, Any] = {
        "attempts": number, "last_attempt_at": result.started_at,
        "last_status_code": result.status_code, "last_error": result.error,
        "locked_until": None, "lease_token": None, "updated_at": now,
    }
    schedule = ctx.settings.webhook_retry_schedule
    if result.success:
        values.update(status=SUCCEEDED, delivered_at=now)
    elif number <= len(schedule):
        delay = timedelta(seconds=schedule[number - 1])
        values.update(status=RETRYING, next_attempt_at=now + delay)
    else:
        values.update(status=DEAD)
    d = cast(Table, WebhookDelivery.__table__)
    # Core statements on a plain connection: this runs once per attempt, and the ORM unit
    # of work would cost more CPU than the HTTP request itself.
    async with ctx.engine.begin() as conn:
        moved = await conn.execute(
            update(d).where(d.c.id == claim.delivery_id, d.c.lease_token == claim.lease_token)
            .values(**values)
        )
        if moved.rowcount != 1:
            log.warning("webhook_lease_lost", delivery_id=claim.delivery_id)
            return False
        await conn.execute(insert(cast(Table, WebhookAttempt.__table__)).values(
            delivery_id=claim.delivery_id, merchant_id=claim.merchant_id, number=number,
            started_at=result.started_at, duration_ms=result.duration_ms, success=result.success,
            status_code=result.status_code, response_body=result.response_body,
            error=result.error,
        ))
    metrics.WEBHOOK_ATTEMPTS.labels(outcome=values["status"]).inc()
    metrics.WEBHOOK_LATENCY.observe(result.duration_ms / 1000)
    log.info(
        "webhook_attempt", delivery_id=claim.delivery_id, endpoint_id=claim.endpoint_id,
        event_type=claim.event_type, attempt=number, status_code=result.status_code,
        duration_ms=result.duration_ms, outcome=values["status"], error=result.error,
    )
    return True
