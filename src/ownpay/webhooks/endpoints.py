"""``/api/v1/webhook-endpoints`` and ``/api/v1/webhooks/…``: thin routes over the service.

Endpoint configuration needs the ``admin`` scope; the delivery log is readable with ``read``
and replaying or testing needs ``admin``.  Everything is scoped to the API key's merchant
and mode: another merchant's (or the other mode's) endpoint or delivery is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from ownpay import audit
from ownpay.errors import FieldErrors, json_response
from ownpay.pagination import page_body
from ownpay.web.body import json_object
from ownpay.web.deps import Admin, Reader, Session, app_context, audit_api
from ownpay.web.openapi import (
    JSON_BODY_ERRORS,
    ErrorExample,
    ErrorResponses,
    invalid_state_example,
    not_found_example,
    validation_example,
)
from ownpay.webhooks import delivery, service
from ownpay.webhooks import log as delivery_log
from ownpay.webhooks.schemas import (
    DeliveryStatus,
    WebhookDeliveryDetail,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookTestRequest,
    WebhookTestResult,
)

router = APIRouter()
ENDPOINTS = "/api/v1/webhook-endpoints"
DELIVERIES = "/api/v1/webhooks/deliveries"
ENDPOINT_TAG = "Webhook endpoints"
LOG_TAG = "Webhook deliveries"
EndpointId = Annotated[str, Path(description="The endpoint's `id` (`we_…`).")]
DeliveryId = Annotated[str, Path(description="The delivery's `id` (`dlv_…`).")]

# The error answers each route documents, with the texts the code sends.
ENDPOINT_NOT_FOUND = not_found_example("Webhook endpoint not found.")
DELIVERY_NOT_FOUND = not_found_example("Webhook delivery not found.")
BAD_ENDPOINT = validation_example("Every bad field at once", {
    "enable": ["Unknown field."],
    "url": ["The URL must start with https:// (or http:// in test mode)."],
    "events": [f"Unknown event type(s): payment.done. Known: {', '.join(service.EVENT_TYPES)}."],
})
LIVE_NEEDS_HTTPS = validation_example(
    "A live-mode endpoint without https://", {"url": ["Live-mode endpoints must use https://."]})
CREATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [BAD_ENDPOINT, LIVE_NEEDS_HTTPS, "INVALID_JSON"],
    409: ["WEBHOOK_ENDPOINT_LIMIT"],
}
UPDATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [validation_example("An empty body", {"request": [
              "Nothing to update: send url, events, description, enabled or scheme."]}),
          LIVE_NEEDS_HTTPS, "INVALID_JSON"],
    404: [ENDPOINT_NOT_FOUND],
}
LIST_ERRORS: dict[int, list[str | ErrorExample]] = {400: [
    validation_example("Bad query parameters", {
        "status": ["Input should be 'pending', 'retrying', 'succeeded', 'dead' or "
                   "'cancelled'"],
        "limit": ["Input should be greater than or equal to 1"]}),
    validation_example("Unknown cursor", {"starting_after": ["Unknown delivery id."]}),
]}
RETRY_ERRORS: dict[int, list[str | ErrorExample]] = {
    404: [DELIVERY_NOT_FOUND],
    409: [
        invalid_state_example("The delivery is being attempted right now.",
                              "An attempt is in flight"),
        invalid_state_example(
            "The endpoint is disabled: enable it, then send the delivery again.",
            "Its endpoint is disabled"),
        invalid_state_example("The delivery's endpoint was deleted; it cannot be sent again.",
                              "Its endpoint was deleted"),
    ],
}
TEST_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [validation_example("No endpoint_id", {"endpoint_id": [
              "The endpoint_id field is required."]}),
          "INVALID_JSON"],
    404: [ENDPOINT_NOT_FOUND],
}

def _body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema}}}}


# ---- endpoint configuration ----------------------------------------------------------------


@router.post(
    ENDPOINTS, status_code=201, tags=[ENDPOINT_TAG], summary="Create a webhook endpoint",
    response_model=WebhookEndpointWithSecret,
    responses={201: {"description": "Created; `secret` is shown only now."},
               **ErrorResponses(*JSON_BODY_ERRORS, codes=CREATE_ERRORS)},
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
    body = await json_object(request)
    ctx = app_context(request)
    endpoint, secret = await service.create_endpoint(
        session, ctx.keyring, ctx.settings, scope=principal.scope, body=body,
    )
    await audit_api(session, request, principal, "webhook_endpoint.created",
                    object_type="webhook_endpoint", object_id=endpoint.id,
                    details=service.audited_settings(service.serialize_endpoint(endpoint)))
    return json_response(201, service.serialize_endpoint(endpoint, secret=secret))


@router.get(
    ENDPOINTS, tags=[ENDPOINT_TAG], summary="List webhook endpoints",
    response_model=WebhookEndpointList,
)
async def list_webhook_endpoints(principal: Admin, session: Session) -> Response:
    """All endpoints of the key's merchant and mode, oldest first. Secrets are never shown."""
    rows = await service.list_endpoints(session, scope=principal.scope)
    return json_response(200, {"data": [service.serialize_endpoint(e) for e in rows]})


