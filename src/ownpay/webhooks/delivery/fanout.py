"""Fan-out: each undispatched outbox event becomes one delivery per subscribed endpoint of its
merchant and mode -- and one for its payment's own callback endpoint, if it has one -- in the
transaction that marks the event dispatched; the body every attempt sends is serialised
here, once, in the endpoint's scheme (``ownpay``: the event as stored; ``ownpay-legacy``:
the flat body of OwnPay's merchant API; ``uddoktapay`` / ``piprapay``: those APIs' verify
answer -- ``outbox/payloads.py`` ``PAYMENT_BODIES``)."""

from __future__ import annotations

import json
from typing import Any

import structlog
from sqlalchemy import Text, func, insert, select, update
from sqlalchemy import cast as sql_cast

from ownpay import jsoncodec, metrics
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.outbox.models import OutboxEvent
from ownpay.outbox.payloads import PAYMENT_BODIES
from ownpay.payments.models import PaymentIntent
from ownpay.webhooks import service
from ownpay.webhooks.models import PENDING, WebhookDelivery, WebhookEndpoint
from ownpay.webhooks.signing import OWNPAY

log = structlog.get_logger("ownpay.webhooks")

FANOUT_BATCH = 500
_FANOUT_LOCK = 0x0F7E_B400  # PostgreSQL advisory lock key: "one fan-out at a time"


async def dispatch_events(ctx: AppContext, *, limit: int = FANOUT_BATCH) -> int:
    """Fan undispatched outbox events out into deliveries; returns the events handled.

    Each event is turned into its webhook body on its own: one that cannot be (a payload
    stored before the JSON reader was strict, a bug) is set aside -- ``dispatched_at`` set,
    ``dispatch_error`` saying why, logged and counted -- and the rest of the batch goes
    on, so no single event can stall every merchant's webhooks."""
    now = utcnow()
    e = OutboxEvent
    async with ctx.sessions() as session, session.begin():
        if not ctx.settings.is_sqlite:
            got = await session.scalar(select(func.pg_try_advisory_xact_lock(_FANOUT_LOCK)))
            if not got:
                return 0  # another worker is fanning out right now
        # The payload as its stored text: decoded here, event by event, so one row that
        # does not decode cannot fail the query for the whole batch.
        events = (
            await session.execute(
                select(e.id, e.merchant_id, e.mode, e.type, e.payment_id, e.created_at,
                       sql_cast(e.payload, Text))
                .where(e.dispatched_at.is_(None))
                .order_by(e.created_at, e.id)
                .limit(limit)
            )
        ).all()
        if not events:
            return 0
        merchants = {event.merchant_id for event in events}
        endpoints = list(
            await session.scalars(
                select(WebhookEndpoint)
                .where(
                    WebhookEndpoint.merchant_id.in_(merchants),
                    WebhookEndpoint.payment_id.is_(None),
                    WebhookEndpoint.enabled.is_(True),
                    WebhookEndpoint.deleted_at.is_(None),
                )
                .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
            )
        )
        by_scope: dict[tuple[int, str], list[WebhookEndpoint]] = {}
        for endpoint in endpoints:
            by_scope.setdefault((endpoint.merchant_id, endpoint.mode), []).append(endpoint)
        payment_ids = {event.payment_id for event in events if event.payment_id}
        by_payment: dict[str, list[WebhookEndpoint]] = {}
        if payment_ids:
            for endpoint in await session.scalars(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.payment_id.in_(payment_ids),
                    WebhookEndpoint.enabled.is_(True),
                    WebhookEndpoint.deleted_at.is_(None),
                )
            ):
                assert endpoint.payment_id is not None  # noqa: S101 - selected on it
                by_payment.setdefault(endpoint.payment_id, []).append(endpoint)
        payments = await _legacy_payments(session, by_scope, by_payment, events)
        rows: list[dict[str, Any]] = []
        failed: dict[str, str] = {}
        for event_id, merchant_id, mode, event_type, payment_id, created_at, text in events:
            own = by_payment.get(payment_id or "", [])
            targets = [
                t for t in by_scope.get((merchant_id, mode), []) + own
                if service.subscribed(t.events, event_type)
                and t.merchant_id == merchant_id and t.mode == mode
            ]
            if not targets:
                continue
            try:
                bodies = _bodies(text, targets, payments.get(payment_id or ""), created_at)
            except Exception as exc:  # noqa: BLE001 - set this one aside, keep the queue moving
                failed[event_id] = f"{type(exc).__name__}: {exc}"[:500]
                continue
            for endpoint in targets:
                body = bodies.get(endpoint.scheme)
                if body is None:
                    continue  # an event this endpoint's scheme does not carry
                rows.append({
                    "id": service.new_delivery_id(), "merchant_id": merchant_id,
                    "mode": mode, "endpoint_id": endpoint.id, "event_id": event_id,
                    "event_type": event_type, "payment_id": payment_id,
                    "event_created_at": created_at, "body": body, "status": PENDING,
                    "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now,
                })
        if rows:
            await session.execute(insert(WebhookDelivery), rows)
        await session.execute(
            update(e).where(e.id.in_([event.id for event in events])).values(dispatched_at=now)
        )
        for event_id, error in failed.items():
            await session.execute(update(e).where(e.id == event_id).values(dispatch_error=error))
    for event_id, error in failed.items():
        log.error("outbox_event_unsendable", event_id=event_id, error=error)
        metrics.OUTBOX_EVENTS_FAILED.inc()
    if rows:
        log.debug("webhook_fanout", events=len(events), deliveries=len(rows))
    return len(events)


