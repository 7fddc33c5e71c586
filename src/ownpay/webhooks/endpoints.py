"""``/api/v1/webhook-endpoints`` and ``/api/v1/webhooks/…``: thin routes over the service.

Endpoint configuration needs the ``admin`` scope; the delivery log is readable with ``read``
and replaying or testing needs ``admin``.  Everything is scoped to the API key's merchant
and mode: another merchant's (or the other mode's) endpoint or delivery is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from ownpay.context import AppContext
from ownpay.errors import ErrorResponses, ValidationFailed, json_response
from ownpay.payments.endpoints import Admin, Reader, Session, read_json_body
from ownpay.payments.service import parse_json_object
from ownpay.webhooks import delivery, service

router = APIRouter()
ENDPOINTS = "/api/v1/webhook-endpoints"
DELIVERIES = "/api/v1/webhooks/deliveries"
ENDPOINT_TAG = "Webhook endpoints"
LOG_TAG = "Webhook deliveries"

EventName = Literal[
    "*",
    "payment.pending",
    "payment.processing",
    "payment.awaiting_verification",
    "payment.completed",
    "payment.failed",
    "payment.cancelled",
    "payment.expired",
    "payment.refunded",
    "payment.partially_refunded",
    "link.visited",
    "link.paid",
]
DeliveryStatus = Literal["pending", "retrying", "succeeded", "dead", "cancelled"]


# ---- OpenAPI shapes (validation itself is in the service, so every bad field is reported) --


class WebhookEndpointCreate(BaseModel):
    url: str = Field(description="https:// URL (http:// is accepted in test mode only).",
                     max_length=2048, examples=["https://shop.example/ownpay/webhooks"])
    events: list[EventName] = Field(
        default=["*"], description='Event types to receive, or ["*"] for all (the default).')
    description: str | None = Field(default=None, max_length=500)


class WebhookEndpointUpdate(BaseModel):
    url: str | None = Field(default=None, max_length=2048)
    events: list[EventName] | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(
        default=None, description="false stops deliveries (already queued ones wait).")


class WebhookEndpointOut(BaseModel):
    id: str = Field(examples=["we_5f0c3a9e2b7d4c1a8e6f0b3d"])
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    mode: Literal["test", "live"]
    created_at: str
    updated_at: str
    previous_secret_expires_at: str | None = Field(
        description="While set, deliveries are also signed with the secret replaced by the "
        "last rotation (a second, space-separated signature).")


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(description="The signing secret. Shown only in this response.",
                        examples=["whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="])


class WebhookEndpointList(BaseModel):
    data: list[WebhookEndpointOut]


class WebhookEndpointDeleted(BaseModel):
    id: str
    deleted: bool


class WebhookAttemptOut(BaseModel):
    number: int
    started_at: str
    duration_ms: int
    success: bool
    status_code: int | None
    response_body: str | None = Field(description="The first 2 KiB of the receiver's answer.")
    error: str | None = Field(description="Timeout, connection error, refused address, …")


class WebhookDeliveryOut(BaseModel):
    id: str = Field(description="Sent as X-OwnPay-Delivery; the same for every attempt.")
    endpoint_id: str
    event_id: str
    event_type: str
    transaction_id: str | None
    mode: Literal["test", "live"]
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: str | None
    created_at: str


class WebhookDeliveryDetail(WebhookDeliveryOut):
    payload: dict[str, Any] = Field(description="The JSON body every attempt sends.")
    attempts: list[WebhookAttemptOut]


class WebhookDeliveryList(BaseModel):
    data: list[WebhookDeliveryOut]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as starting_after for the next page.")


class WebhookTestRequest(BaseModel):
    endpoint_id: str


class WebhookTestResult(BaseModel):
    endpoint_id: str
    delivery_id: str
    event: Literal["test.ping"]
    success: bool = Field(description="true when the receiver answered 2xx in time.")
    status_code: int | None
    duration_ms: int
    response_body: str | None
    error: str | None


def _body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema}}}}


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


# ---- endpoint configuration ----------------------------------------------------------------


@router.post(
    ENDPOINTS, status_code=201, tags=[ENDPOINT_TAG], summary="Create a webhook endpoint",
    response_model=WebhookEndpointWithSecret,
    responses=ErrorResponses(400, 401, 403, 409, 413, 415),
    openapi_extra=_body(WebhookEndpointCreate),
)
async def create_webhook_endpoint(request: Request, principal: Admin, session: Session) -> Response:
    """Register a URL to receive signed event notifications. The response carries the
    signing secret (`whsec_…`) — the only time it is shown.

    Live-mode URLs must be `https://`. URLs naming or resolving to private, loopback,
    link-local, multicast, reserved or cloud-metadata addresses are refused with
    `VALIDATION_ERROR` (unless the installation allows private addresses). At most 16
    endpoints per merchant and mode (`WEBHOOK_ENDPOINT_LIMIT`).
    """
    body = parse_json_object(await read_json_body(request))
    ctx = _ctx(request)
    endpoint, secret = await service.create_endpoint(
        session, ctx.keyring, ctx.settings, merchant_id=principal.merchant_id,
        mode=principal.mode, body=body,
    )
    return json_response(201, service.serialize_endpoint(endpoint, secret=secret))


@router.get(
    ENDPOINTS, tags=[ENDPOINT_TAG], summary="List webhook endpoints",
    response_model=WebhookEndpointList, responses=ErrorResponses(401, 403),
)
async def list_webhook_endpoints(principal: Admin, session: Session) -> Response:
    """All endpoints of the key's merchant and mode, oldest first. Secrets are never shown."""
    rows = await service.list_endpoints(session, merchant_id=principal.merchant_id,
                                        mode=principal.mode)
    return json_response(200, {"data": [service.serialize_endpoint(e) for e in rows]})


