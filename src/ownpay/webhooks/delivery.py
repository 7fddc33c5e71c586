"""Durable, at-least-once webhook delivery: outbox fan-out, leases, signed POSTs, retries.

The worker calls :func:`dispatch_events` and :func:`deliver_due` on every tick.

**Fan-out.**  Each undispatched outbox event becomes one ``webhook_deliveries`` row per
enabled endpoint of the same merchant and mode that subscribes to its type, in the same
transaction that sets ``events.dispatched_at``.  The JSON body is serialised here, once, and
every attempt sends exactly those bytes.  On PostgreSQL one worker at a time fans out (a
transaction-scoped advisory lock; the others skip the step), so the events of one payment
always become deliveries together and in order; SQLite serialises writers anyway.

**Leases.**  A worker claims due rows in a short transaction (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so several workers never claim the same row) by setting ``locked_until`` = now +
lease and a fresh ``lease_token``, and commits.  Then it POSTs, outside any transaction.  A
second transaction records the outcome only if the row still carries that token.  If the
worker dies mid-request the lease runs out and another worker (or the restarted one) claims
the row again and resends it with the same delivery id: a duplicate at worst, never a loss.
The lease is at least the request timeout plus 5 s, so a live worker is never overtaken.

**Order.**  Deliveries of one payment's events to one endpoint go out in event order: a row
is not claimable while an earlier row for the same endpoint and payment is ``pending`` or
``retrying`` (including while it is in flight).  A ``dead`` earlier row does not block: once
the retry schedule is exhausted the later events flow again (a hand replay of the dead one
then arrives after them; receivers should rely on ``status`` and the timestamps).

**Concurrency.**  Up to ``webhook_concurrency`` requests are in flight per worker, at most
``webhook_per_endpoint`` of them to one endpoint: an endpoint at its limit is left out of the
next claim, so a slow receiver holds only its own slots while the others keep flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets as random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import orjson
import structlog
from sqlalchemy import Table, Text, and_, exists, func, insert, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased

from ownpay import jsoncodec, metrics
from ownpay.config import Settings
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.outbox.models import OutboxEvent
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso_required
from ownpay.webhooks import service, ssrf
from ownpay.webhooks.models import (
    DEAD,
    OPEN_STATUSES,
    PENDING,
    RETRYING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from ownpay.webhooks.signing import sign_headers

log = structlog.get_logger("ownpay.webhooks")

RESPONSE_PREFIX = 2048  # bytes of the receiver's answer kept per attempt
FANOUT_BATCH = 500
SESSION_BUDGET = 5.0  # seconds deliver_due keeps claiming before it lets the worker loop on
CLAIM_GAP = 0.02  # seconds between claim transactions while there is a backlog
_FANOUT_LOCK = 0x0F7E_B400  # PostgreSQL advisory lock key: "one fan-out at a time"


# ---- fan-out -------------------------------------------------------------------------------


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
                    WebhookEndpoint.enabled.is_(True),
                    WebhookEndpoint.deleted_at.is_(None),
                )
                .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
            )
        )
        by_scope: dict[tuple[int, str], list[WebhookEndpoint]] = {}
        for endpoint in endpoints:
            by_scope.setdefault((endpoint.merchant_id, endpoint.mode), []).append(endpoint)
        rows: list[dict[str, Any]] = []
        failed: dict[str, str] = {}
        for event_id, merchant_id, mode, event_type, payment_id, created_at, text in events:
            targets = [
                t for t in by_scope.get((merchant_id, mode), [])
                if service.subscribed(t.events, event_type)
            ]
            if not targets:
                continue
            try:
                body = webhook_body(text)
            except Exception as exc:  # noqa: BLE001 - set this one aside, keep the queue moving
                failed[event_id] = f"{type(exc).__name__}: {exc}"[:500]
                continue
            for endpoint in targets:
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


# ---- claiming ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One leased delivery, with everything needed to send it without the database."""

    delivery_id: str
    lease_token: str
    endpoint_id: str
    merchant_id: int
    url: str
    event_type: str
    body: bytes
    attempts: int  # attempts recorded before this one
    secrets: list[str]


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
        claims = [
            Claim(
                delivery_id=row[0], lease_token=token, endpoint_id=row[4].id,
                merchant_id=row[4].merchant_id, url=row[4].url, event_type=row[1], body=row[2],
                attempts=row[3], secrets=service.active_secrets(ctx.keyring, row[4], now=now),
            )
            for row in rows
        ]
    order = {delivery_id: i for i, delivery_id in enumerate(chosen)}
    return sorted(claims, key=lambda c: order[c.delivery_id]), capped


