"""The refund state machine: which (status, stage) may follow which.

``status`` is the public lifecycle; ``stage`` says where a pending refund is in talking to
the gateway (see ``models.py``)::

    created            -> pending/queued       (reserved on the payment, not sent)
                       -> pending/processing   (made at the provider, booked by us)
    pending/queued     -> pending/sending      (claimed: whoever wins the claim sends it)
    pending/sending    -> pending/queued       (nothing was sent: the gateway was not reachable)
    pending/sending    -> pending/processing   (the gateway accepted it, settles it later)
    pending/sending    -> completed | failed/settled
    pending/processing -> completed | failed/settled

Every move is made by ``steps.transition`` (compare-and-set on the current status and
stage, plus a ``refund_status_history`` row), as payments do.
"""

from __future__ import annotations

PENDING = "pending"
COMPLETED = "completed"
FAILED = "failed"
STATUSES = (PENDING, COMPLETED, FAILED)

QUEUED = "queued"
SENDING = "sending"
PROCESSING = "processing"
SETTLED = "settled"
STAGES = (QUEUED, SENDING, PROCESSING, SETTLED)

State = tuple[str, str]  # (status, stage)

ALLOWED: frozenset[tuple[State, State]] = frozenset({
    ((PENDING, QUEUED), (PENDING, SENDING)),
    ((PENDING, SENDING), (PENDING, QUEUED)),
    ((PENDING, SENDING), (PENDING, PROCESSING)),
    ((PENDING, SENDING), (COMPLETED, SETTLED)),
    ((PENDING, SENDING), (FAILED, SETTLED)),
    ((PENDING, PROCESSING), (COMPLETED, SETTLED)),
    ((PENDING, PROCESSING), (FAILED, SETTLED)),
})
# Where a refund may start: ours (reserved, not sent) or one booked from the provider.
INITIAL: frozenset[State] = frozenset({(PENDING, QUEUED), (PENDING, PROCESSING)})


def is_allowed(from_state: State, to_state: State) -> bool:
    return (from_state, to_state) in ALLOWED
