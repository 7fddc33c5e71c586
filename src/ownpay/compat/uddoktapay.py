"""UddoktaPay's API, as its PHP library and its WHMCS / WooCommerce / SMM-panel plugins
speak it (``compat/keyed.py`` holds what it shares with the PipraPay facade).

The key travels in ``RT-UDDOKTAPAY-API-KEY`` (one of the brand's OwnPay keys; the brand must
have switched this facade on: ``ownpay compat enable uddoktapay``).  Every answer of these
routes, errors included, is ``{"status": bool, "message": …}``-shaped as their clients read
it -- never our envelope:

* ``POST /api/checkout-v2`` (and ``/api/checkout-v2/global``): ``full_name``, ``email``,
  ``amount``, ``metadata``, ``redirect_url``, ``return_type`` (GET|POST), ``cancel_url``,
  ``webhook_url``; optional ``currency`` (BDT when absent) → ``{"status": true, "message":
  "Payment Url", "payment_url"}``.  The customer comes back to ``redirect_url`` with
  ``invoice_id`` (query for GET, a posted form field for POST).
* ``POST /api/verify-payment {"invoice_id"}`` → the payment (``outbox/payloads.py``
  ``uddoktapay_payment``: the same body the IPN carries).
* ``POST /api/refund-payment {transaction_id, payment_method, amount, product_name,
  reason}`` → ``{"status": bool, "message"}``, through the refunds flow.

HTTP statuses: 400 for a bad body, 401 for a missing, wrong or switched-off key, 403 for a
key without the scope, 404 for an unknown invoice or transaction, 409/413/415/429 as ours.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from ownpay import jsoncodec
from ownpay.compat import keyed
from ownpay.compat.envelope import route_class
from ownpay.compat.switches import UDDOKTAPAY
from ownpay.compat.uddoktapay_schemas import (
    CheckoutCreate,
    CheckoutCreated,
    Outcome,
    RefundCreate,
    VerifyPayment,
    VerifyRequest,
)
from ownpay.errors import ApiError, ValidationFailed, json_response
from ownpay.merchants.auth import Principal
from ownpay.outbox.payloads import uddoktapay_payment
from ownpay.payments import service as payments
from ownpay.refunds import api as refund_api
from ownpay.refunds import flows
from ownpay.refunds.models import Refund
from ownpay.refunds.schemas import validate_create as validate_refund
from ownpay.web.body import parse_json_object, read_json_body
from ownpay.web.deps import Ctx, Session
from ownpay.web.idempotency import Answer

API = UDDOKTAPAY
HEADER = "RT-UDDOKTAPAY-API-KEY"
TAG = "Compatibility: UddoktaPay"
CREATE = "payments.create.uddoktapay"  # Idempotency-Key operations
REFUND = "refunds.create.uddoktapay"
BAD_KEY = "Invalid API Key"
# The OwnPay merchant API's field names (what plan_payment reports) → this API's.
_NAMES = {"callback_url": "webhook_url", "customer_name": "full_name",
          "customer_email": "email"}


def render(request: Request, exc: ApiError | RequestValidationError) -> Response:
    """Every error of these routes as ``{"status": false, "message"}``."""
    if isinstance(exc, RequestValidationError):
        return _refusal(400, "Invalid request.")
    if exc.status_code == 401:
        return _refusal(401, BAD_KEY)
    message = exc.message
    if isinstance(exc, ValidationFailed) and exc.errors:
        message = next(iter(exc.errors.values()))[0]
    return json_response(exc.status_code, {"status": False, "message": message},
                         dict(exc.headers or {}) or None)


def _refusal(status: int, message: str) -> Response:
    return json_response(status, {"status": False, "message": message})


def _problem(exc: keyed.Problem) -> Response:
    return _refusal(exc.status_code, exc.message)


router = APIRouter(prefix="/api", tags=[TAG], route_class=route_class(render))
Reader = Annotated[Principal, Depends(keyed.principal_for(API, HEADER, "read"))]
Writer = Annotated[Principal, Depends(keyed.principal_for(API, HEADER, "write"))]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255,
    description="Optional (their clients send none): same key + same body replays the "
    "first answer for 48 h.")]


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meanings = {400: "A bad body: not JSON, a missing or invalid field.",
                401: f"`{BAD_KEY}`: no key, an unknown or revoked one, or the brand has not "
                     "switched this API on.",
                403: "The key lacks the scope.", 404: "No such invoice or transaction.",
                409: "The Idempotency-Key was used with another body.",
                413: "The body is over 64 KiB.", 415: "The body is not JSON.",
                429: "Too many requests."}
    return {s: {"description": meanings[s], "model": Outcome} for s in statuses}


def _body_schema(model: Any) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}


async def _checkout(request: Request, ctx: Ctx, principal: Principal,
                    idempotency_key: str | None) -> Response:
    raw = await read_json_body(request)
    body = parse_json_object(raw)
    try:
        missing = [n for n in ("full_name", "email", "amount", "redirect_url")
                   if keyed.text(body, n) is None]
        if missing:
            raise keyed.Problem(400, f"The {missing[0]} field is required.")
        redirect = keyed.string_field(body, "redirect_url")
        fields = {
            "amount": body.get("amount"),
            "currency": keyed.text(body, "currency") or "BDT",
            "customer_name": keyed.text(body, "full_name"),
            "customer_email": keyed.text(body, "email"),
            "redirect_url": redirect,
            "cancel_url": keyed.string_field(body, "cancel_url") or redirect,
            "callback_url": keyed.text(body, "webhook_url"),
            "metadata": body.get("metadata"),
        }
        method = keyed.return_method(body)
        planned = await keyed.plan(ctx, principal, fields, _NAMES)
    except keyed.Problem as exc:
        return _problem(exc)
    how = keyed.Creation(api=API, operation=CREATE, return_method=method,
                         api_key=keyed.the_key(request, HEADER))
    return await keyed.create(ctx, principal, request, raw, planned, how, _created,
                              idempotency_key)


def _created(created: payments.CreatedIntent) -> Answer:
    return Answer(200, jsoncodec.dumps({"status": True, "message": "Payment Url",
                                        "payment_url": created.payment_url}))


_CHECKOUT_DOC = dict(summary="Create a payment (UddoktaPay checkout-v2)",
                     response_model=CheckoutCreated,
                     responses=_responses(400, 401, 403, 409, 413, 415, 429),
                     openapi_extra=_body_schema(CheckoutCreate))


@router.post("/checkout-v2", **_CHECKOUT_DOC)  # type: ignore[arg-type]
async def checkout_v2(request: Request, ctx: Ctx, principal: Writer,
                      idempotency_key: IdempotencyKey = None) -> Response:
    """Needs `write`.  Without a gateway the customer chooses on the checkout page."""
    return await _checkout(request, ctx, principal, idempotency_key)


@router.post("/checkout-v2/global", **_CHECKOUT_DOC)  # type: ignore[arg-type]
async def checkout_v2_global(request: Request, ctx: Ctx, principal: Writer,
                             idempotency_key: IdempotencyKey = None) -> Response:
    """The same as `/api/checkout-v2` (their international checkout; `currency` is honoured
    on both, within what the brand's gateways take)."""
    return await _checkout(request, ctx, principal, idempotency_key)


@router.post("/verify-payment", summary="Verify a payment (UddoktaPay)",
             response_model=VerifyPayment, responses=_responses(400, 401, 403, 404, 413, 415,
                                                                429),
             openapi_extra=_body_schema(VerifyRequest))
async def verify_payment(request: Request, principal: Reader, session: Session) -> Response:
    """Needs `read`.  Any payment of the key's brand and mode by its `invoice_id`, whichever
    of our APIs created it."""
    body = parse_json_object(await read_json_body(request))
    if keyed.text(body, "invoice_id") is None:
        return _refusal(400, "The invoice_id field is required.")
    payment = await keyed.find(session, principal.scope, body.get("invoice_id"))
    if payment is None:
        return _refusal(404, "Invalid Invoice ID")
    return json_response(200, uddoktapay_payment(payment))


def _refund_answer(refund: Refund) -> Answer:
    ok = refund.status != "failed"
    message = {"completed": "Refund completed.", "failed": "Refund failed."}.get(
        refund.status, "Refund is being processed.")
    return Answer(200, jsoncodec.dumps({"status": ok, "message": message}))


@router.post("/refund-payment", summary="Refund a payment (UddoktaPay)",
             response_model=Outcome,
             responses=_responses(400, 401, 403, 404, 409, 413, 415, 429),
             openapi_extra=_body_schema(RefundCreate))
async def refund_payment(request: Request, ctx: Ctx, principal: Writer,
                         idempotency_key: IdempotencyKey = None) -> Response:
    """Needs `write`.  `transaction_id` is the verify answer's (our `txn_…` id); `amount`
    (default: what is left) and `reason` go to the refunds flow -- the same state machine
    and ledger as `POST /api/v1/refunds`; `payment_method` and `product_name` are accepted
    and ignored."""
    raw = await read_json_body(request)
    body = parse_json_object(raw)
    reason = keyed.text(body, "reason")
    product = keyed.text(body, "product_name")
    if reason is None and isinstance(product, str):
        reason = product
    refund_request = validate_refund({"transaction_id": keyed.text(body, "transaction_id"),
                                      "amount": keyed.text(body, "amount"),
                                      "reason": reason[:500] if isinstance(reason, str)
                                      else reason})
    plan = flows.RefundPlan(ctx, principal.scope, refund_request)
    return await refund_api.create(request, ctx, principal, plan, raw=raw,
                                   idempotency_key=idempotency_key, operation=REFUND,
                                   answer=_refund_answer)