@router.get(
    ENDPOINTS + "/{endpoint_id}", tags=[ENDPOINT_TAG], summary="Retrieve a webhook endpoint",
    response_model=WebhookEndpointOut,
    responses=ErrorResponses(codes={404: [ENDPOINT_NOT_FOUND]}),
)
async def get_webhook_endpoint(
    endpoint_id: EndpointId, principal: Admin, session: Session
) -> Response:
    """One endpoint (without its secret). Other merchants' or modes' ids are 404."""
    endpoint = await service.get_endpoint(
        session, scope=principal.scope, endpoint_id=endpoint_id
    )
    return json_response(200, service.serialize_endpoint(endpoint))


@router.patch(
    ENDPOINTS + "/{endpoint_id}", tags=[ENDPOINT_TAG], summary="Update a webhook endpoint",
    response_model=WebhookEndpointOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=UPDATE_ERRORS),
    openapi_extra=_body(WebhookEndpointUpdate),
)
async def update_webhook_endpoint(
    endpoint_id: EndpointId, request: Request, principal: Admin, session: Session
) -> Response:
    """Change `url`, `events`, `description` or `enabled` (only the fields sent).

    A disabled endpoint gets no new deliveries; those already queued wait until it is
    enabled again.
    """
    body = await json_object(request)
    before = await service.settings_before(session, principal.scope, endpoint_id)
    endpoint = await service.update_endpoint(
        session, app_context(request).settings, scope=principal.scope,
        endpoint_id=endpoint_id, body=body,
    )
    await audit_api(session, request, principal, "webhook_endpoint.updated",
                    object_type="webhook_endpoint", object_id=endpoint.id,
                    details=audit.changes(before, service.audited_settings(
                        service.serialize_endpoint(endpoint))))
    return json_response(200, service.serialize_endpoint(endpoint))


@router.delete(
    ENDPOINTS + "/{endpoint_id}", tags=[ENDPOINT_TAG], summary="Delete a webhook endpoint",
    response_model=WebhookEndpointDeleted,
    responses=ErrorResponses(codes={404: [ENDPOINT_NOT_FOUND]}),
)
async def delete_webhook_endpoint(
    endpoint_id: EndpointId, request: Request, principal: Admin, session: Session
) -> Response:
    """Stop sending to this endpoint and forget its secret. Its deliveries stay in the log;
    those not yet delivered become `cancelled`."""
    endpoint = await service.delete_endpoint(
        session, scope=principal.scope, endpoint_id=endpoint_id
    )
    await audit_api(session, request, principal, "webhook_endpoint.deleted",
                    object_type="webhook_endpoint", object_id=endpoint.id,
                    details={"url": endpoint.url})
    return json_response(200, {"id": endpoint.id, "deleted": True})


@router.post(
    ENDPOINTS + "/{endpoint_id}/rotate-secret", tags=[ENDPOINT_TAG],
    summary="Rotate a webhook endpoint's signing secret",
    response_model=WebhookEndpointWithSecret,
    responses=ErrorResponses(codes={404: [ENDPOINT_NOT_FOUND]}),
)
async def rotate_webhook_secret(
    endpoint_id: EndpointId, request: Request, principal: Admin, session: Session
) -> Response:
    """Returns a new secret (shown only here). For the next 24 hours every delivery is signed
    with both the new and the old secret (two space-separated signatures, newest first),
    so the receiver can switch over at any moment in that window."""
    endpoint, secret = await service.rotate_secret(
        session, app_context(request).keyring, scope=principal.scope,
        endpoint_id=endpoint_id,
    )
    await audit_api(session, request, principal, "webhook_endpoint.secret_rotated",
                    object_type="webhook_endpoint", object_id=endpoint.id)
    return json_response(200, service.serialize_endpoint(endpoint, secret=secret))


# ---- delivery log --------------------------------------------------------------------------