@router.get(
    ENDPOINTS + "/{endpoint_id}", tags=[ENDPOINT_TAG], summary="Retrieve a webhook endpoint",
    response_model=WebhookEndpointOut, responses=ErrorResponses(401, 403, 404),
)
async def get_webhook_endpoint(endpoint_id: str, principal: Admin, session: Session) -> Response:
    """One endpoint (without its secret). Other merchants' or modes' ids are 404."""
    endpoint = await service.get_endpoint(
        session, merchant_id=principal.merchant_id, mode=principal.mode, endpoint_id=endpoint_id
    )
    return json_response(200, service.serialize_endpoint(endpoint))


@router.patch(
    ENDPOINTS + "/{endpoint_id}", tags=[ENDPOINT_TAG], summary="Update a webhook endpoint",
    response_model=WebhookEndpointOut, responses=ErrorResponses(400, 401, 403, 404, 413, 415),
    openapi_extra=_body(WebhookEndpointUpdate),
)
async def update_webhook_endpoint(
    endpoint_id: str, request: Request, principal: Admin, session: Session
) -> Response:
    """Change `url`, `events`, `description` or `enabled` (only the fields sent).

    A disabled endpoint gets no new deliveries; those already queued wait until it is
    enabled again.
    """
    body = parse_json_object(await read_json_body(request))
    endpoint = await service.update_endpoint(
        session, _ctx(request).settings, merchant_id=principal.merchant_id, mode=principal.mode,
        endpoint_id=endpoint_id, body=body,
    )
    return json_response(200, service.serialize_endpoint(endpoint))


@router.delete(
    ENDPOINTS + "/{endpoint_id}", tags=[ENDPOINT_TAG], summary="Delete a webhook endpoint",
    response_model=WebhookEndpointDeleted, responses=ErrorResponses(401, 403, 404),
)
async def delete_webhook_endpoint(endpoint_id: str, principal: Admin, session: Session) -> Response:
    """Stop sending to this endpoint and forget its secret. Its deliveries stay in the log;
    those not yet delivered become `cancelled`."""
    endpoint = await service.delete_endpoint(
        session, merchant_id=principal.merchant_id, mode=principal.mode, endpoint_id=endpoint_id
    )
    return json_response(200, {"id": endpoint.id, "deleted": True})


@router.post(
    ENDPOINTS + "/{endpoint_id}/rotate-secret", tags=[ENDPOINT_TAG],
    summary="Rotate a webhook endpoint's signing secret",
    response_model=WebhookEndpointWithSecret, responses=ErrorResponses(401, 403, 404),
)
async def rotate_webhook_secret(
    endpoint_id: str, request: Request, principal: Admin, session: Session
) -> Response:
    """Returns a new secret (shown only here). For the next 24 hours every delivery is signed
    with both the new and the old secret (two space-separated signatures, newest first),
    so the receiver can switch over at any moment in that window."""
    endpoint, secret = await service.rotate_secret(
        session, _ctx(request).keyring, merchant_id=principal.merchant_id, mode=principal.mode,
        endpoint_id=endpoint_id,
    )
    return json_response(200, service.serialize_endpoint(endpoint, secret=secret))


