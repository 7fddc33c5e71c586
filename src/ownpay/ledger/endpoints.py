"""``/api/v1/ledger/balances`` (scope ``read``) and ``/api/v1/fee-rules`` (scope ``admin``:
list, set, remove).

Scoped to the API key's merchant and mode like everything else."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ownpay.errors import NotFound, json_response
from ownpay.ledger import fees, service
from ownpay.ledger.schemas import FeeRuleIn, FeeRuleList, FeeRuleOut, LedgerBalances
from ownpay.web.body import json_object
from ownpay.web.deps import Admin, Reader, Session, audit_api
from ownpay.web.openapi import (
    JSON_BODY_ERRORS,
    ErrorResponses,
    not_found_example,
    validation_example,
)

router = APIRouter()


@router.get(
    "/api/v1/ledger/balances", tags=["Ledger"], summary="Ledger balances per currency and account",
    response_model=LedgerBalances,
)
async def ledger_balances(principal: Reader, session: Session) -> Response:
    """Every account's debits, credits and balance for the key's merchant and mode, per
    currency, with what the merchant is owed now (`merchant_net_payable`). The ledger is
    append-only: completed payments, their fees and completed refunds post to it."""
    data = await service.balances(session, scope=principal.scope)
    return json_response(200, {"data": data})


@router.get(
    "/api/v1/fee-rules", tags=["Ledger"], summary="List fee rules", response_model=FeeRuleList,
)
async def list_fee_rules(principal: Admin, session: Session) -> Response:
    """The fee rules of the key's merchant and mode. A payment's fee is computed with the
    rule for its gateway and currency (else the gateway's any-currency rule, else no fee)
    when it completes, and stored on it."""
    rules = await fees.list_rules(session, merchant_id=principal.merchant_id, mode=principal.mode)
    return json_response(200, {"data": [fees.serialize_rule(r) for r in rules]})


@router.put(
    "/api/v1/fee-rules", tags=["Ledger"], summary="Create or replace a fee rule",
    response_model=FeeRuleOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes={400: [
        validation_example("Every bad field at once", {
            "gateway": ["Unknown gateway 'nope'."],
            "flat": ["The flat is an amount: give a currency for it (e.g. USD)."],
            "percent": ["The percent must be between 0 and 100."]}),
        "INVALID_JSON",
    ]}),
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": FeeRuleIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}},
)
async def put_fee_rule(request: Request, principal: Admin, session: Session) -> Response:
    """The rule for (gateway, currency) in the key's mode: `flat` + `percent` of the amount
    (percentage rounded half up to the minor unit), then `min`/`max`, never more than the
    amount. Applies to payments that complete from now on."""
    body: dict[str, Any] = await json_object(request)
    rule = await fees.set_rule(session, scope=principal.scope,
                               rule=fees.validate_rule(body))
    shown = fees.serialize_rule(rule)
    await audit_api(session, request, principal, "fee_rule.set", object_type="fee_rule",
                    object_id=rule.id, details=shown)
    return json_response(200, shown)


NO_RULE = "No fee rule for this gateway and currency."


@router.delete(
    "/api/v1/fee-rules", tags=["Ledger"], summary="Remove a fee rule", response_model=FeeRuleOut,
    responses=ErrorResponses(codes={
        400: [validation_example("No gateway given", {
                  "gateway": ["The gateway field is required."]}),
              validation_example("Unknown gateway and currency", {
                  "gateway": ["Unknown gateway 'nope'."],
                  "currency": ["Invalid currency code."]})],
        404: [not_found_example(NO_RULE)]}),
)
async def delete_fee_rule(request: Request, principal: Admin, session: Session,
                          gateway: Annotated[str, Query(
                              description="The rule's gateway slug (required).")] = "",
                          currency: Annotated[str, Query(
                              description="The rule's currency; omit for the gateway's "
                              "any-currency rule.")] = "") -> Response:
    """Remove the rule for `gateway` and `currency` (omit `currency` for the gateway's
    any-currency rule) in the key's mode, and answer with it. Payments that complete from
    now on fall back to the next rule (or no fee); completed payments keep their fee."""
    name, code = fees.validate_key(gateway, currency,
                                   given=[k for k, _ in request.query_params.multi_items()])
    removed = await fees.remove_rule(session, scope=principal.scope, gateway=name,
                                     currency=code)
    if removed is None:
        raise NotFound(NO_RULE)
    shown = fees.serialize_rule(removed)
    await audit_api(session, request, principal, "fee_rule.removed", object_type="fee_rule",
                    object_id=removed.id, details=shown)
    return json_response(200, shown)