@router.get(
    DELIVERIES, tags=[LOG_TAG], summary="List webhook deliveries (the delivery log)",
    response_model=WebhookDeliveryList, responses=ErrorResponses(codes=LIST_ERRORS),
)
async def list_webhook_deliveries(
    principal: Reader,
    session: Session,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    event_type: Annotated[str | None, Query(
        max_length=64, examples=["payment.completed"], description="Only this event type.",
    )] = None,
    transaction_id: Annotated[str | None, Query(
        max_length=24, description="Only events of this payment.")] = None,
    endpoint_id: Annotated[str | None, Query(
        max_length=32, description="Only deliveries to this endpoint.")] = None,
    limit: Annotated[int, Query(
        ge=1, le=delivery_log.MAX_PAGE, description=f"Page size, 1 to {delivery_log.MAX_PAGE}.",
    )] = delivery_log.DEFAULT_PAGE,
    starting_after: Annotated[
        str | None, Query(max_length=32, description="`next_cursor` of the previous page.")
    ] = None,
) -> Response:
    """One row per event per endpoint, newest first, with its status (`pending`, `retrying`,
    `succeeded`, `dead`, `cancelled`) and the outcome of its last attempt. Cursor pagination:
    pass the previous page's `next_cursor` as `starting_after`."""
    rows, has_more = await delivery_log.list_deliveries(
        session, scope=principal.scope,
        filters=delivery_log.DeliveryFilters(status=status, event_type=event_type,
                                        transaction_id=transaction_id, endpoint_id=endpoint_id),
        limit=limit, starting_after=starting_after,
    )
    return json_response(200, page_body(rows, has_more, delivery_log.serialize_delivery))


@router.get(
    DELIVERIES + "/{delivery_id}", tags=[LOG_TAG], summary="Retrieve a delivery with its attempts",
    response_model=WebhookDeliveryDetail,
    responses=ErrorResponses(codes={404: [DELIVERY_NOT_FOUND]}),
)
async def get_webhook_delivery(
    delivery_id: DeliveryId, principal: Reader, session: Session
) -> Response:
    """The delivery, the exact payload it sends and every attempt: status code, duration,
    the first 2 KiB of the receiver's answer and the error, if any."""
    found = await delivery_log.get_delivery(
        session, scope=principal.scope, delivery_id=delivery_id
    )
    attempts = await delivery_log.attempts_of(session, found)
    return json_response(200, delivery_log.serialize_delivery(found, attempts))


@router.post(
    DELIVERIES + "/{delivery_id}/retry", status_code=202, tags=[LOG_TAG],
    summary="Replay a delivery now", response_model=WebhookDeliveryOut,
    responses={202: {"description": "Accepted: due now; the worker sends it within a "
                     "moment."},
               **ErrorResponses(codes=RETRY_ERRORS)},
)
async def retry_webhook_delivery(
    delivery_id: DeliveryId, request: Request, principal: Admin, session: Session
) -> Response:
    """Make the delivery due now — dead-lettered ones included; the worker sends it within a
    moment (same `X-OwnPay-Delivery` id, fresh timestamp and signature). A dead-lettered
    delivery gets one more attempt. 409 `INVALID_STATE` while it is being attempted, or when
    its endpoint is disabled or deleted."""
    found = await delivery_log.retry_delivery(
        session, scope=principal.scope, delivery_id=delivery_id
    )
    await audit_api(session, request, principal, "webhook_delivery.retried",
                    object_type="webhook_delivery", object_id=found.id)
    return json_response(202, delivery_log.serialize_delivery(found))


@router.post(
    "/api/v1/webhooks/tests", tags=[LOG_TAG], summary="Send a test event to an endpoint",
    response_model=WebhookTestResult,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=TEST_ERRORS),
    openapi_extra=_body(WebhookTestRequest),
)
async def send_test_event(request: Request, principal: Admin) -> Response:
    """Synchronously POST a signed `test.ping` event to the endpoint (disabled ones too) and
    return the receiver's status code, the duration and the first 2 KiB of its answer. The
    same address rules and 10-second timeout apply as for real deliveries; nothing is
    stored in the delivery log."""
    body = await json_object(request)
    errors = FieldErrors()
    errors.refuse_unknown(body, ("endpoint_id",))
    endpoint_id = body.get("endpoint_id")
    if not isinstance(endpoint_id, str) or not endpoint_id:
        errors.add("endpoint_id", "The endpoint_id field is required.")
    errors.raise_if_any()
    assert isinstance(endpoint_id, str)  # noqa: S101 - checked above
    result = await delivery.send_test_ping(
        app_context(request), scope=principal.scope,
        endpoint_id=endpoint_id,
    )
    return json_response(200, result)
