"""The routes OwnPay's merchant API shares with ours, answered in its shapes to the keys made
for its clients.

``GET /api/v1/transactions[/{trx_id}]``, ``POST /api/v1/refunds``,
``GET /api/v1/refunds[/{trx_id}]``, ``POST /api/v1/webhooks/tests``,
``GET /api/v1/webhooks/deliveries`` and ``GET /api/v1/health`` exist in both APIs with
different shapes: theirs wrap the answer in ``{"success": true, "data": …}`` (lists with
``"meta": {page, per_page, total, total_pages}``) and paginate by page number.  A key
created with ``--dialect ownpay`` (``api_keys.dialect``) is one the merchant typed into such
a client, so :class:`DialectRouting` sends its requests to these routes (mounted under an
internal prefix, outside the documented API); every other key keeps getting ours.  Both
sides call the same services: refunds go through ``refunds/flows.py`` exactly as our
``POST /api/v1/refunds`` does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ownpay import __version__, jsoncodec
from ownpay.compat.envelope import route_class
from ownpay.compat.ownpay_api import Refused, render, render_refused
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.errors import ApiError, json_response
from ownpay.merchants.auth import load_principal
from ownpay.merchants.models import GatewayAccount
from ownpay.outbox.payloads import decimal_string
from ownpay.payments.models import PaymentIntent
from ownpay.refunds import api as refund_api
from ownpay.refunds import flows
from ownpay.refunds.models import Refund
from ownpay.refunds.schemas import validate_create
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso
from ownpay.web.body import parse_json_object, read_json_body
from ownpay.web.deps import Ctx, Reader, Session, Writer
from ownpay.web.idempotency import Answer
from ownpay.webhooks import service as webhooks
from ownpay.webhooks.delivery.ping import send_test_ping
from ownpay.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ownpay.webhooks.signing import LEGACY

DIALECT = "ownpay"
PREFIX = "/_compat/ownpay"
MAX_PAGE = 1_000_000  # an OFFSET beyond this is no page anyone reads (and stays in range)
CREATE_REFUND = "refunds.create.ownpay"  # its own Idempotency-Key operation: another shape
_ANY = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# (methods, path) of the routes both APIs have.
_SHARED = (
    (frozenset({"GET"}), re.compile(r"^/api/v1/transactions(/[^/]+)?$")),
    (frozenset({"GET", "POST"}), re.compile(r"^/api/v1/refunds(/[^/]+)?$")),
    (frozenset({"POST"}), re.compile(r"^/api/v1/webhooks/tests$")),
    (frozenset({"GET"}), re.compile(r"^/api/v1/webhooks/deliveries$")),
    (frozenset({"GET"}), re.compile(r"^/api/v1/health$")),
    # Theirs, not ours (yet): answered "not here" in their envelope, never our 404 shape.
    # Also our customers' deeper paths (``/{id}/payments``, ``/{id}/forget``): a dialect key
    # never reaches our customers API, whose shape is not OwnPay's (customers/).
    (_ANY, re.compile(r"^/api/v1/(customers|api-keys)(/[^/]*)?$")),
    (_ANY, re.compile(r"^/api/v1/customers/[^/]+/[^/]+$")),
)


def shared(method: str, path: str) -> bool:
    return any(method in methods and pattern.match(path) for methods, pattern in _SHARED)

router = APIRouter(prefix=f"{PREFIX}/api/v1", include_in_schema=False,
                   route_class=route_class(render))


class DialectRouting:
    """Send a dialect key's requests to the shared routes in its API's shapes (ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and shared(scope["method"], scope["path"])
                and await self._dialect(scope) == DIALECT):
            scope = {**scope, "path": PREFIX + scope["path"],
                     "raw_path": (PREFIX + scope["path"]).encode()}
        await self.app(scope, receive, send)

    @staticmethod
    async def _dialect(scope: Scope) -> str | None:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        kind, _, token = header.decode("latin-1").partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            return None
        ctx: AppContext = scope["app"].state.ctx
        try:
            principal = await load_principal(ctx, token.strip())
        except ApiError:
            return None  # the route's own authentication answers it
        return principal.dialect


