"""How a refund is shown (the API and CLI shape) and why a pending one waits."""

from __future__ import annotations

from typing import Any

from ownpay import money
from ownpay.gateways import registry
from ownpay.gateways.base import Gateway
from ownpay.refunds.models import Refund, RefundStatusHistory
from ownpay.refunds.states import PENDING, PROCESSING, QUEUED, SENDING
from ownpay.timefmt import iso


def awaiting_operator(refund: Refund, adapter: Gateway | None) -> bool:
    """Pending on a decision only a person can make (offline refund, or an outcome that the
    gateway can neither report nor safely repeat)."""
    if refund.status != PENDING or refund.stage == QUEUED:
        return False
    if adapter is None:
        return True
    if refund.stage == PROCESSING:
        return not adapter.supports_refund_query
    return (
        refund.stage == SENDING
        and refund.next_check_at is None
        and not adapter.supports_refund_query
        and not adapter.idempotent_refunds
    )


def pending_reason(refund: Refund) -> str | None:
    if refund.status != PENDING:
        return None
    if refund.stage == QUEUED:
        return "queued"
    if awaiting_operator(refund, registry.get(refund.gateway)):
        return "awaiting_operator"
    return "awaiting_gateway"


def serialize_refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "transaction_id": refund.payment_id,
        "status": refund.status,
        "pending_reason": pending_reason(refund),
        "amount": money.json_number(refund.amount_minor, refund.currency),
        "currency": refund.currency,
        "reason": refund.reason,
        "gateway": refund.gateway,
        "mode": refund.mode,
        "provider_refund_id": refund.provider_refund_id,
        "failure_reason": refund.failure_reason,
        "created_at": iso(refund.created_at),
        "updated_at": iso(refund.updated_at),
        "completed_at": iso(refund.completed_at),
        "failed_at": iso(refund.failed_at),
    }


def serialize_refund_detail(refund: Refund, rows: list[RefundStatusHistory]) -> dict[str, Any]:
    """The refund with its history (retrieve, confirm, fail, the CLI's decisions)."""
    return {**serialize_refund(refund), "status_history": [
        {"from_status": r.from_status, "to_status": r.to_status, "stage": r.to_stage,
         "actor": r.actor, "reason": r.reason, "at": iso(r.created_at)}
        for r in rows
    ]}