# ---- delivery log --------------------------------------------------------------------------


@router.get(
    DELIVERIES, tags=[LOG_TAG], summary="List webhook deliveries (the delivery log)",
    response_model=WebhookDeliveryList, responses=ErrorResponses(400, 401, 403),
)
async def list_webhook_deliveries(
    principal: Reader,
    session: Session,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    event_type: Annotated[str | None, Query(max_length=64, examples=["payment.completed"])] = None,
    transaction_id: Annotated[str | None, Query(max_length=24)] = None,
    endpoint_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    starting_after: Annotated[
        str | None, Query(max_length=32, description="`next_cursor` of the previous page.")
    ] = None,
) -> Response:
    """One row per event per endpoint, newest first, with its status (`pending`, `retrying`,
    `succeeded`, `dead`, `cancelled`) and the outcome of its last attempt. Cursor pagination:
    pass the previous page's `next_cursor` as `starting_after`."""
    rows, has_more = await service.list_deliveries(
        session, merchant_id=principal.merchant_id, mode=principal.mode,
        filters=service.DeliveryFilters(status=status, event_type=event_type,
                                        transaction_id=transaction_id, endpoint_id=endpoint_id),
        limit=limit, starting_after=starting_after,
    )
    return json_response(200, {
        "data": [service.serialize_delivery(d) for d in rows],
        "has_more": has_more,
        "next_cursor": rows[-1].id if has_more and rows else None,
    })


@router.get(
    DELIVERIES + "/{delivery_id}", tags=[LOG_TAG], summary="Retrieve a delivery with its attempts",
    response_model=WebhookDeliveryDetail, responses=ErrorResponses(401, 403, 404),
)
async def get_webhook_delivery(delivery_id: str, principal: Reader, session: Session) -> Response:
    """The delivery, the exact payload it sends and every attempt: status code, duration,
    the first 2 KiB of the receiver's answer and the error, if any."""
    found = await service.get_delivery(
        session, merchant_id=principal.merchant_id, mode=principal.mode, delivery_id=delivery_id
    )
    attempts = await service.attempts_of(session, found)
    return json_response(200, service.serialize_delivery(found, attempts))


@router.post(
    DELIVERIES + "/{delivery_id}/retry", status_code=202, tags=[LOG_TAG],
    summary="Replay a delivery now", response_model=WebhookDeliveryOut,
    responses=ErrorResponses(401, 403, 404, 409),
)
async def retry_webhook_delivery(delivery_id: str, principal: Admin, session: Session) -> Response:
    """Make the delivery due now — dead-lettered ones included; the worker sends it within a
    moment (same `X-OwnPay-Delivery` id, fresh timestamp and signature). A dead-lettered
    delivery gets one more attempt. 409 `INVALID_STATE` while it is being attempted, or when
    its endpoint is disabled or deleted."""
    found = await service.retry_delivery(
        session, merchant_id=principal.merchant_id, mode=principal.mode, delivery_id=delivery_id
    )
    return json_response(202, service.serialize_delivery(found))


@router.post(
    "/api/v1/webhooks/tests", tags=[LOG_TAG], summary="Send a test event to an endpoint",
    response_model=WebhookTestResult, responses=ErrorResponses(400, 401, 403, 404, 413, 415),
    openapi_extra=_body(WebhookTestRequest),
)
async def send_test_event(request: Request, principal: Admin) -> Response:
    """Synchronously POST a signed `test.ping` event to the endpoint (disabled ones too) and
    return the receiver's status code, the duration and the first 2 KiB of its answer. The
    same address rules and 10-second timeout apply as for real deliveries; nothing is
    stored in the delivery log."""
    body = parse_json_object(await read_json_body(request))
    endpoint_id = body.get("endpoint_id")
    if not isinstance(endpoint_id, str) or not endpoint_id:
        raise ValidationFailed(errors={"endpoint_id": ["The endpoint_id field is required."]})
    result = await delivery.send_test_ping(
        _ctx(request), merchant_id=principal.merchant_id, mode=principal.mode,
        endpoint_id=endpoint_id,
    )
    return json_response(200, result)
