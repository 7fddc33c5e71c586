"""Webhook endpoints of the brand and mode shown (list, create, edit, rotate the secret,
remove, test ping) and the delivery log (request and response excerpts, manual retry),
all through ``webhooks.service``, ``webhooks.log`` and ``webhooks.delivery.ping``.

A new or rotated secret is shown once; making one needs a recent re-authentication."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import errors_of, scope_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.errors import ApiError, NotFound
from ownpay.web.deps import Session
from ownpay.webhooks import log, service
from ownpay.webhooks.delivery.ping import send_test_ping
from ownpay.webhooks.models import DELIVERY_STATUSES, WebhookEndpoint
from ownpay.webhooks.signing import SCHEMES

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Developer = Annotated[Viewer, Depends(require(Permission.DEVELOPER))]
Confirmed = Annotated[Viewer, Depends(require(Permission.DEVELOPER, step_up=True))]
EXCERPT = 2048
LOG_PAGE = 20


def _body_of(form: dict[str, str], *, partial: bool) -> dict[str, Any]:
    """The service's JSON body from the form: events from one checkbox each."""
    events = ([service.ALL_EVENTS] if form.get("all_events") == "on" else
              [e for e in service.EVENT_TYPES if form.get(f"event_{e}") == "on"])
    body: dict[str, Any] = {"url": form.get("url", "").strip(),
                            "description": form.get("description", ""),
                            "scheme": form.get("scheme", "ownpay")}
    if events or not partial:
        body["events"] = events
    if partial:
        body["enabled"] = form.get("enabled") == "on"
    return body


def _values_of(endpoint: WebhookEndpoint) -> dict[str, str]:
    values = {"url": endpoint.url, "description": endpoint.description or "",
              "scheme": endpoint.scheme, "enabled": "on" if endpoint.enabled else ""}
    if service.ALL_EVENTS in endpoint.events:
        values["all_events"] = "on"
    values.update({f"event_{e}": "on" for e in endpoint.events})
    return values


def _events() -> list[str]:
    return list(service.EVENT_TYPES)


async def _endpoint(session: Session, viewer: Viewer, endpoint_id: str) -> WebhookEndpoint:
    try:
        return await service.get_endpoint(session, scope=scope_of(viewer),
                                          endpoint_id=endpoint_id)
    except NotFound:
        raise Gone() from None


async def _deliveries(session: Session, viewer: Viewer, *, endpoint_id: str | None = None,
                      status: str | None = None, after: str | None = None) -> dict[str, Any]:
    try:
        rows, more = await log.list_deliveries(
            session, scope=scope_of(viewer), limit=LOG_PAGE, starting_after=after,
            filters=log.DeliveryFilters(status=status, endpoint_id=endpoint_id))
    except ApiError:
        rows, more = [], False
    return {"rows": rows, "more": more, "status": status}


async def _index(request: Request, session: Session, viewer: Viewer, *,
                 values: dict[str, str] | None = None,
                 errors: dict[str, list[str]] | None = None, notice: str | None = None,
                 status: str | None = None, after: str | None = None,
                 status_code: int = 200) -> Response:
    endpoints = await service.list_endpoints(session, scope=scope_of(viewer))
    deliveries = await _deliveries(session, viewer, status=status, after=after)
    last = deliveries["rows"][-1].id if deliveries["rows"] else ""
    query = f"&status={status}" if status else ""
    return render(request, "webhooks.html", {
        "endpoints": endpoints, "deliveries": deliveries, "statuses": DELIVERY_STATUSES,
        "next_url": f"/admin/webhooks?after={last}{query}" if deliveries["more"] else None,
        "first_url": "/admin/webhooks" if after else None,
        "events": _events(), "schemes": SCHEMES, "values": values or {"all_events": "on"},
        "errors": errors or {}, "notice": notice}, viewer=viewer, status_code=status_code)


@router.get("/admin/webhooks")
async def webhooks_page(request: Request, session: Session, viewer: Reader,
                        status: str | None = None, after: str | None = None,
                        removed: str | None = None) -> Response:
    if status not in DELIVERY_STATUSES:
        status = None
    return await _index(request, session, viewer, status=status, after=after,
                        notice="The endpoint is removed." if removed else None)


