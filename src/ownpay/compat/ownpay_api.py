"""OwnPay's current merchant API, ``/api/v1/payments``, as its clients speak it.

The clients (OwnPay's Node.js and Laravel SDKs, its WHMCS module and WooCommerce plugin)
create a payment with ``POST /api/v1/payments`` and expect **201** with
``{"success": true, "data": {"payment_id", "token", "checkout_url", "status"}}``; they read
it back with ``GET /api/v1/payments/{payment_id}`` and errors in the envelope
``{"success": false, "error", "errors": [{"code", "message", "field"}], "request_id"}``.

Underneath it is one payment like any other: the body is checked by the payment-intents
validator (exact amounts per currency, strict URLs), the intent is created by
``payments.service.create_intent`` (``api="ownpay"``, so the checkout appends
``payment_id`` and ``status`` to the return URL) with the same ``Idempotency-Key`` rules,
and the payment's ``callback_url`` becomes an ``ownpay-legacy`` webhook endpoint bound to
it (``webhooks/callbacks.py``).  Without ``gateway`` the customer chooses among the brand's
methods on the checkout page (``payments/methods.py``); with one method only, that one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from ownpay import jsoncodec, money
from ownpay.compat.envelope import request_id, route_class
from ownpay.compat.ownpay_schemas import CompatError, PaymentCreate, PaymentCreated, PaymentRead
from ownpay.context import AppContext
from ownpay.errors import ApiError, GatewayNotFound, ValidationFailed, json_response
from ownpay.gateways import registry
from ownpay.merchants.accounts import active_gateway, find_active_gateway
from ownpay.merchants.auth import Principal
from ownpay.outbox.payloads import decimal_string
from ownpay.payments import methods, repository
from ownpay.payments import service as payments
from ownpay.payments.models import PaymentIntent
from ownpay.payments.schemas import NewIntent, validate_create
from ownpay.timefmt import iso
from ownpay.web import idempotency
from ownpay.web.body import parse_json_object, read_json_body
from ownpay.web.deps import Ctx, Reader, Session, Writer
from ownpay.web.idempotency import Answer, Idempotency
from ownpay.webhooks import callbacks, ssrf
from ownpay.webhooks.service import check_url_addresses

API = "ownpay"
TAG = "Compatibility: OwnPay merchant API"
CREATE_PAYMENT = "payments.create"  # the Idempotency-Key operation name
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# ---- the envelope ---------------------------------------------------------------------------


class Refused(Exception):
    """A request refused in this API's terms: status and ``(code, message, field)`` items."""

    def __init__(self, status_code: int, errors: list[tuple[str, str, str | None]]) -> None:
        super().__init__(errors[0][1])
        self.status_code, self.errors = status_code, errors


