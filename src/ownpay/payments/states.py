"""The payment state machine: which status may follow which.

    pending -> processing -> completed | failed
    pending -> completed | failed                 (a synchronous provider answer)
    pending -> awaiting_verification -> completed | failed   (manual / offline)
    pending -> cancelled                          (customer or merchant)
    pending -> expired                            (past expires_at)
    failed  -> pending                            (customer retries while still payable)
"""

from __future__ import annotations

PENDING = "pending"
PROCESSING = "processing"
AWAITING_VERIFICATION = "awaiting_verification"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
EXPIRED = "expired"

STATUSES = (PENDING, PROCESSING, AWAITING_VERIFICATION, COMPLETED, FAILED, CANCELLED, EXPIRED)

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
    }
)

# Statuses in which money has been (or may be) received: never expire these.
PAID = frozenset({COMPLETED})
# Statuses after which a customer can do nothing more on the checkout page.
FINAL = frozenset({COMPLETED, CANCELLED, EXPIRED})


def is_allowed(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in ALLOWED
