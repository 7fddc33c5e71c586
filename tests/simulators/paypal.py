"""A stateful stand-in for PayPal's REST API, following its public docs
(developer.paypal.com: "Authentication" (``POST /v1/oauth2/token``, client credentials),
"Orders v2" (create, show details, capture; ``PayPal-Request-Id`` idempotency; statuses
``CREATED`` / ``APPROVED`` / ``COMPLETED`` / ``VOIDED``; errors ``UNPROCESSABLE_ENTITY``
with ``details[].issue`` such as ``ORDER_NOT_APPROVED``, ``INSTRUMENT_DECLINED``,
``ORDER_ALREADY_CAPTURED``), "Payments v2" (refund a captured payment, show refund details,
show captured payment) and "Webhooks" (``verify-webhook-signature``)):

* Bearer tokens from ``/v1/oauth2/token`` (HTTP Basic ``client_id:client_secret``, form
  ``grant_type=client_credentials``); every other API call wants one (401
  ``INVALID_TOKEN`` otherwise);
* orders: intent ``CAPTURE``, one purchase unit, amount as a decimal string (no decimals for
  HUF, JPY, TWD: ``DECIMAL_PRECISION``), the ``payer-action`` link to the approve page;
* the approve page ``/checkoutnow?token=ORDER``: "Pay" approves the order and sends the
  browser to ``return_url?token=…&PayerID=…``, "Cancel" to ``cancel_url?token=…``;
* capture: only an ``APPROVED`` order; the same ``PayPal-Request-Id`` replays the answer;
* refunds on a capture (partial; never more than is left), idempotent by
  ``PayPal-Request-Id``; refund details;
* webhooks: the stand-in signs what it sends (an HMAC over
  ``transmission_id|transmission_time|webhook_id|crc32(body)``, standing in for PayPal's
  certificate signature) and its verify-webhook-signature API answers ``SUCCESS`` only for
  a delivery it signed, for the configured webhook id, with the event unchanged.

Serve it with :class:`tests.simulators.loopback.Loopback` (``create_app()``) and drive it
through ``app.state.sim``.  Knobs:

* ``tamper``: figures overridden in every order and capture answer (``{"amount": "1.00"}``,
  ``{"currency": "EUR"}``, ``{"custom_id": "txn_other"}``);
* ``capture_issue``: the next captures are refused with this ``details[].issue``
  (``INSTRUMENT_DECLINED``, …); ``capture_status``: what a capture becomes (``COMPLETED``,
  ``PENDING``, ``DECLINED``);
* ``delay`` / ``drop`` / ``down``: per operation (``token``, ``create``, ``get``,
  ``capture``, ``refund``, ``get_refund``, ``verify``) seconds to stall after acting, drop
  the connection after acting, or answer 503 before acting;
* ``status``: per operation, an HTTP status answered before acting (429 ``RATE_LIMIT_REACHED``,
  409 a ``PayPal-Request-Id`` still in progress, …); ``garbage``: operations answered 200
  with a body that is no JSON object;
* ``refund_status``: what a new refund starts as (``COMPLETED`` or ``PENDING``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

CLIENT_ID = "AStandInClientId-OwnPay0123456789"
CLIENT_SECRET = "EStandInClientSecret-0123456789abcdef"  # noqa: S105 - the stand-in's
WEBHOOK_ID = "8PT597110X687430LStandIn"
SIGNING_KEY = "standin_paypal_webhook_signing_key"  # the stand-in's "certificate"
CURRENCIES = {"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY",
              "MYR", "MXN", "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF",
              "THB", "USD"}
NO_DECIMALS = {"HUF", "JPY", "TWD"}


def _id(n: int = 17) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXY0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signature(transmission_id: str, when: str, webhook_id: str, body: bytes) -> str:
    """The stand-in's transmission signature (written independently of the adapter, which
    never computes one: it asks the verify API)."""
    message = f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(body)}".encode()
    return base64.b64encode(hmac.new(SIGNING_KEY.encode(), message,
                                     hashlib.sha256).digest()).decode()


def error(status: int, name: str, message: str, issue: str | None = None,
          description: str = "") -> JSONResponse:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": _id(13).lower(),
                            "links": [{"href": "https://developer.paypal.com/docs/api/"
                                       "orders/v2/#error-" + (issue or name),
                                       "rel": "information_link", "method": "GET"}]}
    if issue:
        body["details"] = [{"issue": issue, "description": description or message}]
    return JSONResponse(body, status_code=status)


def unprocessable(issue: str, description: str) -> JSONResponse:
    return error(422, "UNPROCESSABLE_ENTITY",
                 "The requested action could not be performed, semantically incorrect, or "
                 "failed business validation.", issue, description)


@dataclass
class SimCapture:
    id: str
    order_id: str
    value: str
    currency: str
    custom_id: str
    invoice_id: str
    status: str
    refunds: list[str] = field(default_factory=list)

    def minor(self) -> Decimal:
        return Decimal(self.value)


@dataclass
class SimRefund:
    id: str
    capture_id: str
    value: str
    currency: str
    custom_id: str
    invoice_id: str
    status: str


@dataclass
class SimOrder:
    id: str
    body: dict[str, Any]
    status: str = "CREATED"
    payer_id: str = ""
    capture: SimCapture | None = None
    created: str = field(default_factory=_now)

    @property
    def unit(self) -> dict[str, Any]:
        unit: dict[str, Any] = self.body["purchase_units"][0]
        return unit

    @property
    def context(self) -> dict[str, Any]:
        source = self.body.get("payment_source") or {}
        ctx = (source.get("paypal") or {}).get("experience_context") \
            or self.body.get("application_context") or {}
        return dict(ctx)


class Dropped(Response):
    """An answer cut off mid-body: the stand-in acted, the caller gets no answer."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"500")]})
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": False})


