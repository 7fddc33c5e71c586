"""The payment state machine: which status may follow which.

    pending -> processing -> completed | failed
    pending -> completed | failed                 (a synchronous provider answer)
    pending -> awaiting_verification -> completed | failed   (manual / offline)
    pending -> cancelled                          (customer or merchant)
    pending -> expired                            (past expires_at)
    failed  -> pending                            (customer retries while still payable)
    completed -> partially_refunded | refunded    (a refund completed; see refunds/flows.py)
    partially_refunded -> partially_refunded      (another partial refund: one event each)
    partially_refunded -> refunded                (the last refund exhausted the paid amount)
"""

from __future__ import annotations

PENDING = "pending"
PROCESSING = "processing"
AWAITING_VERIFICATION = "awaiting_verification"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
EXPIRED = "expired"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"

STATUSES = (
    PENDING, PROCESSING, AWAITING_VERIFICATION, COMPLETED, FAILED, CANCELLED, EXPIRED,
    PARTIALLY_REFUNDED, REFUNDED,
)

ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        (PENDING, PROCESSING),
        (PENDING, COMPLETED),
        (PENDING, FAILED),
        (PENDING, AWAITING_VERIFICATION),
        (PENDING, CANCELLED),
        (PENDING, EXPIRED),
        (PROCESSING, COMPLETED),
        (PROCESSING, FAILED),
        (AWAITING_VERIFICATION, COMPLETED),
        (AWAITING_VERIFICATION, FAILED),
        (FAILED, PENDING),
        (COMPLETED, PARTIALLY_REFUNDED),
        (COMPLETED, REFUNDED),
        (PARTIALLY_REFUNDED, PARTIALLY_REFUNDED),
        (PARTIALLY_REFUNDED, REFUNDED),
    }
)

# Statuses in which money has been (or may be) received: never expire these.
PAID = frozenset({COMPLETED, PARTIALLY_REFUNDED, REFUNDED})
# Statuses a refund may start from (money received and not all of it given back).
REFUNDABLE = frozenset({COMPLETED, PARTIALLY_REFUNDED})
# Statuses after which a customer can do nothing more on the checkout page.
FINAL = frozenset({COMPLETED, CANCELLED, EXPIRED, PARTIALLY_REFUNDED, REFUNDED})


def is_allowed(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in ALLOWED