# ---- paging --------------------------------------------------------------------------------


def _page_params(page: int | None, per_page: int | None) -> tuple[int, int]:
    problems = []
    if page is not None and not 1 <= page <= MAX_PAGE:
        problems.append(("VALIDATION_FAILED", f"The page must be between 1 and {MAX_PAGE}.",
                         "page"))
    if per_page is not None and not 1 <= per_page <= 100:
        problems.append(("VALIDATION_FAILED", "The per_page must be between 1 and 100.",
                         "per_page"))
    if problems:
        raise Refused(422, list(problems))
    return page or 1, per_page or 25


def _when(value: str | None, field: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Refused(422, [("VALIDATION_FAILED",
                             f"The {field} must be an ISO 8601 date or time.", field)]) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _meta(page: int, per_page: int, total: int) -> dict[str, int]:
    return {"page": page, "per_page": per_page, "total": total,
            "total_pages": (total + per_page - 1) // per_page}


async def _paged(session: AsyncSession, stmt: Any, page: int, per_page: int
                 ) -> tuple[list[Any], int]:
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(await session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return rows, total


# ---- transactions --------------------------------------------------------------------------


def _transaction(intent: PaymentIntent) -> dict[str, Any]:
    return {
        "id": intent.id,
        "trx_id": intent.id,
        "payment_id": intent.public_id,
        "gateway_trx_id": intent.provider_txn_id,
        "amount": decimal_string(intent.amount_minor, intent.currency),
        "currency": intent.currency,
        "fee": decimal_string(intent.fee_minor or 0, intent.currency),
        "net_amount": (decimal_string(intent.net_minor, intent.currency)
                       if intent.net_minor is not None else None),
        "status": intent.status,
        "gateway": intent.gateway or None,
        "method": intent.gateway or None,
        "reference": intent.order_id,
        "created_at": iso(intent.created_at),
        "updated_at": iso(intent.updated_at),
    }


def _scoped_payments(scope: TenantScope) -> Any:
    return select(PaymentIntent).where(PaymentIntent.merchant_id == scope.merchant_id,
                                       PaymentIntent.mode == scope.mode)


@router.get("/transactions")
async def list_transactions(
    request: Request, principal: Reader, session: Session,
    page: Annotated[int | None, Query()] = None,
    per_page: Annotated[int | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    gateway: Annotated[str | None, Query(max_length=32)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    try:
        number, size = _page_params(page, per_page)
        since, until = _when(from_, "from"), _when(to, "to")
    except Refused as exc:
        return render_refused(request, exc)
    stmt = _scoped_payments(principal.scope)
    if status:
        stmt = stmt.where(PaymentIntent.status == status)
    if gateway:
        stmt = stmt.where(PaymentIntent.gateway == gateway)
    if since:
        stmt = stmt.where(PaymentIntent.created_at >= since)
    if until:
        stmt = stmt.where(PaymentIntent.created_at <= until)
    stmt = stmt.order_by(PaymentIntent.created_at.desc(), PaymentIntent.id.desc())
    rows, total = await _paged(session, stmt, number, size)
    return json_response(200, {"success": True, "data": [_transaction(r) for r in rows],
                               "meta": _meta(number, size, total)})


@router.get("/transactions/{trx_id}")
async def get_transaction(trx_id: str, request: Request, principal: Reader,
                          session: Session) -> Response:
    stmt = _scoped_payments(principal.scope).where(
        (PaymentIntent.id == trx_id) | (PaymentIntent.public_id == trx_id.lower()))
    intent = await session.scalar(stmt)
    if intent is None:
        return render_refused(request, Refused(404, [
            ("TRANSACTION_NOT_FOUND", "Transaction not found.", "trx_id")]))
    return json_response(200, {"success": True, "data": _transaction(intent)})


# ---- refunds --------------------------------------------------------------------------------


def _refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "uuid": refund.id,
        "transaction_id": refund.payment_id,
        "trx_id": refund.payment_id,
        "gateway_trx_id": refund.provider_refund_id,
        "amount": decimal_string(refund.amount_minor, refund.currency),
        "currency": refund.currency,
        "fee": decimal_string(0, refund.currency),
        "reason": refund.reason,
        "status": refund.status,
        "processed_at": iso(refund.completed_at or refund.failed_at),
        "created_at": iso(refund.created_at),
    }


def _answer(refund: Refund) -> Answer:
    return Answer(201, jsoncodec.dumps({"success": True, "data": _refund(refund)}))


@router.post("/refunds")
async def create_refund(
    request: Request, ctx: Ctx, principal: Writer,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                  max_length=255)] = None,
) -> Response:
    """``trx_id`` (the WHMCS module) or ``transaction_id`` (the Node SDK); the refund goes
    through the same flow as ours: reserved, sent with no transaction open, recorded."""
    raw = await read_json_body(request)
    body = parse_json_object(raw)
    if "trx_id" in body and "transaction_id" not in body:
        body["transaction_id"] = body.pop("trx_id")
    body.pop("trx_id", None)
    plan = flows.RefundPlan(ctx, principal.scope, validate_create(body))
    return await refund_api.create(request, ctx, principal, plan, raw=raw,
                                   idempotency_key=idempotency_key, operation=CREATE_REFUND,
                                   answer=_answer)


def _scoped_refunds(scope: TenantScope) -> Any:
    return select(Refund).where(Refund.merchant_id == scope.merchant_id,
                                Refund.mode == scope.mode)


@router.get("/refunds")
async def list_refunds(
    request: Request, principal: Reader, session: Session,
    page: Annotated[int | None, Query()] = None,
    per_page: Annotated[int | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    trx_id: Annotated[str | None, Query(max_length=64)] = None,
    transaction_id: Annotated[str | None, Query(max_length=64)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    try:
        number, size = _page_params(page, per_page)
        since, until = _when(from_, "from"), _when(to, "to")
    except Refused as exc:
        return render_refused(request, exc)
    stmt = _scoped_refunds(principal.scope)
    if status:
        stmt = stmt.where(Refund.status == status)
    if trx_id or transaction_id:
        stmt = stmt.where(Refund.payment_id == (trx_id or transaction_id))
    if since:
        stmt = stmt.where(Refund.created_at >= since)
    if until:
        stmt = stmt.where(Refund.created_at <= until)
    stmt = stmt.order_by(Refund.created_at.desc(), Refund.id.desc())
    rows, total = await _paged(session, stmt, number, size)
    return json_response(200, {"success": True, "data": [_refund(r) for r in rows],
                               "meta": _meta(number, size, total)})


@router.get("/refunds/{trx_id}")
async def get_refund(trx_id: str, request: Request, principal: Reader,
                     session: Session) -> Response:
    """A refund by its id, or the latest refund of a transaction (what the SDK's
    ``refunds.get(trxId)`` asks)."""
    stmt = (_scoped_refunds(principal.scope)
            .where((Refund.id == trx_id) | (Refund.payment_id == trx_id))
            .order_by(Refund.created_at.desc(), Refund.id.desc()).limit(1))
    refund = await session.scalar(stmt)
    if refund is None:
        return render_refused(request, Refused(404, [
            ("REFUND_NOT_FOUND", "Refund not found.", "trx_id")]))
    return json_response(200, {"success": True, "data": _refund(refund)})


# ---- webhooks and health ------------------------------------------------------------------


@router.post("/webhooks/tests")
async def test_webhook(request: Request, ctx: Ctx, principal: Writer) -> Response:
    """The SDK's ``webhooks.test()``: no body; a signed ping to the brand's webhook endpoint
    (the first enabled one in the ``ownpay-legacy`` scheme, else the first enabled one).
    The endpoints are read in a session closed before the ping (no connection is held
    over the outbound call)."""
    async with ctx.sessions() as session:
        endpoints = [e for e in await webhooks.list_endpoints(session, scope=principal.scope)
                     if e.enabled]
    if not endpoints:
        return render_refused(request, Refused(404, [
            ("WEBHOOK_NOT_CONFIGURED", "No webhook endpoint is configured for this brand "
             "and mode.", None)]))
    endpoint = next((e for e in endpoints if e.scheme == LEGACY), endpoints[0])
    result = await send_test_ping(ctx, scope=principal.scope, endpoint_id=endpoint.id)
    return json_response(200, {"success": True, "data": {
        "status_code": result["status_code"], "response_time_ms": result["duration_ms"]}})


@router.get("/webhooks/deliveries")
async def list_deliveries(principal: Reader, session: Session) -> Response:
    """The SDK's ``webhooks.deliveries()``: the brand's 50 latest deliveries, newest first."""
    d = WebhookDelivery
    rows = (await session.execute(
        select(d, WebhookEndpoint.url)
        .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
        .where(d.merchant_id == principal.merchant_id, d.mode == principal.mode)
        .order_by(d.created_at.desc(), d.id.desc()).limit(50)
    )).all()
    durations = dict((await session.execute(
        select(WebhookAttempt.delivery_id, func.max(WebhookAttempt.duration_ms))
        .where(WebhookAttempt.delivery_id.in_([row[0].id for row in rows]))
        .group_by(WebhookAttempt.delivery_id)
    )).all()) if rows else {}
    return json_response(200, {"success": True, "data": [{
        "id": delivery.id, "event": delivery.event_type, "url": url, "direction": "outbound",
        "status_code": delivery.last_status_code,
        "response_time_ms": durations.get(delivery.id),
        "attempt": delivery.attempts, "status": delivery.status,
        "created_at": iso(delivery.created_at),
    } for delivery, url in rows]})


@router.get("/health")
async def health(ctx: Ctx, principal: Reader, session: Session) -> Response:
    """The SDK's ``health()``: our health check, in its shape."""
    gateways = await session.scalar(select(func.count()).select_from(GatewayAccount).where(
        GatewayAccount.merchant_id == principal.merchant_id,
        GatewayAccount.mode == principal.mode, GatewayAccount.active.is_(True)))
    return json_response(200, {"success": True, "data": {
        "status": "healthy", "version": __version__, "db": "connected",
        "gateways": int(gateways or 0), "time": iso(utcnow())}})


# ---- what their API has and ours does not --------------------------------------------------


_NOT_SERVED = {
    "customers": ("CUSTOMERS_NOT_AVAILABLE",
                  "Customers are not available on this server; send the customer's name, "
                  "e-mail and phone with each payment."),
    "api-keys": ("API_KEYS_NOT_AVAILABLE",
                 "API keys are managed by the operator (ownpay api-keys), not through the API."),
}


async def _not_served(request: Request, area: str) -> Response:
    code, message = _NOT_SERVED[area]
    return render_refused(request, Refused(404, [(code, message, None)]))


@router.api_route("/customers", methods=sorted(_ANY))
@router.api_route("/customers/{item}", methods=sorted(_ANY))
@router.api_route("/customers/{item}/{action}", methods=sorted(_ANY))
async def customers_not_served(request: Request, principal: Reader) -> Response:
    """The SDK's ``customers`` calls from a dialect key: 404 in its envelope, with a code
    that says what to do instead."""
    return await _not_served(request, "customers")


@router.api_route("/api-keys", methods=sorted(_ANY))
@router.api_route("/api-keys/{item}", methods=sorted(_ANY))
async def api_keys_not_served(request: Request, principal: Reader) -> Response:
    """The SDK's ``apiKeys`` calls from a dialect key: 404 in its envelope."""
    return await _not_served(request, "api-keys")