class PayPalSimulator:
    def __init__(self, base_url: str = "") -> None:
        self.base_url = base_url
        self.tokens: set[str] = set()
        self.orders: dict[str, SimOrder] = {}
        self.captures: dict[str, SimCapture] = {}
        self.refunds: dict[str, SimRefund] = {}
        self.replays: dict[tuple[str, str], tuple[int, Any]] = {}
        self.sent: dict[str, tuple[str, str, bytes]] = {}  # transmission id -> (time, sig, body)
        self.tamper: dict[str, Any] = {}
        self.capture_issue: str | None = None
        self.capture_status = "COMPLETED"
        self.refund_status = "COMPLETED"
        self.delay: dict[str, float] = {}
        self.drop: set[str] = set()
        self.down: set[str] = set()
        self.status: dict[str, int] = {}
        self.garbage: set[str] = set()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # ---- state --------------------------------------------------------------------------

    def order(self, order_id: str) -> SimOrder:
        return self.orders[order_id]

    def refunded(self, capture_id: str) -> int:
        """Minor units (cents; whole units for no-decimal currencies) paid back."""
        total = Decimal(0)
        currency = "USD"
        for r in self.refunds.values():
            if r.capture_id == capture_id and r.status == "COMPLETED":
                total += Decimal(r.value)
                currency = r.currency
        return int(total if currency == "JPY" else total * 100)

    def settle_refunds(self, status: str = "COMPLETED") -> None:
        for r in self.refunds.values():
            if r.status == "PENDING":
                r.status = status

    # ---- the payer on the approve page ---------------------------------------------------

    def approve(self, order_id: str) -> str:
        """The payer approves: the return URL the browser is sent to."""
        order = self.order(order_id)
        if order.status == "CREATED":
            order.status = "APPROVED"
            order.payer_id = _id(13)
        target = str(order.context.get("return_url") or "")
        query = urlencode({"token": order.id, "PayerID": order.payer_id})
        return f"{target}{'&' if '?' in target else '?'}{query}"

    def cancel(self, order_id: str) -> str:
        order = self.order(order_id)
        target = str(order.context.get("cancel_url") or "")
        return f"{target}{'&' if '?' in target else '?'}{urlencode({'token': order.id})}"

    # ---- answers ------------------------------------------------------------------------

    def capture_entity(self, capture: SimCapture) -> dict[str, Any]:
        status = capture.status
        refunded = sum((Decimal(self.refunds[r].value) for r in capture.refunds
                        if self.refunds[r].status != "FAILED"), Decimal(0))
        if status == "COMPLETED" and refunded:
            status = "REFUNDED" if refunded >= capture.minor() else "PARTIALLY_REFUNDED"
        entity: dict[str, Any] = {
            "id": capture.id, "status": status,
            "amount": {"currency_code": self.tamper.get("currency", capture.currency),
                       "value": self.tamper.get("amount", capture.value)},
            "final_capture": True, "custom_id": self.tamper.get("custom_id",
                                                                capture.custom_id),
            "invoice_id": capture.invoice_id,
            "seller_protection": {"status": "ELIGIBLE"},
            "supplementary_data": {"related_ids": {"order_id": capture.order_id}},
            "create_time": _now(), "update_time": _now(),
            "links": [{"href": f"{self.base_url}/v2/payments/captures/{capture.id}",
                       "rel": "self", "method": "GET"},
                      {"href": f"{self.base_url}/v2/payments/captures/{capture.id}/refund",
                       "rel": "refund", "method": "POST"}],
        }
        if status == "PENDING":
            entity["status_details"] = {"reason": "PENDING_REVIEW"}
        return entity

    def order_entity(self, order: SimOrder) -> dict[str, Any]:
        unit = dict(order.unit)
        amount = dict(unit["amount"])
        if "amount" in self.tamper:
            amount["value"] = self.tamper["amount"]
        if "currency" in self.tamper:
            amount["currency_code"] = self.tamper["currency"]
        unit["amount"] = amount
        if "custom_id" in self.tamper:
            unit["custom_id"] = unit["invoice_id"] = self.tamper["custom_id"]
        unit.setdefault("reference_id", "default")
        unit["payee"] = {"email_address": "merchant@example.com",
                         "merchant_id": "STANDINMERCHANT"}
        if order.capture is not None:
            unit["payments"] = {"captures": [self.capture_entity(order.capture)]}
            if order.capture.refunds:
                unit["payments"]["refunds"] = [self.refund_entity(self.refunds[r])
                                               for r in order.capture.refunds]
        entity: dict[str, Any] = {
            "id": order.id, "intent": order.body.get("intent", "CAPTURE"),
            "status": order.status, "purchase_units": [unit], "create_time": order.created,
            "links": [{"href": f"{self.base_url}/v2/checkout/orders/{order.id}",
                       "rel": "self", "method": "GET"}],
        }
        if order.status in ("CREATED", "PAYER_ACTION_REQUIRED"):
            entity["links"].append({"href": f"{self.base_url}/checkoutnow?token={order.id}",
                                    "rel": "payer-action", "method": "GET"})
        if order.payer_id:
            entity["payer"] = {"payer_id": order.payer_id,
                               "email_address": "payer@example.com",
                               "name": {"given_name": "John", "surname": "Doe"}}
            entity["payment_source"] = {"paypal": {"account_id": order.payer_id,
                                                   "email_address": "payer@example.com"}}
        return entity

    def create_order(self, body: dict[str, Any]) -> JSONResponse | dict[str, Any]:
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
            return error(400, "INVALID_REQUEST", "Request is not well-formed.",
                         "MISSING_REQUIRED_PARAMETER", "intent")
        units = body.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1:
            return error(400, "INVALID_REQUEST", "Request is not well-formed.",
                         "INVALID_ARRAY_MAX_ITEMS", "purchase_units")
        amount = units[0].get("amount") or {}
        currency = str(amount.get("currency_code") or "")
        value = str(amount.get("value") or "")
        if currency not in CURRENCIES:
            return unprocessable("CURRENCY_NOT_SUPPORTED", "Currency code is not supported.")
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            return error(400, "INVALID_REQUEST", "Request is not well-formed.",
                         "INVALID_PARAMETER_SYNTAX", "amount.value")
        if parsed <= 0:
            return unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.")
        places = -parsed.as_tuple().exponent  # type: ignore[operator]
        if (currency in NO_DECIMALS and places > 0) or places > 2:
            return unprocessable("DECIMAL_PRECISION",
                                 "The value of the field should not be more than two decimal "
                                 "places (none for HUF, JPY and TWD).")
        custom = str(units[0].get("custom_id") or "")
        if len(custom) > 127:
            return error(400, "INVALID_REQUEST", "Request is not well-formed.",
                         "INVALID_STRING_LENGTH", "custom_id")
        order = SimOrder(id=_id(), body=body)
        self.orders[order.id] = order
        return self.order_entity(order)

    def capture(self, order_id: str) -> JSONResponse | dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            return error(404, "RESOURCE_NOT_FOUND",
                         "The specified resource does not exist.", "INVALID_RESOURCE_ID",
                         "Specified resource ID does not exist.")
        if order.status == "COMPLETED":
            return unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.")
        if order.status != "APPROVED":
            return unprocessable("ORDER_NOT_APPROVED",
                                 "Payer has not yet approved the Order for payment.")
        if self.capture_issue:
            return unprocessable(self.capture_issue, "The instrument presented was either "
                                 "declined by the processor or bank, or it can't be used.")
        unit = order.unit
        cap = SimCapture(id=_id(), order_id=order.id, value=unit["amount"]["value"],
                         currency=unit["amount"]["currency_code"],
                         custom_id=str(unit.get("custom_id") or ""),
                         invoice_id=str(unit.get("invoice_id") or ""),
                         status=self.capture_status)
        self.captures[cap.id] = cap
        order.capture = cap
        order.status = "COMPLETED"
        return self.order_entity(order)

    def refund(self, capture_id: str, body: dict[str, Any]) -> JSONResponse | dict[str, Any]:
        cap = self.captures.get(capture_id)
        if cap is None:
            return error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                         "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
        if cap.status != "COMPLETED":
            return unprocessable("PENDING_CAPTURE", "Cannot initiate a refund as the capture "
                                 "is pending.")
        amount = body.get("amount") or {"value": cap.value, "currency_code": cap.currency}
        if amount.get("currency_code") != cap.currency:
            return unprocessable("REFUND_CAPTURE_CURRENCY_MISMATCH",
                                 "Refund must be in the same currency as the capture.")
        value = Decimal(str(amount.get("value")))
        taken = sum((Decimal(self.refunds[r].value) for r in cap.refunds
                     if self.refunds[r].status != "FAILED"), Decimal(0))
        if taken >= cap.minor():
            return unprocessable("CAPTURE_FULLY_REFUNDED",
                                 "The capture has already been fully refunded.")
        if taken + value > cap.minor():
            return unprocessable("REFUND_AMOUNT_EXCEEDED",
                                 "The refund amount must be less than or equal to the "
                                 "capture amount that has not yet been refunded.")
        refund = SimRefund(id=_id(), capture_id=cap.id, value=str(amount["value"]),
                           currency=cap.currency, custom_id=str(body.get("custom_id") or ""),
                           invoice_id=str(body.get("invoice_id") or ""),
                           status=self.refund_status)
        self.refunds[refund.id] = refund
        cap.refunds.append(refund.id)
        return self.refund_entity(refund)

    def refund_entity(self, refund: SimRefund) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "id": refund.id, "status": refund.status,
            "amount": {"currency_code": refund.currency, "value": refund.value},
            "custom_id": refund.custom_id, "invoice_id": refund.invoice_id,
            "create_time": _now(), "update_time": _now(),
            "links": [{"href": f"{self.base_url}/v2/payments/refunds/{refund.id}",
                       "rel": "self", "method": "GET"},
                      {"href": f"{self.base_url}/v2/payments/captures/{refund.capture_id}",
                       "rel": "up", "method": "GET"}],
        }
        if refund.status == "PENDING":
            entity["status_details"] = {"reason": "ECHECK"}
        return entity

    # ---- webhooks -----------------------------------------------------------------------

    def sign(self, body: bytes, *, webhook_id: str = WEBHOOK_ID) -> dict[str, str]:
        """Headers for a delivery of ``body``, remembered so the verify API knows it."""
        transmission_id = str(secrets.token_hex(16))
        when = _now()
        sig = signature(transmission_id, when, webhook_id, body)
        self.sent[transmission_id] = (when, sig, body)
        return {"Content-Type": "application/json",
                "PAYPAL-TRANSMISSION-ID": transmission_id, "PAYPAL-TRANSMISSION-TIME": when,
                "PAYPAL-TRANSMISSION-SIG": sig, "PAYPAL-AUTH-ALGO": "SHA256withRSA",
                "PAYPAL-CERT-URL": f"{self.base_url}/v1/notifications/certs/CERT-STANDIN"}

    def event(self, event_type: str, resource: dict[str, Any], resource_type: str) -> bytes:
        return json.dumps({
            "id": "WH-" + _id(), "event_version": "1.0", "create_time": _now(),
            "resource_type": resource_type, "resource_version": "2.0",
            "event_type": event_type, "summary": f"{event_type} (stand-in)",
            "resource": resource,
        }).encode()

    def order_event(self, order_id: str, event_type: str = "CHECKOUT.ORDER.APPROVED"
                    ) -> tuple[dict[str, str], bytes]:
        body = self.event(event_type, self.order_entity(self.order(order_id)), "checkout-order")
        return self.sign(body), body

    def capture_event(self, capture_id: str, event_type: str = "PAYMENT.CAPTURE.COMPLETED"
                      ) -> tuple[dict[str, str], bytes]:
        body = self.event(event_type, self.capture_entity(self.captures[capture_id]),
                          "capture")
        return self.sign(body), body

    def refund_event(self, refund_id: str) -> tuple[dict[str, str], bytes]:
        body = self.event("PAYMENT.CAPTURE.REFUNDED",
                          self.refund_entity(self.refunds[refund_id]), "refund")
        return self.sign(body), body

    def verify(self, request: dict[str, Any]) -> str:
        known = self.sent.get(str(request.get("transmission_id") or ""))
        if known is None:
            return "FAILURE"
        when, _sig, body = known
        event = request.get("webhook_event")
        expected = signature(str(request.get("transmission_id")),
                             str(request.get("transmission_time")),
                             str(request.get("webhook_id")), body)
        if (request.get("transmission_time") != when
                or not hmac.compare_digest(str(request.get("transmission_sig") or ""),
                                           expected)
                or request.get("webhook_id") != WEBHOOK_ID
                or request.get("auth_algo") != "SHA256withRSA"
                or event != json.loads(body)):
            return "FAILURE"
        return "SUCCESS"

    async def send(self, url: str, http: httpx.AsyncClient,
                   headers_body: tuple[dict[str, str], bytes], *, times: int = 1
                   ) -> list[httpx.Response]:
        headers, body = headers_body
        return [await http.post(url, content=body, headers=headers) for _ in range(times)]

    async def answer(self, operation: str, body: Any, status: int = 200) -> Response:
        if operation in self.delay:
            await asyncio.sleep(self.delay[operation])
        if operation in self.drop:
            return Dropped()
        return body if isinstance(body, Response) else JSONResponse(body, status_code=status)


