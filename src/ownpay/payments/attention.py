"""Money a provider holds that OwnPay could not book or confirm: counted for operators
(``ownpay_payments_attention_total``, docs/operations.md) and marked ``ATTENTION:`` in the
status history or the provider event's outcome."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import metrics

ATTENTION = "ATTENTION: "

PAYMENTS_NEEDING_ATTENTION = Counter(
    "ownpay_payments_attention_total",
    "Payments an operator must look at: paid after expiry, expired unconfirmed, mismatches",
    ["gateway", "kind"],
)


def flag_for_operator(session: AsyncSession | None, *, gateway: str, kind: str) -> None:
    """Count a payment that needs an operator (after the commit when a session is given)."""
    counter = PAYMENTS_NEEDING_ATTENTION.labels(gateway=gateway, kind=kind)
    if session is None:
        counter.inc()
    else:
        metrics.after_commit(session, counter.inc)
