"""``/api/v1/refunds``: thin routes over the refunds service.

Creating needs ``write`` (and honours ``Idempotency-Key``), reading needs ``read``, and an
operator's confirm/fail of an offline refund needs ``admin``.  Everything is scoped to the
API key's merchant and mode: another merchant's or mode's refund or payment is a 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from ownpay.context import AppContext
from ownpay.errors import ErrorResponses, ValidationFailed, json_response
from ownpay.merchants.auth import Principal
from ownpay.payments.endpoints import Admin, Reader, Session, Writer, read_json_body
from ownpay.payments.service import parse_json_object
from ownpay.refunds import service
from ownpay.refunds.schemas import (
    RefundCreate,
    RefundDecision,
    RefundList,
    RefundOut,
    RefundStatus,
)

router = APIRouter(prefix="/api/v1/refunds", tags=["Refunds"])


def _body(model: Any, *, required: bool = True) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema}}}}


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _timestamp(name: str, value: str | None, errors: dict[str, list[str]]) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.setdefault(name, []).append("Use an ISO 8601 timestamp, e.g. 2026-01-31T00:00:00Z.")
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@router.post(
    "", status_code=201, summary="Refund a payment, fully or in part",
    response_model=RefundOut, responses=ErrorResponses(400, 401, 403, 404, 409, 413, 415),
    openapi_extra=_body(RefundCreate),
)
async def create_refund(
    request: Request,
    principal: Writer,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=255,
               description="Same key + same body within 48 h returns the same refund (as it "
               "now stands); same key + different body is 409 IDEMPOTENCY_KEY_REUSED."),
    ] = None,
) -> Response:
    """Refund `amount` (default: all that is still refundable) of a `completed` or
    `partially_refunded` payment through its original gateway.

    The answer is the refund after the gateway was asked: `completed`, `failed`, or `pending`
    (offline `manual` refunds wait for an operator; an outcome the gateway did not give yet
    is settled by the worker). Errors: `VALIDATION_ERROR` (amount over the refundable
    remainder, ≤ 0, or with more decimals than the currency has), `INVALID_STATE` (payment
    not paid, or fully refunded), `NOT_FOUND`, `REFUNDS_NOT_SUPPORTED`, `GATEWAY_NOT_FOUND`,
    `IDEMPOTENCY_KEY_REUSED`.
    """
    raw = await read_json_body(request)
    result = await service.create_refund(
        _ctx(request), principal, raw, idempotency_key=idempotency_key or None
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return Response(result.body, status_code=result.status_code, media_type="application/json",
                    headers=headers)


@router.get(
    "", summary="List refunds", response_model=RefundList,
    responses=ErrorResponses(400, 401, 403),
)
async def list_refunds(
    principal: Reader,
    session: Session,
    transaction_id: Annotated[str | None, Query(max_length=24)] = None,
    status: Annotated[RefundStatus | None, Query()] = None,
    created_from: Annotated[str | None, Query(
        max_length=40, description="ISO 8601; refunds created at or after it.")] = None,
    created_to: Annotated[str | None, Query(
        max_length=40, description="ISO 8601; refunds created before it.")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    starting_after: Annotated[str | None, Query(
        max_length=24, description="`next_cursor` of the previous page.")] = None,
) -> Response:
    """Newest first. Cursor pagination (`starting_after` = the previous page's
    `next_cursor`) is stable while refunds are being created."""
    errors: dict[str, list[str]] = {}
    filters = service.RefundFilters(
        transaction_id=transaction_id, status=status,
        created_from=_timestamp("created_from", created_from, errors),
        created_to=_timestamp("created_to", created_to, errors),
    )
    if errors:
        raise ValidationFailed(errors=errors)
    rows, has_more = await service.list_refunds(
        session, merchant_id=principal.merchant_id, mode=principal.mode, filters=filters,
        limit=limit, starting_after=starting_after,
    )
    return json_response(200, {
        "data": [service.serialize_refund(r) for r in rows],
        "has_more": has_more,
        "next_cursor": rows[-1].id if has_more and rows else None,
    })


@router.get(
    "/{refund_id}", summary="Retrieve a refund", response_model=RefundOut,
    responses=ErrorResponses(401, 403, 404),
)
async def get_refund(refund_id: str, principal: Reader, session: Session) -> Response:
    refund = await service.get_refund(
        session, merchant_id=principal.merchant_id, mode=principal.mode, refund_id=refund_id
    )
    return json_response(200, service.serialize_refund(refund))


async def _decide(
    refund_id: str, request: Request, principal: Principal, *, confirm: bool
) -> Response:
    raw = await request.body()
    reason: str | None = None
    if raw.strip():
        body = parse_json_object(raw)
        value = body.get("reason")
        if value is not None and (not isinstance(value, str) or len(value) > 500):
            raise ValidationFailed(
                errors={"reason": ["The reason must be a string of at most 500 characters."]})
        reason = value
    refund = await service.settle_by_operator(
        _ctx(request), merchant_id=principal.merchant_id, mode=principal.mode,
        refund_id=refund_id, confirm=confirm, reason=reason,
        actor=f"operator:key:{principal.api_key_id}",
    )
    return json_response(200, service.serialize_refund(refund))


@router.post(
    "/{refund_id}/confirm", summary="Confirm an offline refund (money was given back)",
    response_model=RefundOut, responses=ErrorResponses(400, 401, 403, 404, 409),
    openapi_extra=_body(RefundDecision, required=False),
)
async def confirm_refund(refund_id: str, request: Request, principal: Admin) -> Response:
    """`pending` → `completed` for a refund awaiting an operator (`pending_reason` =
    `awaiting_operator`, e.g. every `manual` refund). 409 `INVALID_STATE` otherwise."""
    return await _decide(refund_id, request, principal, confirm=True)


@router.post(
    "/{refund_id}/fail", summary="Fail an offline refund (no money was given back)",
    response_model=RefundOut, responses=ErrorResponses(400, 401, 403, 404, 409),
    openapi_extra=_body(RefundDecision, required=False),
)
async def fail_refund(refund_id: str, request: Request, principal: Admin) -> Response:
    """`pending` → `failed` for a refund awaiting an operator; its amount becomes
    refundable again and `refund.failed` is sent. 409 `INVALID_STATE` otherwise."""
    return await _decide(refund_id, request, principal, confirm=False)
