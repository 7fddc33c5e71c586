"""OpenAPI shapes of the refunds API (validation itself is in the service, so that every
bad field is reported at once and amounts stay exact Decimals)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

RefundStatus = Literal["pending", "completed", "failed"]


class RefundCreate(BaseModel):
    transaction_id: str = Field(description="The paid payment to refund.",
                                examples=["txn_9f2c3a4b5d6e7f8a"])
    amount: Decimal | str | None = Field(
        default=None,
        description="Major units, like payment amounts (at most the currency's decimals). "
        "Default: everything still refundable.", examples=[25.5])
    reason: str | None = Field(default=None, max_length=500)


class RefundOut(BaseModel):
    id: str = Field(examples=["rf_3c9a0e1b7d5f2a64"])
    transaction_id: str
    status: RefundStatus
    pending_reason: Literal["queued", "awaiting_gateway", "awaiting_operator"] | None = Field(
        description="Why a pending refund is pending: not sent yet, the gateway's answer is "
        "awaited, or an operator must confirm it (offline refunds).")
    amount: float = Field(description="Major units, as a JSON number.")
    currency: str
    reason: str | None
    gateway: str
    mode: Literal["test", "live"]
    provider_refund_id: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str
    completed_at: str | None
    failed_at: str | None


class RefundList(BaseModel):
    data: list[RefundOut]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as starting_after for the next page.")


class RefundDecision(BaseModel):
    reason: str | None = Field(default=None, max_length=500)