def _secret_page(request: Request, viewer: Viewer, endpoint: WebhookEndpoint, secret: str,
                 *, rotated: bool) -> Response:
    return render(request, "webhook_secret.html", {
        "endpoint": endpoint, "secret": secret, "rotated": rotated,
        "overlap_until": endpoint.previous_secret_expires_at if rotated else None,
        "overlap_hours": int(service.ROTATION_OVERLAP.total_seconds() // 3600)},
        viewer=viewer)


@router.post("/admin/webhooks")
async def webhook_create(request: Request, session: Session, viewer: Confirmed) -> Response:
    scope, ctx = scope_of(viewer), ctx_of(request)
    body = _body_of(viewer.form, partial=False)
    try:
        endpoint, secret = await service.create_endpoint(session, ctx.keyring, ctx.settings,
                                                         scope=scope, body=body)
    except ApiError as exc:
        return await _index(request, session, viewer, values=dict(viewer.form),
                            errors=errors_of(exc), status_code=400)
    await audit.record(session, viewer.actor, "webhook_endpoint.created",
                       merchant_id=scope.merchant_id, mode=scope.mode,
                       object_type="webhook_endpoint", object_id=endpoint.id,
                       details={"url": endpoint.url, "events": endpoint.events,
                                "scheme": endpoint.scheme})
    return _secret_page(request, viewer, endpoint, secret, rotated=False)


async def _edit(request: Request, session: Session, viewer: Viewer, endpoint: WebhookEndpoint,
                *, values: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None, notice: str | None = None,
                status_code: int = 200) -> Response:
    deliveries = await _deliveries(session, viewer, endpoint_id=endpoint.id)
    return render(request, "webhook_edit.html", {
        "endpoint": endpoint, "values": values or _values_of(endpoint),
        "events": _events(), "schemes": SCHEMES, "errors": errors or {}, "notice": notice,
        "deliveries": deliveries}, viewer=viewer, status_code=status_code)


@router.get("/admin/webhooks/{endpoint_id}")
async def webhook_page(request: Request, session: Session, viewer: Developer,
                       endpoint_id: str, saved: str | None = None) -> Response:
    endpoint = await _endpoint(session, viewer, endpoint_id)
    return await _edit(request, session, viewer, endpoint,
                       notice="Saved." if saved else None)


@router.post("/admin/webhooks/{endpoint_id}")
async def webhook_save(request: Request, session: Session, viewer: Developer,
                       endpoint_id: str) -> Response:
    endpoint = await _endpoint(session, viewer, endpoint_id)
    before = _values_of(endpoint) | {"events": list(endpoint.events)}
    body = _body_of(viewer.form, partial=True)
    if "events" not in body:
        return await _edit(request, session, viewer, endpoint, values=dict(viewer.form),
                           status_code=400, errors={"events": [
                               "Choose at least one event, or all events."]})
    try:
        await service.update_endpoint(session, ctx_of(request).settings,
                                      scope=scope_of(viewer), endpoint_id=endpoint.id,
                                      body=body)
    except ApiError as exc:
        return await _edit(request, session, viewer, endpoint, values=dict(viewer.form),
                           errors=errors_of(exc), status_code=400)
    after = {"url": endpoint.url, "description": endpoint.description or "",
             "scheme": endpoint.scheme, "enabled": "on" if endpoint.enabled else "",
             "events": list(endpoint.events)}
    await audit.record(session, viewer.actor, "webhook_endpoint.updated",
                       merchant_id=endpoint.merchant_id, mode=endpoint.mode,
                       object_type="webhook_endpoint", object_id=endpoint.id, details={
                           k: {"before": before[k], "after": v} for k, v in after.items()
                           if before[k] != v})
    return see_other(f"/admin/webhooks/{endpoint.id}?saved=1")


@router.get("/admin/webhooks/{endpoint_id}/rotate")
async def webhook_rotate_confirm(request: Request, session: Session, viewer: Confirmed,
                                 endpoint_id: str) -> Response:
    endpoint = await _endpoint(session, viewer, endpoint_id)
    return render(request, "webhook_rotate.html", {
        "endpoint": endpoint,
        "overlap_hours": int(service.ROTATION_OVERLAP.total_seconds() // 3600)},
        viewer=viewer)


@router.post("/admin/webhooks/{endpoint_id}/rotate")
async def webhook_rotate(request: Request, session: Session, viewer: Confirmed,
                         endpoint_id: str) -> Response:
    endpoint = await _endpoint(session, viewer, endpoint_id)
    endpoint, secret = await service.rotate_secret(
        session, ctx_of(request).keyring, scope=scope_of(viewer), endpoint_id=endpoint.id)
    await audit.record(session, viewer.actor, "webhook_endpoint.secret_rotated",
                       merchant_id=endpoint.merchant_id, mode=endpoint.mode,
                       object_type="webhook_endpoint", object_id=endpoint.id,
                       details={"previous_valid_until": str(
                           endpoint.previous_secret_expires_at)})
    return _secret_page(request, viewer, endpoint, secret, rotated=True)


@router.get("/admin/webhooks/{endpoint_id}/remove")
async def webhook_remove_confirm(request: Request, session: Session, viewer: Developer,
                                 endpoint_id: str) -> Response:
    endpoint = await _endpoint(session, viewer, endpoint_id)
    return render(request, "webhook_remove.html", {"endpoint": endpoint}, viewer=viewer)


@router.post("/admin/webhooks/{endpoint_id}/remove")
async def webhook_remove(request: Request, session: Session, viewer: Developer,
                         endpoint_id: str) -> Response:
    endpoint = await _endpoint(session, viewer, endpoint_id)
    await service.delete_endpoint(session, scope=scope_of(viewer), endpoint_id=endpoint.id)
    await audit.record(session, viewer.actor, "webhook_endpoint.removed",
                       merchant_id=endpoint.merchant_id, mode=endpoint.mode,
                       object_type="webhook_endpoint", object_id=endpoint.id,
                       details={"url": endpoint.url})
    return see_other("/admin/webhooks?removed=1")


@router.post("/admin/webhooks/{endpoint_id}/ping")
async def webhook_ping(request: Request, session: Session, viewer: Developer,
                       endpoint_id: str) -> Response:
    """Send a signed ``test.ping`` now and show the answer (nothing is stored).

    The request's transaction is committed first, so no database connection is held while
    the receiver answers (the ping reads the endpoint in its own short session); the
    result page therefore uses no query."""
    endpoint = await _endpoint(session, viewer, endpoint_id)
    await session.commit()
    result = await send_test_ping(ctx_of(request), scope=scope_of(viewer),
                                  endpoint_id=endpoint.id)
    if result.get("response_body"):
        result["response_body"] = str(result["response_body"])[:EXCERPT]
    return render(request, "webhook_ping.html", {"endpoint": endpoint, "ping": result},
                  viewer=viewer)


async def _delivery_page(request: Request, session: Session, viewer: Viewer,
                         delivery_id: str, *, notice: str | None = None,
                         error: str | None = None, status_code: int = 200) -> Response:
    try:
        delivery = await log.get_delivery(session, scope=scope_of(viewer),
                                          delivery_id=delivery_id)
    except NotFound:
        raise Gone() from None
    attempts = await log.attempts_of(session, delivery)
    body = delivery.body.decode("utf-8", "replace")
    return render(request, "webhook_delivery.html", {
        "delivery": delivery, "attempts": attempts, "body": body[:EXCERPT],
        "cut": len(body) > EXCERPT, "excerpt": EXCERPT, "notice": notice, "error": error},
        viewer=viewer, status_code=status_code)


@router.get("/admin/webhook-deliveries/{delivery_id}")
async def delivery_page(request: Request, session: Session, viewer: Reader,
                        delivery_id: str, retried: str | None = None) -> Response:
    return await _delivery_page(request, session, viewer, delivery_id, notice=(
        "The delivery is due now: the worker sends it within seconds." if retried else None))


@router.post("/admin/webhook-deliveries/{delivery_id}/retry")
async def delivery_retry(request: Request, session: Session, viewer: Developer,
                         delivery_id: str) -> Response:
    scope = scope_of(viewer)
    try:
        delivery = await log.retry_delivery(session, scope=scope, delivery_id=delivery_id)
    except NotFound:
        raise Gone() from None
    except ApiError as exc:
        return await _delivery_page(request, session, viewer, delivery_id, error=exc.message,
                                    status_code=409)
    await audit.record(session, viewer.actor, "webhook_delivery.retried",
                       merchant_id=scope.merchant_id, mode=scope.mode,
                       object_type="webhook_delivery", object_id=delivery.id)
    return see_other(f"/admin/webhook-deliveries/{delivery.id}?retried=1")