# ---- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_body: str | None
    error: str | None

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


class ClientPool:
    """One HTTP client per destination host name.

    Connections are made to a pinned IP address, so the pool key must include the name the
    TLS certificate was checked against: a connection verified for one host is never reused
    for another host that happens to share its address.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[tuple[str, str], httpx.AsyncClient] = {}

    def get(self, scheme: str, host: str) -> httpx.AsyncClient:
        key = (scheme, host)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.webhook_timeout),
                follow_redirects=False,
                trust_env=False,  # a proxy from the environment would bypass the pinning
                # Several endpoints may share a host: allow the whole worker's concurrency.
                limits=httpx.Limits(
                    max_connections=self.settings.webhook_concurrency,
                    max_keepalive_connections=self.settings.webhook_concurrency,
                ),
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()


def _describe(exc: BaseException) -> str:
    match exc:
        case httpx.ConnectTimeout():
            return "connect timeout"
        case httpx.TimeoutException():
            return "timeout"
        case httpx.ConnectError():
            return f"connection failed: {exc}" if str(exc) else "connection failed"
        case httpx.RemoteProtocolError():
            return f"protocol error: {exc}"
        case _:
            return f"{type(exc).__name__}: {exc}"


def _decode_prefix(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL; a receiver's binary answer is kept readable.
    return raw[:RESPONSE_PREFIX].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def post_signed(
    pool: ClientPool, settings: Settings, *, url: str, body: bytes, headers: dict[str, str]
) -> AttemptResult:
    """Resolve and check the host, POST to the checked address, keep the first 2 KiB."""
    started_at = utcnow()
    t0 = time.perf_counter()
    status_code: int | None = None
    kept = bytearray()
    error: str | None = None
    try:
        async with asyncio.timeout(settings.webhook_timeout):
            target = await ssrf.resolve(url, allow_private=settings.webhooks_allow_private)
            client = pool.get(target.scheme, target.host)
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request = client.build_request(
                "POST", target.pinned_url, content=body,
                headers={**headers, "Host": target.host_header}, extensions=extensions,
            )
            response = await client.send(request, stream=True)
            try:
                status_code = response.status_code
                async for chunk in response.aiter_bytes():
                    kept.extend(chunk[: RESPONSE_PREFIX - len(kept)])
                    if len(kept) >= RESPONSE_PREFIX:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        error = f"timeout: no complete answer within {settings.webhook_timeout:g} s"
    except ssrf.UnsafeUrl as exc:
        error = f"refused: {exc}"
    except httpx.HTTPError as exc:
        error = _describe(exc)
    except OSError as exc:
        error = f"network error: {exc}"
    duration_ms = int((time.perf_counter() - t0) * 1000)
    if error is None and status_code is not None and 300 <= status_code < 400:
        error = "redirects are not followed"
    return AttemptResult(
        started_at=started_at, duration_ms=duration_ms, status_code=status_code,
        response_body=_decode_prefix(bytes(kept)) if kept or status_code is not None else None,
        error=error[:500] if error else None,
    )


async def attempt(ctx: AppContext, pool: ClientPool, claim: Claim) -> AttemptResult:
    """Sign (afresh, with the current timestamp) and send one claimed delivery."""
    headers = sign_headers(
        claim.secrets, event_type=claim.event_type, delivery_id=claim.delivery_id,
        body=claim.body, timestamp=int(time.time()),
    )
    return await post_signed(pool, ctx.settings, url=claim.url, body=claim.body, headers=headers)


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


async def _deliver_one(ctx: AppContext, pool: ClientPool, claim: Claim) -> bool:
    result = await attempt(ctx, pool, claim)
    await record(ctx, claim, result)
    return result.success


# ---- the worker step -----------------------------------------------------------------------


async def deliver_due(ctx: AppContext, *, budget: float = SESSION_BUDGET) -> int:
    """Send due deliveries, keeping up to ``webhook_concurrency`` in flight (at most
    ``webhook_per_endpoint`` per endpoint), until nothing is due or ``budget`` seconds have
    passed; then wait for the requests in flight.  Returns the attempts made.

    Freed slots are refilled in batches: while there is a backlog at most every
    ``CLAIM_GAP`` seconds (one claim transaction per completed request would make the
    database round trip the bottleneck), otherwise every ``poll`` seconds, which is also how
    often new outbox events are fanned out while requests are in flight.
    """
    settings = ctx.settings
    per_endpoint = settings.webhook_per_endpoint
    poll = max(min(settings.worker_interval, 0.25), CLAIM_GAP)
    if ctx.webhook_clients is None:
        ctx.webhook_clients = ClientPool(settings)
    pool: ClientPool = ctx.webhook_clients  # kept for the next pass; ctx.close() closes it
    in_flight: dict[asyncio.Task[bool], str] = {}
    busy: Counter[str] = Counter()
    attempts = 0
    deadline = time.monotonic() + budget
    next_fanout = time.monotonic() + poll
    last_claim = next_claim = 0.0
    backlog = True
    try:
        while True:
            now = time.monotonic()
            claiming = now < deadline
            free = settings.webhook_concurrency - len(in_flight)
            if claiming and free > 0 and now >= next_claim:
                if in_flight and now >= next_fanout:
                    try:
                        await dispatch_events(ctx)
                    except Exception as exc:  # noqa: BLE001 - the claimed ones still go out
                        log.error("webhook_fanout_failed", error=str(exc))
                    next_fanout = time.monotonic() + poll
                claims, backlog = await _claim_round(ctx, free, busy, per_endpoint)
                for claim in claims:
                    task = asyncio.create_task(_deliver_one(ctx, pool, claim))
                    in_flight[task] = claim.endpoint_id
                    busy[claim.endpoint_id] += 1
                last_claim = time.monotonic()
                next_claim = last_claim + (CLAIM_GAP if backlog else poll)
            if not in_flight:
                if claiming and backlog:
                    await asyncio.sleep(max(0.0, next_claim - time.monotonic()))
                    continue
                break
            timeout = max(next_claim - time.monotonic(), 0.001) if claiming else None
            done, _ = await asyncio.wait(
                in_flight, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                endpoint_id = in_flight.pop(task)
                busy[endpoint_id] -= 1
                attempts += 1
                # a freed endpoint slot, an immediate retry or the next event of the same
                # payment may be claimable now: claim again soon (batched by CLAIM_GAP)
                backlog = True
                next_claim = min(next_claim, last_claim + CLAIM_GAP)
                if task.exception() is not None:
                    log.error("webhook_delivery_failed", error=repr(task.exception()))
    finally:
        for task in in_flight:  # cancelled (shutdown): the leases expire, others resend
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)
    return attempts


async def _claim_round(
    ctx: AppContext, free: int, busy: Counter[str], per_endpoint: int
) -> tuple[list[Claim], bool]:
    """Fill ``free`` slots; an endpoint at its limit is left out and the claim repeated.
    Also returns whether more may be due right now (slots filled, or a cap left rows)."""
    claims: list[Claim] = []
    backlog = False
    for _ in range(8):  # bounded: each pass either fills slots or saturates an endpoint
        room = {endpoint: per_endpoint - n for endpoint, n in busy.items()}
        for claim in claims:
            room[claim.endpoint_id] = room.get(claim.endpoint_id, per_endpoint) - 1
        batch, capped = await _claim(
            ctx, limit=free - len(claims), room=room, default_room=per_endpoint
        )
        claims.extend(batch)
        backlog = backlog or capped
        if len(claims) >= free:
            return claims, True
        if not batch:
            break
    return claims, backlog


# ---- the test ping (the one outbound call on a request path) ------------------------------


async def send_test_ping(
    ctx: AppContext, *, scope: TenantScope, endpoint_id: str
) -> dict[str, Any]:
    """POST a signed ``test.ping`` to the endpoint now and report the receiver's answer.

    Nothing is stored and no database connection is held while the request is in flight.
    """
    now = utcnow()
    async with ctx.sessions() as session:
        endpoint = await service.get_endpoint(
            session, scope=scope, endpoint_id=endpoint_id
        )
        secrets = service.active_secrets(ctx.keyring, endpoint, now=now)
    delivery_id = service.new_delivery_id()
    body = orjson.dumps({
        "id": "evt_" + random.token_hex(12), "event": "test.ping", "endpoint_id": endpoint.id,
        "mode": scope.mode, "created_at": iso_required(now),
    })
    headers = sign_headers(secrets, event_type="test.ping", delivery_id=delivery_id, body=body,
                           timestamp=int(time.time()))
    pool = ClientPool(ctx.settings)
    try:
        result = await post_signed(pool, ctx.settings, url=endpoint.url, body=body, headers=headers)
    finally:
        await pool.aclose()
    return {
        "endpoint_id": endpoint.id,
        "delivery_id": delivery_id,
        "event": "test.ping",
        "success": result.success,
        "status_code": result.status_code,
        "duration_ms": result.duration_ms,
        "response_body": result.response_body,
        "error": result.error,
    }

