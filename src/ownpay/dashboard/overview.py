"""The overview's figures for one brand and mode: volume and count by currency for today,
7 and 30 days, the success rate, what waits for an operator, failing webhook endpoints,
and a 30-day volume chart (server-rendered SVG)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import money
from ownpay.db import utcnow
from ownpay.payments import states
from ownpay.payments.attention import ATTENTION
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.tenancy import TenantScope
from ownpay.webhooks.models import DEAD, RETRYING, WebhookDelivery, WebhookEndpoint

PAID = (states.COMPLETED, states.PARTIALLY_REFUNDED, states.REFUNDED)
SETTLED_UNPAID = (states.FAILED, states.CANCELLED, states.EXPIRED)
WINDOWS = (("Today", 0), ("7 days", 7), ("30 days", 30))


@dataclass
class Overview:
    volume: list[dict[str, Any]] = field(default_factory=list)  # per window: by currency
    success_rate: str = "—"
    awaiting_verification: int = 0
    processing: int = 0
    attention: int = 0
    failing_endpoints: int = 0
    chart: dict[str, Any] | None = None


def _since(now: datetime, days: int) -> datetime:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(days=days)


async def build(session: AsyncSession, scope: TenantScope) -> Overview:
    now = utcnow()
    tenant = (PaymentIntent.merchant_id == scope.merchant_id, PaymentIntent.mode == scope.mode)
    out = Overview()
    for label, days in WINDOWS:
        rows = await session.execute(
            select(PaymentIntent.currency, func.count(), func.sum(PaymentIntent.amount_minor))
            .where(*tenant, PaymentIntent.status.in_(PAID),
                   PaymentIntent.paid_at >= _since(now, days))
            .group_by(PaymentIntent.currency).order_by(PaymentIntent.currency))
        out.volume.append({"label": label, "by_currency": [
            {"currency": c, "count": n, "amount": money.format_amount(int(s or 0), c)}
            for c, n, s in rows]})
    month = _since(now, 30)
    counts = dict((await session.execute(
        select(PaymentIntent.status, func.count()).where(*tenant, PaymentIntent.created_at >= month)
        .group_by(PaymentIntent.status))).all())
    paid = sum(counts.get(s, 0) for s in PAID)
    settled = paid + sum(counts.get(s, 0) for s in SETTLED_UNPAID)
    if settled:
        out.success_rate = f"{100 * paid / settled:.1f} %"
    open_counts = dict((await session.execute(
        select(PaymentIntent.status, func.count()).where(
            *tenant, PaymentIntent.status.in_((states.AWAITING_VERIFICATION, states.PROCESSING)))
        .group_by(PaymentIntent.status))).all())
    out.awaiting_verification = open_counts.get(states.AWAITING_VERIFICATION, 0)
    out.processing = open_counts.get(states.PROCESSING, 0)
    out.attention = int(await session.scalar(
        select(func.count()).select_from(PaymentStatusHistory)
        .join(PaymentIntent, PaymentIntent.id == PaymentStatusHistory.payment_id)
        .where(*tenant, PaymentStatusHistory.created_at >= month,
               PaymentStatusHistory.reason.like(f"{ATTENTION}%"))) or 0)
    out.failing_endpoints = int(await session.scalar(
        select(func.count(func.distinct(WebhookDelivery.endpoint_id)))
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.merchant_id == scope.merchant_id,
               WebhookDelivery.mode == scope.mode, WebhookEndpoint.deleted_at.is_(None),
               WebhookDelivery.status.in_((DEAD, RETRYING)),
               WebhookDelivery.event_created_at >= _since(now, 7))) or 0)
    out.chart = await _chart(session, tenant, now)
    return out


async def _chart(session: AsyncSession, tenant: tuple[Any, ...],
                 now: datetime) -> dict[str, Any] | None:
    """Daily paid volume over 30 days in the brand's busiest currency, as SVG bars."""
    since = _since(now, 29)
    top = (await session.execute(
        select(PaymentIntent.currency, func.sum(PaymentIntent.amount_minor).label("v"))
        .where(*tenant, PaymentIntent.status.in_(PAID), PaymentIntent.paid_at >= since)
        .group_by(PaymentIntent.currency).order_by(func.sum(PaymentIntent.amount_minor).desc())
        .limit(1))).first()
    if top is None:
        return None
    currency = top[0]
    day = func.date(PaymentIntent.paid_at)
    per_day: dict[str, int] = {
        str(d): int(v or 0) for d, v in await session.execute(
            select(day, func.sum(PaymentIntent.amount_minor))
            .where(*tenant, PaymentIntent.status.in_(PAID), PaymentIntent.currency == currency,
                   PaymentIntent.paid_at >= since)
            .group_by(day))}
    days = [since.date() + timedelta(days=i) for i in range(30)]
    values = [per_day.get(d.isoformat(), 0) for d in days]
    peak = max(values) or 1
    width, height, gap = 600, 160, 4
    bar = (width - gap * 29) / 30
    bars = []
    for i, (d, v) in enumerate(zip(days, values, strict=True)):
        h = round(v / peak * (height - 20), 1)
        bars.append({"x": round(i * (bar + gap), 1), "y": round(height - h, 1), "w": round(bar, 1),
                     "h": h, "label": f"{_day(d)}: {money.format_amount(v, currency)}"})
    return {"currency": currency, "bars": bars, "width": width, "height": height,
            "peak": money.format_amount(peak, currency),
            "total": money.format_amount(sum(values), currency),
            "first": _day(days[0]), "last": _day(days[-1])}


def _day(d: date) -> str:
    return d.strftime("%d %b")
