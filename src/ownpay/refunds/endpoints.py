"""``/api/v1/refunds``: thin routes over the refund flows.

Creating needs ``write`` (and honours ``Idempotency-Key``), reading needs ``read``, and an
operator's confirm/fail of an offline refund needs ``admin``.  Everything is scoped to the
API key's merchant and mode: another merchant's or mode's refund or payment is a 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.responses import Response

from ownpay import jsoncodec
from ownpay.context import AppContext
from ownpay.errors import NotFound, ValidationFailed, json_response
from ownpay.merchants.auth import Principal
from ownpay.pagination import page_body
from ownpay.payments.repository import NOT_FOUND as INTENT_NOT_FOUND_TEXT
from ownpay.refunds import api as refund_api
from ownpay.refunds import flows, repository
from ownpay.refunds.models import Refund
from ownpay.refunds.presenters import serialize_refund, serialize_refund_detail
from ownpay.refunds.schemas import (
    RefundCreate,
    RefundDecision,
    RefundDetail,
    RefundList,
    RefundOut,
    RefundStatus,
    validate_create,
)
from ownpay.tenancy import TenantScope
from ownpay.web.body import optional_reason, parse_json_object, read_json_body
from ownpay.web.deps import Admin, Ctx, Reader, Session, Writer, api_actor
from ownpay.web.idempotency import Answer
from ownpay.web.openapi import (
    HEADER_TOO_LONG,
    JSON_BODY_ERRORS,
    ErrorExample,
    ErrorResponses,
    invalid_state_example,
    not_found_example,
    validation_example,
)

router = APIRouter(prefix="/api/v1/refunds", tags=["Refunds"])
RefundId = Annotated[str, Path(description="The refund's `id` (`rf_…`).")]


async def _readable(refund_id: RefundId, principal: Reader, session: Session) -> Refund:
    """Resource-or-404: the key's own refund (another merchant's or mode's is a plain 404)."""
    return await repository.get_or_404(session, principal.scope, refund_id)


ReadableRefund = Annotated[Refund, Depends(_readable)]

# The error answers each route documents, with the texts the code sends.
REFUND_NOT_FOUND = not_found_example(repository.NOT_FOUND)
INTENT_NOT_FOUND = not_found_example(INTENT_NOT_FOUND_TEXT)
REASON_INVALID = validation_example(
    "`reason` is not a string of at most 500 characters",
    {"reason": ["The reason must be a string of at most 500 characters."]})
CREATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [
        validation_example("More than is still refundable", {"amount": [
            "The amount must not exceed the refundable remainder, 74.49 USD."]}),
        validation_example("Every bad field at once", {
            "transaction_id": ["The transaction id field is required."],
            "amount": ["The amount must be a number."],
            "reason": ["The reason must be a string of at most 500 characters."]}),
        "INVALID_JSON",
        HEADER_TOO_LONG,
    ],
    404: [INTENT_NOT_FOUND, "GATEWAY_NOT_FOUND"],
    409: [
        invalid_state_example("Only a paid payment can be refunded; this one is pending.",
                              "The payment is not paid"),
        invalid_state_example("This payment has already been fully refunded.",
                              "Nothing left to refund"),
        "REFUNDS_NOT_SUPPORTED",
        "IDEMPOTENCY_KEY_REUSED",
    ],
}
LIST_ERRORS: dict[int, list[str | ErrorExample]] = {400: [
    validation_example("Bad query parameters", {
        "status": ["Input should be 'pending', 'completed' or 'failed'"],
        "limit": ["Input should be less than or equal to 100"]}),
    validation_example("Not an ISO 8601 timestamp", {"created_from": [
        "Use an ISO 8601 timestamp, e.g. 2026-01-31T00:00:00Z."]}),
    validation_example("Unknown cursor", {"starting_after": ["Unknown refund id."]}),
]}
DECISION_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [REASON_INVALID, "INVALID_JSON"],
    404: [REFUND_NOT_FOUND],
    409: [
        invalid_state_example("This refund is already completed.", "Already settled"),
        invalid_state_example(
            "This refund is being settled with the gateway; it cannot be decided by hand.",
            "The gateway is settling it"),
        invalid_state_example("This refund was settled in the meantime.",
                              "Settled a moment earlier by someone else"),
    ],
}


