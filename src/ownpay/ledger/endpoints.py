"""``/api/v1/ledger/balances`` (scope ``read``) and ``/api/v1/fee-rules`` (scope ``admin``).

Scoped to the API key's merchant and mode like everything else."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from ownpay.errors import ErrorResponses, json_response
from ownpay.ledger import fees, service
from ownpay.payments.endpoints import Admin, Reader, Session, read_json_body
from ownpay.payments.service import parse_json_object

router = APIRouter()


class AccountBalance(BaseModel):
    type: Literal["asset", "liability", "revenue", "contra-liability", "unknown"]
    normal_balance: Literal["debit", "credit"]
    debits: float
    credits: float
    balance: float = Field(description="On the account's normal side, major units.")


class CurrencyBalances(BaseModel):
    currency: str
    accounts: dict[str, AccountBalance] = Field(
        description="gateway_clearing, merchant_payable, fee_income, refunds")
    merchant_net_payable: float = Field(
        description="merchant_payable less refunds: what the merchant is owed now.")
    total_debits: float
    total_credits: float
    balanced: bool


class LedgerBalances(BaseModel):
    data: list[CurrencyBalances]


class FeeRuleIn(BaseModel):
    gateway: str = Field(examples=["sandbox"])
    currency: str | None = Field(
        default=None, description="ISO code; omit for a percentage-only rule for any currency.")
    flat: float | str | None = Field(default=None, description="Major units of `currency`.",
                                     examples=[0.30])
    percent: float | str | None = Field(default=None, description="e.g. 2.9 (at most 4 decimals).",
                                        examples=[2.9])
    min: float | str | None = Field(default=None, description="Minimum fee, major units.")
    max: float | str | None = Field(default=None, description="Maximum fee, major units.")


class FeeRuleOut(BaseModel):
    gateway: str
    mode: Literal["test", "live"]
    currency: str | None
    flat: float
    percent: str
    min: float | None
    max: float | None
    updated_at: str


class FeeRuleList(BaseModel):
    data: list[FeeRuleOut]


@router.get(
    "/api/v1/ledger/balances", tags=["Ledger"], summary="Ledger balances per currency and account",
    response_model=LedgerBalances, responses=ErrorResponses(401, 403),
)
async def ledger_balances(principal: Reader, session: Session) -> Response:
    """Every account's debits, credits and balance for the key's merchant and mode."""
    data = await service.balances(session, merchant_id=principal.merchant_id, mode=principal.mode)
    return json_response(200, {"data": data})


@router.get(
    "/api/v1/fee-rules", tags=["Ledger"], summary="List fee rules", response_model=FeeRuleList,
    responses=ErrorResponses(401, 403),
)
async def list_fee_rules(principal: Admin, session: Session) -> Response:
    rules = await fees.list_rules(session, merchant_id=principal.merchant_id, mode=principal.mode)
    return json_response(200, {"data": [fees.serialize_rule(r) for r in rules]})


@router.put(
    "/api/v1/fee-rules", tags=["Ledger"], summary="Create or replace a fee rule",
    response_model=FeeRuleOut, responses=ErrorResponses(400, 401, 403, 413, 415),
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": FeeRuleIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}},
)
async def put_fee_rule(request: Request, principal: Admin, session: Session) -> Response:
    """The rule for (gateway, currency) in the key's mode: `flat` + `percent` of the amount
    (percentage rounded half up to the minor unit), then `min`/`max`, never more than the
    amount. Applies to payments that complete from now on."""
    body: dict[str, Any] = parse_json_object(await read_json_body(request))
    rule = await fees.set_rule(session, merchant_id=principal.merchant_id, mode=principal.mode,
                               rule=fees.validate_rule(body))
    return json_response(200, fees.serialize_rule(rule))
