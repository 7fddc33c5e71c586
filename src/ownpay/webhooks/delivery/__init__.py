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

from ownpay.webhooks.delivery.fanout import FANOUT_BATCH, dispatch_events, webhook_body
from ownpay.webhooks.delivery.leases import claim_due, lease_seconds, record
from ownpay.webhooks.delivery.ping import send_test_ping
from ownpay.webhooks.delivery.transport import (
    RESPONSE_PREFIX,
    AttemptResult,
    Claim,
    ClientPool,
    attempt,
    post_signed,
)
from ownpay.webhooks.delivery.worker import CLAIM_GAP, SESSION_BUDGET, deliver_due

__all__ = [
    "CLAIM_GAP", "FANOUT_BATCH", "RESPONSE_PREFIX", "SESSION_BUDGET", "AttemptResult", "Claim",
    "ClientPool", "attempt", "claim_due", "deliver_due", "dispatch_events", "lease_seconds",
    "post_signed", "record", "send_test_ping", "webhook_body",
]