def _body(model: Any, *, required: bool = True) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema}}}}


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
    response_model=RefundOut,
    responses={201: {"description": "The refund, after the gateway was asked."},
               **ErrorResponses(*JSON_BODY_ERRORS, codes=CREATE_ERRORS)},
    openapi_extra=_body(RefundCreate),
)
async def create_refund(
    request: Request,
    ctx: Ctx,
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
    plan = flows.RefundPlan(ctx, principal.scope, validate_create(parse_json_object(raw)))
    return await refund_api.create(
        request, ctx, principal, plan, raw=raw, idempotency_key=idempotency_key,
        operation=flows.CREATE_REFUND,
        answer=lambda refund: Answer(201, jsoncodec.dumps(serialize_refund(refund))),
        replayed=lambda stored: _as_it_stands(ctx, principal.scope, stored))


async def _as_it_stands(ctx: AppContext, scope: TenantScope, stored: Answer) -> Answer:
    """A replay answers with the same refund, as it stands now."""
    refund_id = str(jsoncodec.loads_strict(stored.body).get("id", ""))
    async with ctx.sessions() as session:
        try:
            refund = await repository.get_or_404(session, scope, refund_id)
        except NotFound:
            return stored
    return Answer(stored.status_code, jsoncodec.dumps(serialize_refund(refund)))


@router.get(
    "", summary="List refunds", response_model=RefundList,
    responses=ErrorResponses(codes=LIST_ERRORS),
)
async def list_refunds(
    principal: Reader,
    session: Session,
    transaction_id: Annotated[str | None, Query(
        max_length=24, description="Only refunds of this payment.")] = None,
    status: Annotated[RefundStatus | None, Query(description="Only this status.")] = None,
    created_from: Annotated[str | None, Query(
        max_length=40, description="ISO 8601; refunds created at or after it.")] = None,
    created_to: Annotated[str | None, Query(
        max_length=40, description="ISO 8601; refunds created before it.")] = None,
    limit: Annotated[int, Query(
        ge=1, le=repository.MAX_PAGE, description=f"Page size, 1 to {repository.MAX_PAGE}.",
    )] = repository.DEFAULT_PAGE,
    starting_after: Annotated[str | None, Query(
        max_length=24, description="`next_cursor` of the previous page.")] = None,
) -> Response:
    """Newest first. Cursor pagination (`starting_after` = the previous page's
    `next_cursor`) is stable while refunds are being created."""
    errors: dict[str, list[str]] = {}
    filters = repository.RefundFilters(
        transaction_id=transaction_id, status=status,
        created_from=_timestamp("created_from", created_from, errors),
        created_to=_timestamp("created_to", created_to, errors),
    )
    if errors:
        raise ValidationFailed(errors=errors)
    rows, has_more = await repository.page(
        session, principal.scope, filters, limit=limit, starting_after=starting_after)
    return json_response(200, page_body(rows, has_more, serialize_refund))


@router.get(
    "/{refund_id}", summary="Retrieve a refund", response_model=RefundDetail,
    responses=ErrorResponses(codes={404: [REFUND_NOT_FOUND]}),
)
async def get_refund(refund: ReadableRefund, session: Session) -> Response:
    """One refund as it stands now, with its history: a `pending` one says why in
    `pending_reason`. Another merchant's or mode's refund is 404."""
    return json_response(200, serialize_refund_detail(
        refund, await repository.history(session, refund)))


async def _decide(
    refund_id: str, request: Request, ctx: AppContext, principal: Principal, *, confirm: bool
) -> Response:
    reason = await optional_reason(request)
    refund = await flows.settle_by_operator(
        ctx, principal.scope, refund_id, confirm=confirm, reason=reason,
        actor=f"operator:key:{principal.api_key_id}", audited=api_actor(request, principal),
    )
    return json_response(200, await flows.detail(ctx, refund))


@router.post(
    "/{refund_id}/confirm", summary="Confirm an offline refund (money was given back)",
    response_model=RefundDetail, responses=ErrorResponses(codes=DECISION_ERRORS),
    openapi_extra=_body(RefundDecision, required=False),
)
async def confirm_refund(refund_id: RefundId, request: Request, ctx: Ctx,
                         principal: Admin) -> Response:
    """`pending` → `completed` for a refund awaiting an operator (`pending_reason` =
    `awaiting_operator`, e.g. every `manual` refund). 409 `INVALID_STATE` otherwise."""
    return await _decide(refund_id, request, ctx, principal, confirm=True)


@router.post(
    "/{refund_id}/fail", summary="Fail an offline refund (no money was given back)",
    response_model=RefundDetail, responses=ErrorResponses(codes=DECISION_ERRORS),
    openapi_extra=_body(RefundDecision, required=False),
)
async def fail_refund(refund_id: RefundId, request: Request, ctx: Ctx,
                      principal: Admin) -> Response:
    """`pending` → `failed` for a refund awaiting an operator; its amount becomes
    refundable again and `refund.failed` is sent. 409 `INVALID_STATE` otherwise."""
    return await _decide(refund_id, request, ctx, principal, confirm=False)
