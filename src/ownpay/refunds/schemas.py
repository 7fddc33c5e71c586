"""The refunds API's request validation and its OpenAPI shapes.

The create body is validated by hand (``validate_create``) so that every bad field is
reported at once and amounts stay exact Decimals; the Pydantic models below describe the
same contract for the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from ownpay import money
from ownpay.web.body import REASON_LIMIT, FieldErrors


@dataclass(frozen=True)
class RefundRequest:
    transaction_id: str
    amount: Decimal | None  # None: everything still refundable
    reason: str | None


def validate_create(body: dict[str, Any]) -> RefundRequest:
    """Shape checks that need no database; every bad field is reported at once."""
    errors = FieldErrors()
    errors.refuse_unknown(body, RefundCreate.model_fields)
    txn = body.get("transaction_id")
    if txn is None or (isinstance(txn, str) and not txn.strip()):
        errors.add("transaction_id", "The transaction id field is required.")
    elif not isinstance(txn, str):
        errors.add("transaction_id", "The transaction id must be a string.")
    amount: Decimal | None = None
    raw = body.get("amount")
    if raw is not None and not (isinstance(raw, str) and not raw.strip()):
        try:
            amount = money.to_decimal(raw)
            if amount <= 0:
                errors.add("amount", "The amount must be greater than 0.")
        except money.AmountError as exc:
            errors.add("amount", str(exc))
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > REASON_LIMIT):
        errors.add("reason", f"The reason must be a string of at most {REASON_LIMIT} characters.")
    errors.raise_if_any()
    assert isinstance(txn, str)  # noqa: S101 - checked above
    return RefundRequest(
        transaction_id=txn.strip(), amount=amount,
        reason=(reason.strip() or None) if isinstance(reason, str) else None,
    )

RefundStatus = Literal["pending", "completed", "failed"]


class RefundCreate(BaseModel):
    """Body of ``POST /api/v1/refunds``."""

    model_config = {"extra": "forbid"}

    transaction_id: str = Field(
        examples=["txn_9f2c3a4b5d6e7f8a"],
        description="The payment to refund; it must be `completed` or `partially_refunded`.")
    amount: Decimal | str | None = Field(
        default=None, examples=[25.5],
        description="Major units, like payment amounts (at most the currency's decimals). "
        "Default: everything still refundable.")
    reason: str | None = Field(
        default=None, max_length=500, examples=["Item arrived damaged"],
        description="Why; sent to the gateway and kept with the refund.")


class RefundOut(BaseModel):
    """A refund as it stands now."""

    id: str = Field(examples=["rf_3c9a0e1b7d5f2a64"],
                    description="OwnPay's refund id (`rf_` + 16 hex digits).")
    transaction_id: str = Field(description="The refunded payment.",
                                examples=["txn_9f2c3a4b5d6e7f8a"])
    status: RefundStatus = Field(
        description="`pending` (see `pending_reason`), `completed` (the money went back) or "
        "`failed` (nothing went back; the amount is refundable again).")
    pending_reason: Literal["queued", "awaiting_gateway", "awaiting_operator"] | None = Field(
        description="Why a pending refund is pending: not sent yet, the gateway's answer is "
        "awaited, or an operator must confirm it (offline refunds); `null` once settled.")
    amount: float = Field(description="Major units, as a JSON number.", examples=[25.5])
    currency: str = Field(description="The payment's currency (ISO 4217).", examples=["USD"])
    reason: str | None = Field(description="As given when created; `null` if none.")
    gateway: str = Field(description="The payment's gateway, which performs the refund.",
                         examples=["stripe"])
    mode: Literal["test", "live"] = Field(description="The mode of the payment (and key).")
    provider_refund_id: str | None = Field(
        description="The gateway's id of the refund, once it gave one (e.g. Stripe `re_…`).")
    failure_reason: str | None = Field(
        description="Why it failed (status `failed`); else `null`.")
    created_at: str = Field(description="ISO 8601 (UTC).", examples=["2024-06-16T09:00:00Z"])
    updated_at: str = Field(description="ISO 8601 (UTC): the last change.")
    completed_at: str | None = Field(description="ISO 8601 (UTC) once `completed`.")
    failed_at: str | None = Field(description="ISO 8601 (UTC) once `failed`.")


class RefundChange(BaseModel):
    """One entry of a refund's history."""

    from_status: RefundStatus | None = Field(
        description="The status before; `null` for the first entry (the creation).")
    to_status: RefundStatus = Field(description="The status after.")
    stage: str = Field(
        description="Where the refund stood with the gateway after the change (`queued`, "
        "`sending`, `processing`, `settled`).", examples=["settled"])
    actor: str = Field(
        description="Who: `merchant:key:<id>` (the creation), `worker:refunds`, "
        "`operator:key:<id>`, `operator:cli`, `gateway:<slug>`, …",
        examples=["operator:key:7"])
    reason: str | None = Field(
        description="Why, as the actor said it: e.g. the operator's `reason` on confirm or "
        "fail.", examples=["Cash returned at the counter"])
    at: str = Field(description="ISO 8601 (UTC).")


class RefundDetail(RefundOut):
    """A refund with its history: the answer of retrieve, confirm and fail."""

    status_history: list[RefundChange] = Field(description="Every change, oldest first.")


class RefundList(BaseModel):
    """One page of refunds."""

    data: list[RefundOut] = Field(description="Refunds, newest first.")
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(
        description="Pass as `starting_after` for the next page; `null` on the last page.")


class RefundDecision(BaseModel):
    """Optional body of ``…/confirm`` and ``…/fail``."""

    model_config = {"extra": "forbid"}

    reason: str | None = Field(
        default=None, max_length=500,
        description="Kept in the refund's `status_history` and, for `confirm`, in the "
        "payment's `status_history` beside the refund it records. `fail`: also becomes the "
        "refund's `failure_reason` (default `failed by operator`) and is sent in "
        "`refund.failed`.")
