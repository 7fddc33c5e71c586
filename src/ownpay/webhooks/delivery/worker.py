"""The worker's delivery step: keep up to ``webhook_concurrency`` requests in flight (at
most ``webhook_per_endpoint`` per endpoint), refilling freed slots in batches."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import structlog

from ownpay.context import AppContext
from ownpay.webhooks.delivery.fanout import dispatch_events
from ownpay.webhooks.delivery.leases import _claim, record
from ownpay.webhooks.delivery.transport import Claim, ClientPool, attempt

log = structlog.get_logger("ownpay.webhooks")

SESSION_BUDGET = 5.0  # seconds deliver_due keeps claiming before it lets the worker loop on
CLAIM_GAP = 0.02  # seconds between claim transactions while there is a backlog


async def _deliver_one(ctx: AppContext, pool: ClientPool, claim: Claim) -> bool:
    result = await attempt(ctx, pool, claim)
    await record(ctx, claim, result)
    return result.success


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
