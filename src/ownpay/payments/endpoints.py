"""``/api/v1/payment-intents``: thin routes — parse, authorise by scope, one service call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownpay.context import AppContext
from ownpay.errors import json_response
from ownpay.merchants.accounts import public_base_url
from ownpay.merchants.auth import Principal
from ownpay.payments import presenters, repository, service
from ownpay.payments.models import PaymentIntent
from ownpay.payments.schemas import (
    SPEC_CREATED_EXAMPLE,
    PaymentIntentCreate,
    PaymentIntentCreated,
    PaymentIntentOut,
    ReasonBody,
)
from ownpay.web import idempotency
from ownpay.web.body import optional_reason, parse_json_object, read_json_body
from ownpay.web.deps import Admin, Ctx, Reader, Session, Writer, audit_api
from ownpay.web.idempotency import Idempotency
from ownpay.web.openapi import (
    HEADER_TOO_LONG,
    JSON_BODY_ERRORS,
    ErrorExample,
    ErrorResponses,
    invalid_state_example,
    not_found_example,
    validation_example,
)

router = APIRouter(prefix="/api/v1/payment-intents", tags=["Payment intents"])
TransactionId = Annotated[str, Path(
    description="The payment intent's `transaction_id` (`txn_…`).")]

# The error answers each route documents, with the texts the code sends.
INTENT_NOT_FOUND = not_found_example(repository.NOT_FOUND)
REASON_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [validation_example("`reason` is not a string of at most 500 characters",
                             {"reason": ["The reason must be a string of at most 500 "
                                         "characters."]}),
          "INVALID_JSON"],
    404: [INTENT_NOT_FOUND],
}
NOT_AWAITING_VERIFICATION = invalid_state_example(
    "Only a payment awaiting verification can be reviewed; this one is completed.",
    "The payment is not awaiting verification")
DECIDED_MEANWHILE = invalid_state_example(
    "The payment is now completed.", "Another operator decided it a moment earlier")
REVIEW_BODY = {"requestBody": {"required": False, "content": {"application/json": {
    "schema": ReasonBody.model_json_schema()}}}}


# Resource-or-404 dependencies: the key's own intent (another merchant's or mode's id is a
# plain 404), loaded with the scope the route needs.  (Three functions because FastAPI reads
# the annotations by name: a scope in a closure would not resolve.)
async def _readable(transaction_id: TransactionId, principal: Reader,
                    session: Session) -> PaymentIntent:
    return await repository.get_or_404(session, principal.scope, transaction_id)


async def _writable(transaction_id: TransactionId, principal: Writer,
                    session: Session) -> PaymentIntent:
    return await repository.get_or_404(session, principal.scope, transaction_id)


async def _reviewable(transaction_id: TransactionId, principal: Admin,
                      session: Session) -> PaymentIntent:
    return await repository.get_or_404(session, principal.scope, transaction_id)


# The optional ``{"reason": …}`` body, read before the object is looked up (a bad body is
# 400 even for an id that does not exist).
Reason = Annotated[str | None, Depends(optional_reason)]
ReadableIntent = Annotated[PaymentIntent, Depends(_readable)]
WritableIntent = Annotated[PaymentIntent, Depends(_writable)]
ReviewableIntent = Annotated[PaymentIntent, Depends(_reviewable)]


def _base_url(ctx: AppContext, principal: Principal) -> str:
    return public_base_url(ctx, principal.merchant_base_url)


@router.post(
    "",
    status_code=201,
    summary="Create a payment intent",
    response_model=PaymentIntentCreated,
    responses={
        201: {"description": "Created: redirect the customer to `payment_url`.",
              "content": {"application/json": {"example": SPEC_CREATED_EXAMPLE}}},
        **ErrorResponses(*JSON_BODY_ERRORS, codes={
            400: ["VALIDATION_ERROR", "INVALID_JSON", HEADER_TOO_LONG],
            404: ["GATEWAY_NOT_FOUND"],
            409: ["IDEMPOTENCY_KEY_REUSED", "ORDER_ALREADY_PAID"],
        }),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentIntentCreate.model_json_schema(
                ref_template="#/components/schemas/{model}")}},
        }
    },
)
async def create_payment_intent(
    request: Request,
    ctx: Ctx,
    principal: Writer,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Same key + same body replays the first response for 48 h; "
            "same key + different body is 409 IDEMPOTENCY_KEY_REUSED.",
        ),
    ] = None,
) -> Response:
    """The merchant's server creates an intent and redirects the customer to `payment_url`.

    Errors: `VALIDATION_ERROR` (every bad field at once), `INVALID_JSON`, `PAYLOAD_TOO_LARGE`,
    `UNSUPPORTED_MEDIA_TYPE`, `UNAUTHENTICATED`, `INSUFFICIENT_SCOPE`, `GATEWAY_NOT_FOUND`,
    `IDEMPOTENCY_KEY_REUSED`, `ORDER_ALREADY_PAID`.
    """
    raw = await read_json_body(request)
    new, adapter = service.prepare_intent(ctx, parse_json_object(raw))
    await service.check_gateway(ctx, principal, new, adapter)
    outcome = await idempotency.create_once(
        ctx, Idempotency.of(principal.scope, idempotency_key, raw,
                            operation=service.CREATE_INTENT),
        begin=ctx.engine.begin,
        create=lambda conn: service.create_intent(conn, ctx, principal, new),
        answer=presenters.created_answer,
    )
    return Response(outcome.answer.body, status_code=outcome.answer.status_code,
                    media_type="application/json", headers=idempotency.replay_headers(outcome))


@router.get(
    "/{transaction_id}",
    summary="Retrieve a payment intent",
    response_model=PaymentIntentOut,
    responses=ErrorResponses(codes={404: [INTENT_NOT_FOUND]}),
)
async def get_payment_intent(
    intent: ReadableIntent, ctx: Ctx, principal: Reader, session: Session
) -> Response:
    """The whole intent with its status history. Other merchants' or modes' ids are 404."""
    return await _intent_answer(ctx, session, principal, intent)


async def _intent_answer(
    ctx: AppContext, session: AsyncSession, principal: Principal, intent: PaymentIntent
) -> Response:
    rows = await repository.history(session, intent)
    return json_response(200, presenters.serialize_intent(
        intent, rows, base_url=_base_url(ctx, principal)))


@router.post(
    "/{transaction_id}/cancel",
    summary="Cancel a pending payment intent",
    response_model=PaymentIntentOut,
    responses=ErrorResponses(codes={**REASON_ERRORS, 409: [
        invalid_state_example(
            "Only a pending payment can be cancelled; this one is completed.",
            "The payment is no longer pending"),
    ]}),
    openapi_extra=REVIEW_BODY,
)
async def cancel_payment_intent(
    request: Request, ctx: Ctx, principal: Writer, reason: Reason, intent: WritableIntent,
    session: Session,
) -> Response:
    """`pending` → `cancelled`, recorded in the status history with `reason` (and sent
    as `payment.cancelled`). Only `pending` intents can be cancelled; otherwise 409
    `INVALID_STATE`. The body is optional."""
    intent = await service.cancel(
        session, intent, actor=f"merchant:key:{principal.api_key_id}",
        reason=reason or "cancelled by merchant"
    )
    await audit_api(session, request, principal, "payment.cancelled", object_type="payment",
                    object_id=intent.id, details={"reason": reason})
    return await _intent_answer(ctx, session, principal, intent)


async def _review(
    request: Request, intent: PaymentIntent, reason: str | None, ctx: AppContext,
    principal: Principal, session: AsyncSession, *, approve: bool
) -> Response:
    intent = await service.review_manual(
        session, intent, approve=approve, actor=f"operator:key:{principal.api_key_id}",
        reason=reason
    )
    await audit_api(session, request, principal,
                    "payment.approved" if approve else "payment.rejected",
                    object_type="payment", object_id=intent.id, details={"reason": reason})
    return await _intent_answer(ctx, session, principal, intent)


@router.post(
    "/{transaction_id}/approve",
    summary="Approve a manual payment awaiting verification",
    response_model=PaymentIntentOut,
    responses=ErrorResponses(
        codes={**REASON_ERRORS, 409: [NOT_AWAITING_VERIFICATION, DECIDED_MEANWHILE]}),
    openapi_extra=REVIEW_BODY,
)
async def approve_payment_intent(
    request: Request, ctx: Ctx, principal: Admin, reason: Reason, intent: ReviewableIntent,
    session: Session
) -> Response:
    """An operator confirms an offline (`manual`) payment after checking the money arrived:
    `awaiting_verification` → `completed` (the fee and ledger are posted and
    `payment.completed` is sent). Otherwise 409 `INVALID_STATE`. The body is optional."""
    return await _review(request, intent, reason, ctx, principal, session, approve=True)


@router.post(
    "/{transaction_id}/reject",
    summary="Reject a manual payment awaiting verification",
    response_model=PaymentIntentOut,
    responses=ErrorResponses(
        codes={**REASON_ERRORS, 409: [NOT_AWAITING_VERIFICATION, DECIDED_MEANWHILE]}),
    openapi_extra=REVIEW_BODY,
)
async def reject_payment_intent(
    request: Request, ctx: Ctx, principal: Admin, reason: Reason, intent: ReviewableIntent,
    session: Session
) -> Response:
    """An operator refuses an offline (`manual`) payment whose money did not arrive:
    `awaiting_verification` → `failed` with `reason` (sent as `payment.failed`).
    Otherwise 409 `INVALID_STATE`. The body is optional."""
    return await _review(request, intent, reason, ctx, principal, session, approve=False)
