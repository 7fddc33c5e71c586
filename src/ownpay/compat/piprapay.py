"""PipraPay's API (v2, open source), as its WHMCS module, SDKs and plugins speak it
(``compat/keyed.py`` holds what it shares with the UddoktaPay facade).

The key travels in ``mh-piprapay-api-key`` (one of the brand's OwnPay keys; the brand must
have switched this facade on: ``ownpay compat enable piprapay``).  Errors are
``{"status": false, "message": …}`` and, as PipraPay answers them, **400** -- a wrong key
too (``Unauthorized request. Invalid API key.``); only 413, 415, 409 and 429 keep their own
status:

* ``POST /api/create-charge`` with every one of ``full_name``, ``email_mobile``, ``amount``,
  ``metadata``, ``redirect_url``, ``cancel_url``, ``webhook_url``, ``return_type``,
  ``currency`` (else ``Missing required field(s): …``) → ``{"status": true, "pp_id",
  "pp_url"}``.  ``email_mobile`` with an ``@`` is the customer's email, else their phone.
  The customer comes back to ``redirect_url`` with ``pp_id``.
* ``POST /api/verify-payments {"pp_id"}`` → the payment (``outbox/payloads.py``
  ``piprapay_payment``: the same body the webhook carries); a payment unknown to the key,
  or not paid, is ``Invalid Transaction``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from ownpay import jsoncodec
from ownpay.compat import keyed
from ownpay.compat.envelope import route_class
from ownpay.compat.piprapay_schemas import (
    ChargeCreate,
    ChargeCreated,
    Outcome,
    VerifyPayment,
    VerifyRequest,
)
from ownpay.compat.switches import PIPRAPAY
from ownpay.errors import ApiError, ValidationFailed, json_response
from ownpay.merchants.auth import Principal
from ownpay.outbox.payloads import PAID_STATUSES, piprapay_payment
from ownpay.payments import service as payments
from ownpay.web.body import parse_json_object, read_json_body
from ownpay.web.deps import Ctx, Session
from ownpay.web.idempotency import Answer

API = PIPRAPAY
HEADER = "mh-piprapay-api-key"
TAG = "Compatibility: PipraPay"
CREATE = "payments.create.piprapay"  # the Idempotency-Key operation
BAD_KEY = "Unauthorized request. Invalid API key."
REQUIRED = ("full_name", "email_mobile", "amount", "metadata", "redirect_url", "cancel_url",
            "webhook_url", "return_type", "currency")
_KEEP = {409, 413, 415, 429}  # statuses that stay as they are; the rest is 400
_NAMES = {"callback_url": "webhook_url", "customer_name": "full_name",
          "customer_email": "email_mobile", "customer_phone": "email_mobile"}


def render(request: Request, exc: ApiError | RequestValidationError) -> Response:
    """Every error of these routes as ``{"status": false, "message"}``, 400 mostly."""
    if isinstance(exc, RequestValidationError):
        return _refusal(400, "Invalid request.")
    if exc.status_code == 401:
        return _refusal(400, BAD_KEY)
    message = exc.message
    if isinstance(exc, ValidationFailed) and exc.errors:
        message = next(iter(exc.errors.values()))[0]
    status = exc.status_code if exc.status_code in _KEEP else 400
    return json_response(status, {"status": False, "message": message},
                         dict(exc.headers or {}) or None)


def _refusal(status: int, message: str) -> Response:
    return json_response(status, {"status": False, "message": message})


router = APIRouter(prefix="/api", tags=[TAG], route_class=route_class(render))
Reader = Annotated[Principal, Depends(keyed.principal_for(API, HEADER, "read"))]
Writer = Annotated[Principal, Depends(keyed.principal_for(API, HEADER, "write"))]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255,
    description="Optional (their clients send none): same key + same body replays the "
    "first answer for 48 h.")]


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meanings = {400: f"A bad body, a missing field, `{BAD_KEY}` (no key, an unknown or "
                     "revoked one, a key without the scope, or the brand has not switched "
                     "this API on), or `Invalid Transaction`.",
                409: "The Idempotency-Key was used with another body.",
                413: "The body is over 64 KiB.", 415: "The body is not JSON.",
                429: "Too many requests."}
    return {s: {"description": meanings[s], "model": Outcome} for s in statuses}


def _body_schema(model: Any) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}


@router.post("/create-charge", summary="Create a payment (PipraPay create-charge)",
             response_model=ChargeCreated, responses=_responses(400, 409, 413, 415, 429),
             openapi_extra=_body_schema(ChargeCreate))
async def create_charge(request: Request, ctx: Ctx, principal: Writer,
                        idempotency_key: IdempotencyKey = None) -> Response:
    """Needs `write`.  Every field is required (their contract); without a gateway the
    customer chooses on the checkout page."""
    raw = await read_json_body(request)
    body = parse_json_object(raw)
    try:
        missing = [n for n in REQUIRED if keyed.text(body, n) is None]
        if missing:
            raise keyed.Problem(400, f"Missing required field(s): {', '.join(missing)}")
        contact = keyed.string_field(body, "email_mobile") or ""
        redirect = keyed.string_field(body, "redirect_url")
        fields = {
            "amount": body.get("amount"),
            "currency": body.get("currency"),
            "customer_name": keyed.text(body, "full_name"),
            ("customer_email" if "@" in contact else "customer_phone"): contact,
            "redirect_url": redirect,
            "cancel_url": keyed.string_field(body, "cancel_url") or redirect,
            "callback_url": keyed.text(body, "webhook_url"),
            "metadata": body.get("metadata"),
        }
        method = keyed.return_method(body)
        planned = await keyed.plan(ctx, principal, fields, _NAMES)
    except keyed.Problem as exc:
        return _refusal(400 if exc.status_code not in _KEEP else exc.status_code,
                        exc.message)
    how = keyed.Creation(api=API, operation=CREATE, return_method=method,
                         api_key=keyed.the_key(request, HEADER))
    return await keyed.create(ctx, principal, request, raw, planned, how, _created,
                              idempotency_key)


def _created(created: payments.CreatedIntent) -> Answer:
    return Answer(200, jsoncodec.dumps({"status": True, "pp_id": created.public_id,
                                        "pp_url": created.payment_url}))


@router.post("/verify-payments", summary="Verify a payment (PipraPay)",
             response_model=VerifyPayment, responses=_responses(400, 413, 415, 429),
             openapi_extra=_body_schema(VerifyRequest))
async def verify_payments(request: Request, principal: Reader, session: Session) -> Response:
    """Needs `read`.  A paid payment of the key's brand and mode by its `pp_id`, whichever
    of our APIs created it; anything else is `Invalid Transaction`."""
    body = parse_json_object(await read_json_body(request))
    if keyed.text(body, "pp_id") is None:
        return _refusal(400, "Missing required field(s): pp_id")
    payment = await keyed.find(session, principal.scope, body.get("pp_id"))
    if payment is None or payment.status not in PAID_STATUSES:
        return _refusal(400, "Invalid Transaction")
    return json_response(200, piprapay_payment(payment))
