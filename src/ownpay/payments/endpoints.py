"""``/api/v1/payment-intents``: thin routes — parse, authorise by scope, one service call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownpay.context import AppContext
from ownpay.errors import (
    JSON_BODY_ERRORS,
    ErrorExample,
    ErrorResponses,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    invalid_state_example,
    json_response,
    not_found_example,
    validation_example,
)
from ownpay.merchants.auth import Principal, require_scope
from ownpay.payments import service
from ownpay.payments.schemas import (
    SPEC_CREATED_EXAMPLE,
    PaymentIntentCreate,
    PaymentIntentCreated,
    PaymentIntentOut,
    ReasonBody,
)

MAX_BODY = 64 * 1024
router = APIRouter(prefix="/api/v1/payment-intents", tags=["Payment intents"])


async def session_dep(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit on success, roll back on any error."""
    ctx: AppContext = request.app.state.ctx
    async with ctx.sessions() as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(session_dep)]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Writer = Annotated[Principal, Depends(require_scope("write"))]
Admin = Annotated[Principal, Depends(require_scope("admin"))]
TransactionId = Annotated[str, Path(
    description="The payment intent's `transaction_id` (`txn_…`).")]

# The error answers each route documents, with the texts the code sends.
HEADER_TOO_LONG = validation_example(
    "Idempotency-Key over 255 characters",
    {"header.Idempotency-Key": ["String should have at most 255 characters"]})
INTENT_NOT_FOUND = not_found_example("Payment intent not found.")
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


async def read_json_body(request: Request) -> bytes:
    """Enforce JSON content type and the 64 KiB limit while reading (not after)."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    json_like = media.startswith("application/") and media.endswith("+json")
    if media != "application/json" and not json_like:
        raise UnsupportedMediaType()
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _base_url(request: Request, principal: Principal) -> str:
    return service.merchant_base_url(request.app.state.ctx, principal.merchant_base_url)


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
    result = await service.create_intent(
        request.app.state.ctx, principal, raw, idempotency_key=idempotency_key or None
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return Response(result.body, status_code=result.status_code, media_type="application/json",
                    headers=headers)


@router.get(
    "/{transaction_id}",
    summary="Retrieve a payment intent",
    response_model=PaymentIntentOut,
    responses=ErrorResponses(codes={404: [INTENT_NOT_FOUND]}),
)
async def get_payment_intent(
    transaction_id: TransactionId, request: Request, principal: Reader, session: Session
) -> Response:
    """The whole intent with its status history. Other merchants' or modes' ids are 404."""
    intent = await service.get_intent(
        session, merchant_id=principal.merchant_id, mode=principal.mode,
        transaction_id=transaction_id,
    )
    rows = await service.history(session, intent)
    return json_response(
        200, service.serialize_intent(intent, rows, base_url=_base_url(request, principal)))


async def _reason(request: Request) -> str | None:
    raw = await request.body()
    if not raw.strip():
        return None
    body: dict[str, Any] = service.parse_json_object(raw)
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ValidationFailed(
            errors={"reason": ["The reason must be a string of at most 500 characters."]})
    return reason


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
    transaction_id: TransactionId, request: Request, principal: Writer, session: Session
) -> Response:
    """`pending` → `cancelled`, recorded in the status history with `reason` (and sent
    as `payment.cancelled`). Only `pending` intents can be cancelled; otherwise 409
    `INVALID_STATE`. The body is optional."""
    reason = await _reason(request)
    intent = await service.get_intent(
        session, merchant_id=principal.merchant_id, mode=principal.mode,
        transaction_id=transaction_id,
    )
    intent = await service.cancel(
        session, intent, actor=f"merchant:key:{principal.api_key_id}",
        reason=reason or "cancelled by merchant"
    )
    rows = await service.history(session, intent)
    return json_response(
        200, service.serialize_intent(intent, rows, base_url=_base_url(request, principal)))


async def _review(
    transaction_id: str, request: Request, principal: Principal, session: AsyncSession, *,
    approve: bool
) -> Response:
    reason = await _reason(request)
    intent = await service.get_intent(
        session, merchant_id=principal.merchant_id, mode=principal.mode,
        transaction_id=transaction_id,
    )
    intent = await service.review_manual(
        session, intent, approve=approve, actor=f"operator:key:{principal.api_key_id}",
        reason=reason
    )
    rows = await service.history(session, intent)
    return json_response(
        200, service.serialize_intent(intent, rows, base_url=_base_url(request, principal)))


@router.post(
    "/{transaction_id}/approve",
    summary="Approve a manual payment awaiting verification",
    response_model=PaymentIntentOut,
    responses=ErrorResponses(
        codes={**REASON_ERRORS, 409: [NOT_AWAITING_VERIFICATION, DECIDED_MEANWHILE]}),
    openapi_extra=REVIEW_BODY,
)
async def approve_payment_intent(
    transaction_id: TransactionId, request: Request, principal: Admin, session: Session
) -> Response:
    """An operator confirms an offline (`manual`) payment after checking the money arrived:
    `awaiting_verification` → `completed` (the fee and ledger are posted and
    `payment.completed` is sent). Otherwise 409 `INVALID_STATE`. The body is optional."""
    return await _review(transaction_id, request, principal, session, approve=True)


@router.post(
    "/{transaction_id}/reject",
    summary="Reject a manual payment awaiting verification",
    response_model=PaymentIntentOut,
    responses=ErrorResponses(
        codes={**REASON_ERRORS, 409: [NOT_AWAITING_VERIFICATION, DECIDED_MEANWHILE]}),
    openapi_extra=REVIEW_BODY,
)
async def reject_payment_intent(
    transaction_id: TransactionId, request: Request, principal: Admin, session: Session
) -> Response:
    """An operator refuses an offline (`manual`) payment whose money did not arrive:
    `awaiting_verification` → `failed` with `reason` (sent as `payment.failed`).
    Otherwise 409 `INVALID_STATE`. The body is optional."""
    return await _review(transaction_id, request, principal, session, approve=False)