async def _legacy_payments(
    session: Any, by_scope: dict[tuple[int, str], list[WebhookEndpoint]],
    by_payment: dict[str, list[WebhookEndpoint]], events: Any,
) -> dict[str, PaymentIntent]:
    """The payments whose events go to an endpoint whose scheme builds the body from the
    payment as well as the event (``PAYMENT_BODIES``), in one query."""
    legacy_scopes = {scope for scope, targets in by_scope.items()
                     if any(t.scheme in PAYMENT_BODIES for t in targets)}
    wanted = {
        event.payment_id for event in events if event.payment_id and (
            (event.merchant_id, event.mode) in legacy_scopes
            or any(t.scheme in PAYMENT_BODIES for t in by_payment.get(event.payment_id, [])))
    }
    if not wanted:
        return {}
    found = await session.scalars(select(PaymentIntent).where(PaymentIntent.id.in_(wanted)))
    return {payment.id: payment for payment in found}


def _bodies(
    text: str | None, targets: list[WebhookEndpoint], payment: PaymentIntent | None,
    created_at: Any,
) -> dict[str, bytes | None]:
    """The event's body in each scheme its targets use (None: not sent in that scheme)."""
    bodies: dict[str, bytes | None] = {}
    schemes = {target.scheme for target in targets}
    built = schemes & set(PAYMENT_BODIES)
    if built:
        event = json.loads(text) if text is not None else None
        for scheme in built:
            body = (PAYMENT_BODIES[scheme](event, payment, at=created_at)
                    if isinstance(event, dict) and payment is not None else None)
            bodies[scheme] = jsoncodec.dumps(body) if body is not None else None
    if schemes - built:
        bodies[OWNPAY] = webhook_body(text)
    return bodies


def webhook_body(stored: str | None) -> bytes:
    """The exact bytes every attempt of a delivery sends, from the payload's stored JSON.

    The standard library reads what the JSON column wrote (it wrote it); ``jsoncodec.dumps``
    writes compact JSON, making writable what orjson alone would refuse."""
    if stored is None:
        raise ValueError("the event has no payload")
    payload = json.loads(stored)
    if not isinstance(payload, dict):
        raise ValueError("the event payload is not an object")
    return jsoncodec.dumps(payload)