def approve_page(order: SimOrder) -> str:
    amount = order.unit["amount"]
    title = html.escape(str(order.unit.get("description") or ""))
    figure = f"{html.escape(amount['currency_code'])} {html.escape(amount['value'])}"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PayPal (stand-in)</title></head><body style="margin:0;background:#f5f7fa">
<main style="font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:1rem 1.25rem;
background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002">
<h1 style="font-size:1.3rem;color:#003087">PayPal stand-in</h1>
<p>{title}</p><p style="font-size:1.5rem"><strong>{figure}</strong></p>
<p>Signed in as payer@example.com</p>
<form method="post" action="/checkoutnow/{order.id}">
<button name="choice" value="approve" type="submit"
 style="width:100%;padding:.8rem;font-size:1rem;background:#0070ba;color:#fff;border:0;
 border-radius:24px">Pay now</button>
<button name="choice" value="cancel" type="submit"
 style="width:100%;margin-top:.5rem;padding:.6rem;background:#fff;border:1px solid #ccc;
 border-radius:24px">Cancel and return to the merchant</button></form></main></body></html>"""


def _basic_ok(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        pair = base64.b64decode(header[6:]).decode()
    except ValueError:
        return False
    return hmac.compare_digest(pair, f"{CLIENT_ID}:{CLIENT_SECRET}")


def create_app(sim: PayPalSimulator | None = None) -> FastAPI:
    app = FastAPI()
    app.state.sim = sim = sim or PayPalSimulator()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        if not sim.base_url:
            sim.base_url = str(request.base_url).rstrip("/")
        path = request.url.path
        if path.startswith(("/v1/", "/v2/")) and path != "/v1/oauth2/token":
            header = request.headers.get("authorization", "")
            if not header.startswith("Bearer ") or header[7:] not in sim.tokens:
                return JSONResponse({"error": "invalid_token",
                                     "error_description": "Token signature verification "
                                     "failed"}, status_code=401)
        response: Response = await call_next(request)
        return response

    def down(operation: str) -> Response | None:
        if operation in sim.down:
            return error(503, "SERVICE_UNAVAILABLE", "Service Unavailable.")
        if operation in sim.status:
            code = sim.status[operation]
            name = {429: "RATE_LIMIT_REACHED", 409: "CONFLICT"}.get(code, "INVALID_REQUEST")
            return error(code, name, "Stand-in answer.")
        if operation in sim.garbage:
            return Response(b"<html>gateway timeout</html>", media_type="text/html")
        return None

    async def replayed(request: Request, operation: str, act: Any) -> Response:
        key = request.headers.get("paypal-request-id")
        if key and (operation, key) in sim.replays:
            status, body = sim.replays[(operation, key)]
            return await sim.answer(operation, body, status)
        answer = act()
        if isinstance(answer, JSONResponse):
            return answer
        status = 201
        if key:
            sim.replays[(operation, key)] = (status, answer)
        return await sim.answer(operation, answer, status)

    @app.post("/v1/oauth2/token")
    async def token(request: Request) -> Response:
        form = await request.form()
        sim.calls.append(("token", {"grant_type": form.get("grant_type")}))
        if (d := down("token")) is not None:
            return d
        if not _basic_ok(request):
            return JSONResponse({"error": "invalid_client",
                                 "error_description": "Client Authentication failed"},
                                status_code=401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "Grant Type is NULL"}, status_code=400)
        access = "A21AA" + secrets.token_urlsafe(24)
        sim.tokens.add(access)
        return await sim.answer("token", {
            "scope": "https://uri.paypal.com/services/payments/payment "
                     "https://uri.paypal.com/services/applications/verify-webhook-signature",
            "access_token": access, "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
            "expires_in": 32400, "nonce": _now() + secrets.token_hex(8)})

    @app.post("/v2/checkout/orders")
    async def create(request: Request) -> Response:
        body = await request.json()
        sim.calls.append(("create", body))
        if (d := down("create")) is not None:
            return d
        return await replayed(request, "create", lambda: sim.create_order(body))

    @app.get("/v2/checkout/orders/{order_id}")
    async def get(order_id: str) -> Response:
        sim.calls.append(("get", {"id": order_id}))
        if (d := down("get")) is not None:
            return d
        order = sim.orders.get(order_id)
        if order is None:
            return error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                         "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
        return await sim.answer("get", sim.order_entity(order))

    @app.post("/v2/checkout/orders/{order_id}/capture")
    async def capture(order_id: str, request: Request) -> Response:
        sim.calls.append(("capture", {"id": order_id,
                                      "key": request.headers.get("paypal-request-id")}))
        if (d := down("capture")) is not None:
            return d
        return await replayed(request, "capture", lambda: sim.capture(order_id))

    @app.post("/v2/payments/captures/{capture_id}/refund")
    async def refund(capture_id: str, request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        sim.calls.append(("refund", {**body, "capture_id": capture_id,
                                     "key": request.headers.get("paypal-request-id")}))
        if (d := down("refund")) is not None:
            return d
        return await replayed(request, "refund", lambda: sim.refund(capture_id, body))

    @app.get("/v2/payments/refunds/{refund_id}")
    async def get_refund(refund_id: str) -> Response:
        sim.calls.append(("get_refund", {"id": refund_id}))
        found = sim.refunds.get(refund_id)
        if found is None:
            return error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                         "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
        return await sim.answer("get_refund", sim.refund_entity(found))

    @app.get("/v2/payments/captures/{capture_id}")
    async def get_capture(capture_id: str) -> Response:
        found = sim.captures.get(capture_id)
        if found is None:
            return error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                         "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
        return await sim.answer("get_capture", sim.capture_entity(found))

    @app.post("/v1/notifications/verify-webhook-signature")
    async def verify(request: Request) -> Response:
        body = await request.json()
        sim.calls.append(("verify", {"transmission_id": body.get("transmission_id")}))
        if (d := down("verify")) is not None:
            return d
        return await sim.answer("verify", {"verification_status": sim.verify(body)})

    @app.get("/checkoutnow")
    async def page(token: str = "") -> Response:
        order = sim.orders.get(token)
        if order is None:
            return HTMLResponse("<p>Sorry, this page is not available.</p>", status_code=404)
        if order.status != "CREATED":
            return HTMLResponse(f"<p>This order is {order.status}.</p>")
        return HTMLResponse(approve_page(order))

    @app.post("/checkoutnow/{order_id}")
    async def decide(order_id: str, request: Request) -> Response:
        if order_id not in sim.orders:
            return HTMLResponse("<p>Sorry, this page is not available.</p>", status_code=404)
        choice = str((await request.form()).get("choice") or "approve")
        target = sim.approve(order_id) if choice == "approve" else sim.cancel(order_id)
        return RedirectResponse(target, status_code=303)

    return app


def main() -> None:  # pragma: no cover - by hand: python -m tests.simulators.paypal
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="PayPal stand-in")
    parser.add_argument("--port", type=int, default=8424)
    args = parser.parse_args()
    print(f"client_id={CLIENT_ID} client_secret={CLIENT_SECRET} "  # noqa: T201
          f"webhook_id={WEBHOOK_ID} base_url=http://127.0.0.1:{args.port}")
    uvicorn.run(create_app(PayPalSimulator(f"http://127.0.0.1:{args.port}")),
                host="127.0.0.1", port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