def _body(request: Request, errors: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    return {
        "success": False,
        "error": errors[0][1],
        "errors": [{"code": c, "message": m, "field": f} for c, m, f in errors],
        "request_id": request_id(request),
    }


def render(request: Request, exc: ApiError | RequestValidationError) -> Response:
    """Any error of these routes, in this API's envelope (validation is 422 here)."""
    if isinstance(exc, RequestValidationError):
        items = [("VALIDATION_FAILED", str(e.get("msg")),
                  ".".join(str(p) for p in e.get("loc", ())[1:]) or None) for e in exc.errors()]
        return json_response(422, _body(request, items or [
            ("VALIDATION_FAILED", "Validation failed.", None)]))
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    status = exc.status_code
    if isinstance(exc, ValidationFailed):
        status = 422
        items = [("VALIDATION_FAILED", message, field)
                 for field, messages in (exc.errors or {}).items() for message in messages]
    else:
        items = [(exc.code, exc.message, None)]
    return json_response(status, _body(request, items or [
        (exc.code, exc.message, None)]), headers or None)


def render_refused(request: Request, exc: Refused) -> Response:
    return json_response(exc.status_code, _body(request, exc.errors))


router = APIRouter(prefix="/api/v1/payments", tags=[TAG], route_class=route_class(render))


# ---- creating a payment ---------------------------------------------------------------------

# The payment-intents validator's field → this API's field, and the code a bad value gets.
_FIELDS = {"order_id": "reference", "return_url": "redirect_url", "description": "reference"}
_CODES = {"amount": "INVALID_AMOUNT", "currency": "INVALID_CURRENCY",
          "redirect_url": "INVALID_REDIRECT_URL", "cancel_url": "INVALID_CANCEL_URL",
          "callback_url": "INVALID_CALLBACK_URL"}
_WORDS = (("order id", "reference"), ("return url", "redirect_url"),
          ("cancel url", "cancel_url"), ("customer email", "customer_email"),
          ("customer name", "customer_name"), ("customer phone", "customer_phone"))


def _ours(field: str, message: str) -> tuple[str, str, str | None]:
    name = _FIELDS.get(field, field)
    for theirs, mine in _WORDS:
        message = message.replace(f"The {theirs}", f"The {mine}")
    if name == "redirect_url" and message.endswith("field is required."):
        message = "A redirect_url (or a callback_url) is required."
    return _CODES.get(name, "VALIDATION_FAILED"), message, name


@dataclass(frozen=True)
class Plan:
    new: NewIntent
    callback_url: str | None


def _text(body: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = body.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return None


async def plan_payment(ctx: AppContext, principal: Principal, body: dict[str, Any]) -> Plan:
    """Every field checked at once, in this API's terms; then the gateway (or the methods
    the customer may choose from).  Unknown fields are ignored: the clients send some (the
    WHMCS module's ``logo_url``)."""
    callback = _text(body, "callback_url")
    reference = _text(body, "reference")
    translated = {
        "gateway": _text(body, "gateway"),
        "amount": body.get("amount"),
        "currency": body.get("currency"),
        "order_id": reference,
        "description": reference,
        "customer_name": _text(body, "customer_name"),
        "customer_email": _text(body, "customer_email", "customer_mail"),
        "customer_phone": _text(body, "customer_phone"),
        "return_url": _text(body, "redirect_url", "callback_url"),
        "cancel_url": _text(body, "cancel_url", "callback_url"),
        "metadata": body.get("metadata"),
    }
    new, errors = validate_create(translated, max_minor=ctx.settings.max_amount_minor,
                                  required=("amount", "currency", "return_url"), strict=False)
    # A return address taken from callback_url is reported once, as callback_url's.
    borrowed = {"return_url": _text(body, "redirect_url") is None,
                "cancel_url": _text(body, "cancel_url") is None}
    refused: list[tuple[str, str, str | None]] = []
    for field, messages in errors.items():
        if field == "description" or (borrowed.get(field) and callback is not None):
            continue
        refused += [_ours(field, message) for message in messages]
    callback_url: str | None = None
    if callback is not None:
        try:
            if not isinstance(callback, str):
                raise ssrf.UnsafeUrl("The callback_url must be a string.")
            callback_url = ssrf.validate_url(callback, mode=principal.mode,
                                             allow_private=ctx.settings.webhooks_allow_private)
        except ssrf.UnsafeUrl as exc:
            refused.append(("INVALID_CALLBACK_URL", str(exc), "callback_url"))
    if refused or new is None:
        raise Refused(422, refused)
    if callback_url is not None:
        try:
            await check_url_addresses(ctx.settings, callback_url)
        except ValidationFailed as exc:
            messages = [m for ms in (exc.errors or {}).values() for m in ms]
            raise Refused(422, [("INVALID_CALLBACK_URL", m, "callback_url")
                                for m in messages]) from None
    return Plan(await _with_gateway(ctx, principal, new), callback_url)


async def _with_gateway(ctx: AppContext, principal: Principal, new: NewIntent) -> NewIntent:
    if new.gateway:
        adapter = registry.get(new.gateway)
        if (adapter is None or principal.mode not in adapter.modes
                or await active_gateway(ctx, principal.scope, new.gateway) is None):
            raise GatewayNotFound(f"Gateway '{new.gateway}' is not configured or inactive.")
        reason = methods.refusal(new.gateway, principal.mode, new.amount_minor, new.currency)
        if reason is not None:
            field = "currency" if "accepts only" in reason else "amount"
            raise Refused(422, [(_CODES[field], reason, field)])
        return new
    async with ctx.sessions() as session:
        offered = await methods.available(session, principal.scope, new.amount_minor,
                                          new.currency)
    if not offered:
        amount = money.format_plain(new.amount_minor, new.currency)
        raise Refused(422, [("NO_PAYMENT_METHOD",
                             f"No payment method of this brand can take {amount}.", "gateway")])
    return replace(new, gateway=offered[0].gateway) if len(offered) == 1 else new


def created_answer(created: payments.CreatedIntent) -> Answer:
    return Answer(201, jsoncodec.dumps({"success": True, "data": {
        "payment_id": created.public_id,
        "token": created.transaction_id,
        "checkout_url": created.payment_url,
        "status": "pending",
    }}))


async def _create(conn: AsyncConnection, ctx: AppContext, principal: Principal,
                  plan: Plan, public_id: str) -> payments.CreatedIntent:
    new = plan.new if plan.new.order_id else replace(plan.new, order_id=public_id)
    created = await payments.create_intent(conn, ctx, principal, new, api=API,
                                           public_id=public_id)
    if plan.callback_url is not None:
        await callbacks.add_endpoint(conn, principal.scope, payment_id=created.transaction_id,
                                     url=plan.callback_url)
    return created


def _error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meanings = {400: "`INVALID_JSON`: the body is not one JSON object.",
                401: "No, a malformed, unknown or revoked API key.",
                403: "The key lacks the route's scope.", 404: "No such payment or gateway.",
                409: "`IDEMPOTENCY_KEY_REUSED` or `ORDER_ALREADY_PAID`.",
                413: "The body is over 1 MiB.", 415: "The body is not JSON.",
                422: "Validation failed: `errors` lists every problem.",
                429: "Too many requests."}
    return {status: {"description": meanings[status], "model": CompatError}
            for status in statuses}


@router.post("", status_code=201, summary="Create a payment (OwnPay merchant API)",
             response_model=PaymentCreated,
             responses=_error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": PaymentCreate.model_json_schema()}}}})
async def create_payment(
    request: Request, ctx: Ctx, principal: Writer,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=255,
        description="Same key + same body replays the first answer for 48 h.")] = None,
) -> Response:
    """Needs the `write` scope.  **201** with the checkout URL (the WHMCS module and the
    WooCommerce plugin accept nothing else); errors in this API's envelope."""
    try:
        raw = await read_json_body(request)
        plan = await plan_payment(ctx, principal, parse_json_object(raw))
    except Refused as exc:
        return render_refused(request, exc)
    public_id = _new_public_id()
    outcome = await idempotency.create_once(
        ctx, Idempotency.of(principal.scope, idempotency_key, raw, operation=CREATE_PAYMENT),
        begin=ctx.engine.begin,
        create=lambda conn: _create(conn, ctx, principal, plan, public_id),
        answer=created_answer,
    )
    return Response(outcome.answer.body, status_code=outcome.answer.status_code,
                    media_type="application/json", headers=idempotency.replay_headers(outcome))


def _new_public_id() -> str:
    return str(uuid.uuid4())


# ---- reading it back --------------------------------------------------------------------------


PaymentId = Annotated[str, Path(description="The payment's UUID (`payment_id`).")]


def serialize(intent: PaymentIntent, method: str | None) -> dict[str, Any]:
    return {
        "id": intent.public_id,
        "trx_id": intent.id,
        "gateway_trx_id": intent.provider_txn_id,
        "amount": decimal_string(intent.amount_minor, intent.currency),
        "currency": intent.currency,
        "fee": decimal_string(intent.fee_minor or 0, intent.currency),
        "status": intent.status,
        "gateway": intent.gateway or None,
        "method": method,
        "reference": intent.order_id,
        "created_at": iso(intent.created_at),
        "completed_at": iso(intent.paid_at),
        "customer": {"name": intent.customer_name or None,
                     "email": intent.customer_email or None},
    }


@router.get("/{payment_id}", summary="Retrieve a payment (OwnPay merchant API)",
            response_model=PaymentRead, responses=_error_responses(401, 403, 404, 422, 429))
async def get_payment(payment_id: PaymentId, request: Request, principal: Reader,
                      session: Session) -> Response:
    """Needs the `read` scope.  Another brand's or mode's payment, or an unknown one, is 404
    `PAYMENT_NOT_FOUND`; an id that is not a UUID is 422 `INVALID_PAYMENT_ID`.  Payments
    created through any of our APIs are found by their UUID."""
    candidate = payment_id.strip().lower()
    if not _UUID.fullmatch(candidate):
        return render_refused(request, Refused(422, [
            ("INVALID_PAYMENT_ID", "The payment id must be a UUID.", "payment_id")]))
    intent = await repository.by_public_id(session, principal.scope, candidate)
    if intent is None:
        return render_refused(request, Refused(404, [
            ("PAYMENT_NOT_FOUND", "Payment not found.", "payment_id")]))
    method = None
    if intent.gateway:  # the request's own session: no second connection (SQLite has one)
        account = await find_active_gateway(session, principal.scope, intent.gateway)
        adapter = registry.get(intent.gateway)
        method = (account.display_name if account and account.display_name
                  else adapter.display_name if adapter else intent.gateway)
    return json_response(200, {"success": True, "data": serialize(intent, method)})
