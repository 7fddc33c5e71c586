"""A stateful stand-in for Razorpay's REST API (``/v1/``) and Checkout.js, following its
public docs (razorpay.com/docs: "Orders" (create, fetch, fetch all by ``receipt``, fetch an
order's payments), "Payments" (fetch, capture), "Refunds" (create a normal refund,
idempotent with ``X-Refund-Idempotency``; fetch one; fetch a payment's refunds), "Standard
Checkout" (the options and the success handler's ``razorpay_payment_id``,
``razorpay_order_id``, ``razorpay_signature`` = HMAC-SHA256(key secret, ``order_id|
payment_id``)) and "Webhooks" (``X-Razorpay-Signature`` over the raw body)):

* HTTP Basic ``key_id:key_secret`` on every API call (401 with Razorpay's error object);
* orders: amount in subunits (INR at least 100, three-decimal currencies ending in 0),
  receipt at most 40 characters, notes at most 15; ``created`` -> ``attempted`` (a payment
  tried) -> ``paid`` (a payment captured);
* payments: ``authorized`` then, with the order's ``payment_capture`` 1, ``captured`` at
  once; capture (only ``authorized``, only the whole amount in the payment's currency);
* refunds: create (partial, never more than is left), fetch, list;
* ``/v1/checkout.js``: a tiny Checkout.js.  ``new Razorpay(options).open()`` shows a small
  form ("Pay", "Make this attempt fail", "Close"); paying asks the stand-in
  (``POST /checkout/pay``, CORS) which records the payment and answers the signed handler
  fields, then the script calls ``options.handler``; failure calls the ``payment.failed``
  listeners; close calls ``modal.ondismiss``.

Serve it with :class:`tests.simulators.loopback.Loopback` (``create_app()``) and drive it
through ``app.state.sim``.  Knobs:

* ``tamper``: figures overridden in every answer (``{"amount": 100}``,
  ``{"currency": "USD"}`` on payments; ``{"receipt": "txn_other"}`` on orders);
* ``delay`` / ``drop`` / ``down``: per operation (``create_order``, ``fetch_order``,
  ``orders``, ``order_payments``, ``payment``, ``capture``, ``refund``, ``fetch_refund``,
  ``refunds``, ``checkout_pay``) seconds to stall after acting, drop the connection after
  acting, or answer 503 before acting;
* ``refund_status``: what a new refund starts as (``processed`` or ``pending``);
* ``auto_capture``: whether ``payment_capture`` 1 captures (False: payments stay
  ``authorized``, as on an account set to capture manually);
* ``checkout_choice``: what the Checkout.js form does by itself when opened (``None``:
  wait for a click; ``success``, ``fail``, ``dismiss``, ``duplicate`` (the handler called
  twice), ``forged`` (a wrong signature));
* ``fail_reason`` / ``fail_code`` / ``fail_source`` / ``fail_step``: what a failed attempt
  reports (any ``reason`` of Razorpay's published error lists; default ``payment_failed``);
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

KEY_ID = "rzp_test_OwnPayStandIn"
KEY_SECRET = "standin_key_secret_0123456789"  # noqa: S105 - the stand-in's test secret
WEBHOOK_SECRET = "standin_webhook_secret_42"  # noqa: S105
CURRENCIES = {"INR", "USD", "EUR", "GBP", "AUD", "CAD", "SGD", "AED", "SAR", "QAR", "HKD",
              "CHF", "NZD", "SEK", "DKK", "NOK", "ZAR", "MYR", "THB", "LKR", "NPR", "BDT",
              "CNY", "KES", "JPY", "KWD", "BHD", "OMR"}


def _id(prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(14))


def sign(secret: str, message: bytes) -> str:
    """HMAC-SHA256 hex, as Razorpay signs Checkout's answer and webhooks (written
    independently of the adapter's)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def error(status: int, description: str, field_name: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": "BAD_REQUEST_ERROR", "description": description,
                                      "source": "business", "step": "payment_initiation",
                                      "reason": "input_validation_failed", "metadata": {}}}
    if field_name:
        body["error"]["field"] = field_name
    return JSONResponse(body, status_code=status)


@dataclass
class SimRefund:
    id: str
    payment_id: str
    amount: int
    currency: str
    receipt: str
    notes: dict[str, Any]
    status: str
    created_at: int

    def entity(self) -> dict[str, Any]:
        return {"id": self.id, "entity": "refund", "amount": self.amount,
                "currency": self.currency, "payment_id": self.payment_id, "notes": self.notes,
                "receipt": self.receipt or None, "acquirer_data": {"arn": None},
                "created_at": self.created_at, "batch_id": None, "status": self.status,
                "speed_processed": "normal", "speed_requested": "normal"}


@dataclass
class SimPayment:
    id: str
    order_id: str
    amount: int
    currency: str
    status: str  # authorized | captured | failed
    method: str = "upi"
    # A failed payment's error as Razorpay reports it: (code, reason, source, step).
    error: tuple[str, str, str, str] = ("BAD_REQUEST_ERROR", "payment_failed", "issuer_bank",
                                        "payment_authorization")
    created_at: int = field(default_factory=lambda: int(time.time()))


@dataclass
class SimOrder:
    id: str
    amount: int
    currency: str
    receipt: str
    notes: dict[str, Any]
    payment_capture: bool = True
    payments: list[SimPayment] = field(default_factory=list)
    created_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def status(self) -> str:
        if any(p.status == "captured" for p in self.payments):
            return "paid"
        return "attempted" if self.payments else "created"


class Dropped(Response):
    """An answer cut off mid-body: the stand-in acted, the caller gets no answer."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"500")]})
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": False})


class RazorpaySimulator:
    def __init__(self, base_url: str = "") -> None:
        self.base_url = base_url
        self.orders: dict[str, SimOrder] = {}
        self.payments: dict[str, SimPayment] = {}
        self.refunds: dict[str, SimRefund] = {}
        self.idempotency: dict[str, tuple[str, str]] = {}  # key -> (body digest, refund id)
        self.tamper: dict[str, Any] = {}
        self.delay: dict[str, float] = {}
        self.drop: set[str] = set()
        self.down: set[str] = set()
        self.refund_status = "processed"
        self.auto_capture = True
        self.checkout_choice: str | None = None
        # What a failed attempt reports (``error_reason`` etc. on the payment, ``reason``
        # etc. in the ``payment.failed`` answer): any reason Razorpay documents.
        self.fail_reason = "payment_failed"
        self.fail_code = "BAD_REQUEST_ERROR"
        self.fail_source = "issuer_bank"
        self.fail_step = "payment_authorization"
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # ---- state --------------------------------------------------------------------------

    def order(self, order_id: str) -> SimOrder:
        return self.orders[order_id]

    def refunded(self, payment_id: str) -> int:
        return sum(r.amount for r in self.refunds.values()
                   if r.payment_id == payment_id and r.status == "processed")

    def settle_refunds(self, status: str = "processed") -> None:
        for r in self.refunds.values():
            if r.status == "pending":
                r.status = status

    # ---- what the customer does in Checkout.js ----------------------------------------------

    def pay(self, order_id: str, choice: str = "success") -> dict[str, str] | None:
        """The customer pays (or fails to) in Checkout's form: the handler's fields after a
        success (None after a failure: the form stays open for another try)."""
        order = self.order(order_id)
        if order.status == "paid":
            return None
        status = "failed" if choice == "fail" else (
            "captured" if order.payment_capture and self.auto_capture else "authorized")
        payment = SimPayment(id=_id("pay_"), order_id=order.id, amount=order.amount,
                             currency=order.currency, status=status,
                             error=(self.fail_code, self.fail_reason, self.fail_source,
                                    self.fail_step))
        self.payments[payment.id] = payment
        order.payments.append(payment)
        if choice == "fail":
            return None
        return self.handler_fields(order.id, payment.id)

    @staticmethod
    def handler_fields(order_id: str, payment_id: str,
                       secret: str = KEY_SECRET) -> dict[str, str]:
        return {"razorpay_payment_id": payment_id, "razorpay_order_id": order_id,
                "razorpay_signature": sign(secret, f"{order_id}|{payment_id}".encode())}

    # ---- answers ------------------------------------------------------------------------

    def order_entity(self, order: SimOrder) -> dict[str, Any]:
        paid = sum(p.amount for p in order.payments if p.status == "captured")
        entity = {"id": order.id, "entity": "order", "amount": order.amount,
                  "amount_paid": paid, "amount_due": order.amount - paid,
                  "currency": order.currency, "receipt": order.receipt or None,
                  "offer_id": None, "status": order.status, "attempts": len(order.payments),
                  "notes": order.notes or [], "created_at": order.created_at}
        if "receipt" in self.tamper:
            entity["receipt"] = self.tamper["receipt"]
        return entity

    def payment_entity(self, payment: SimPayment) -> dict[str, Any]:
        refunded = sum(r.amount for r in self.refunds.values()
                       if r.payment_id == payment.id and r.status != "failed")
        status = payment.status
        if status == "captured" and refunded >= payment.amount:
            status = "refunded"
        failed = payment.status == "failed"
        entity = {
            "id": payment.id, "entity": "payment", "amount": payment.amount,
            "currency": payment.currency, "status": status, "order_id": payment.order_id,
            "invoice_id": None, "international": payment.currency != "INR",
            "method": payment.method, "amount_refunded": refunded,
            "refund_status": None if not refunded else (
                "full" if refunded >= payment.amount else "partial"),
            "captured": payment.status == "captured", "description": "", "card_id": None,
            "bank": None, "wallet": None, "vpa": "gaurav.kumar@exampleupi",
            "email": "gaurav.kumar@example.com", "contact": "+919000090000", "notes": [],
            "fee": payment.amount // 50, "tax": 0,
            "error_code": payment.error[0] if failed else None,
            "error_description": "Payment failed" if failed else None,
            "error_reason": payment.error[1] if failed else None,
            "error_source": payment.error[2] if failed else None,
            "error_step": payment.error[3] if failed else None,
            "created_at": payment.created_at,
        }
        for name in ("amount", "currency"):
            if name in self.tamper:
                entity[name] = self.tamper[name]
        return entity

    def create_order(self, body: dict[str, Any]) -> JSONResponse | dict[str, Any]:
        amount = body.get("amount")
        currency = str(body.get("currency") or "INR")
        receipt = str(body.get("receipt") or "")
        notes = body.get("notes") or {}
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return error(400, "The amount must be an integer.", "amount")
        if currency not in CURRENCIES:
            return error(400, "The currency is invalid.", "currency")
        if currency == "INR" and amount < 100:
            return error(400, "The amount must be atleast INR 1.00", "amount")
        if currency in ("KWD", "BHD", "OMR") and amount % 10:
            return error(400, "The last decimal of the amount must be 0.", "amount")
        if len(receipt) > 40:
            return error(400, "The receipt may not be greater than 40 characters.", "receipt")
        if not isinstance(notes, dict) or len(notes) > 15 or any(
                len(str(v)) > 256 for v in notes.values()):
            return error(400, "notes: at most 15 keys of 256 characters", "notes")
        order = SimOrder(id=_id("order_"), amount=amount, currency=currency, receipt=receipt,
                         notes=dict(notes),
                         payment_capture=body.get("payment_capture") in (1, True, "1"))
        self.orders[order.id] = order
        return self.order_entity(order)

    def capture(self, payment_id: str, body: dict[str, Any]) -> JSONResponse | dict[str, Any]:
        payment = self.payments.get(payment_id)
        if payment is None:
            return error(400, "The id provided does not exist", "id")
        if payment.status == "captured":
            return error(400, "This payment has already been captured")
        if payment.status != "authorized":
            return error(400, "Only payments which have been authorized and not yet captured "
                              "can be captured")
        if body.get("amount") != payment.amount:
            return error(400, "Capture amount must be equal to the amount authorized",
                         "amount")
        if body.get("currency") not in (None, payment.currency):
            return error(400, "The currency should be the payment's", "currency")
        payment.status = "captured"
        return self.payment_entity(payment)

    def create_refund(self, payment_id: str, body: dict[str, Any],
                      key: str | None) -> JSONResponse | dict[str, Any]:
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if key is not None:
            if len(key) < 10:
                return error(400, "The idempotency key must be at least 10 characters.")
            if key in self.idempotency:
                seen_digest, refund_id = self.idempotency[key]
                if seen_digest != digest:
                    return error(400, "The request body differs from the idempotent "
                                      "request with this key.")
                return self.refunds[refund_id].entity()
        payment = self.payments.get(payment_id)
        if payment is None:
            return error(400, "The id provided does not exist", "id")
        if payment.status != "captured":
            return error(400, "The payment has not been captured", "id")
        amount = body.get("amount", payment.amount)
        taken = sum(r.amount for r in self.refunds.values()
                    if r.payment_id == payment_id and r.status != "failed")
        if not isinstance(amount, int) or amount <= 0:
            return error(400, "The amount must be an integer.", "amount")
        if payment.currency == "INR" and amount < 100:
            return error(400, "The amount must be at least INR 1.00", "amount")
        if taken + amount > payment.amount:
            return error(400, "The refund amount provided is greater than amount captured",
                         "amount")
        refund = SimRefund(id=_id("rfnd_"), payment_id=payment_id, amount=amount,
                           currency=payment.currency, receipt=str(body.get("receipt") or ""),
                           notes=dict(body.get("notes") or {}), status=self.refund_status,
                           created_at=int(time.time()) + len(self.refunds))
        self.refunds[refund.id] = refund
        if key is not None:
            self.idempotency[key] = (digest, refund.id)
        return refund.entity()

    def webhook(self, event: str, *, order_id: str | None = None, payment_id: str | None = None,
                refund_id: str | None = None, secret: str = WEBHOOK_SECRET
                ) -> tuple[dict[str, str], bytes]:
        """A webhook as Razorpay posts it: headers and the raw body."""
        payload: dict[str, Any] = {}
        if refund_id is not None:
            refund = self.refunds[refund_id]
            payload["refund"] = {"entity": refund.entity()}
            payment_id = payment_id or refund.payment_id
        if payment_id is not None:
            payment = self.payments[payment_id]
            payload["payment"] = {"entity": self.payment_entity(payment)}
            order_id = order_id or payment.order_id
        if order_id is not None and event.startswith("order."):
            payload["order"] = {"entity": self.order_entity(self.order(order_id))}
        body = json.dumps({"entity": "event", "account_id": "acc_StandIn0000001",
                           "event": event, "contains": sorted(payload),
                           "payload": payload, "created_at": int(time.time())}).encode()
        headers = {"Content-Type": "application/json",
                   "X-Razorpay-Signature": sign(secret, body),
                   "X-Razorpay-Event-Id": "evt_" + secrets.token_hex(7)}
        return headers, body

    async def send_webhook(self, url: str, http: httpx.AsyncClient, event: str, *,
                           times: int = 1, **ids: str) -> list[httpx.Response]:
        headers, body = self.webhook(event, **ids)
        return [await http.post(url, content=body, headers=headers) for _ in range(times)]

    async def answer(self, operation: str, body: dict[str, Any] | JSONResponse,
                     headers: dict[str, str] | None = None) -> Response:
        if operation in self.delay:
            await asyncio.sleep(self.delay[operation])
        if operation in self.drop:
            return Dropped()
        if isinstance(body, Response):
            body.headers.update(headers or {})
            return body
        return JSONResponse(body, headers=headers)


# The stand-in's Checkout.js: the part of Razorpay's that our page uses (the constructor,
# open(), on("payment.failed"), handler, modal.ondismiss), with a tiny form of its own.
CHECKOUT_JS = """(function () {
  "use strict";
  var origin = %(origin)s;
  function Razorpay(options) {
    this.options = options || {};
    this.listeners = {};
  }
  Razorpay.prototype.on = function (name, fn) { this.listeners[name] = fn; };
  Razorpay.prototype.close = function () {
    var box = document.getElementById("rzp-standin");
    if (box) { box.parentNode.removeChild(box); }
  };
  Razorpay.prototype.act = function (choice) {
    var self = this, o = this.options;
    if (choice === "dismiss") {
      self.close();
      if (o.modal && o.modal.ondismiss) { o.modal.ondismiss(); }
      return;
    }
    fetch(origin + "/checkout/pay", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({key: o.key, order_id: o.order_id, amount: o.amount,
                            currency: o.currency, choice: choice})
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (answer.error) {
        if (self.listeners["payment.failed"]) { self.listeners["payment.failed"](answer); }
        return;
      }
      self.close();
      o.handler(answer);
      if (choice === "duplicate") { o.handler(answer); }
    });
  };
  Razorpay.prototype.open = function () {
    var self = this, o = this.options;
    var box = document.createElement("div");
    box.id = "rzp-standin";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Razorpay (stand-in)");
    box.style.cssText = "position:fixed;inset:0;background:#0008;display:flex;" +
      "align-items:center;justify-content:center;z-index:1000";
    var amount = (o.amount / (o.currency === "JPY" ? 1 : 100)).toFixed(2);
    var card = document.createElement("div");
    card.style.cssText = "background:#fff;padding:1rem 1.25rem;border-radius:8px;" +
      "font-family:sans-serif;width:min(22rem,90vw)";
    var title = document.createElement("h2");
    title.textContent = (o.name || "Razorpay") + " \\u2013 " + o.currency + " " + amount;
    var who = document.createElement("p");
    who.id = "rzp-standin-prefill";
    who.textContent = [(o.prefill || {}).name, (o.prefill || {}).email,
                       (o.prefill || {}).contact].filter(Boolean).join(" \\u00b7 ");
    card.appendChild(title); card.appendChild(who);
    [["success", "Pay " + o.currency + " " + amount], ["fail", "Make this attempt fail"],
     ["dismiss", "Close"]].forEach(function (pair) {
      var b = document.createElement("button");
      b.type = "button"; b.id = "rzp-standin-" + pair[0]; b.textContent = pair[1];
      b.style.cssText = "display:block;width:100%%;margin-top:.5rem;padding:.7rem";
      b.addEventListener("click", function () { self.act(pair[0]); });
      card.appendChild(b);
    });
    box.appendChild(card);
    document.body.appendChild(box);
    if (%(choice)s) { self.act(%(choice)s); }
  };
  window.Razorpay = Razorpay;
})();
"""

CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Allow-Methods": "POST"}


def _authorised(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        pair = base64.b64decode(header[6:]).decode()
    except ValueError:
        return False
    return hmac.compare_digest(pair, f"{KEY_ID}:{KEY_SECRET}")


def create_app(sim: RazorpaySimulator | None = None) -> FastAPI:
    app = FastAPI()
    app.state.sim = sim = sim or RazorpaySimulator()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        if not sim.base_url:
            sim.base_url = str(request.base_url).rstrip("/")
        if request.url.path.startswith("/v1/") and request.url.path != "/v1/checkout.js":
            if not _authorised(request):
                return JSONResponse({"error": {"code": "BAD_REQUEST_ERROR",
                                               "description": "The api key provided is "
                                               "invalid", "source": "NA", "step": "NA",
                                               "reason": "NA", "metadata": {}}},
                                    status_code=401)
        response: Response = await call_next(request)
        return response

    def refused_when_down(operation: str) -> Response | None:
        if operation in sim.down:
            return JSONResponse({"error": {"code": "SERVER_ERROR",
                                           "description": "The server encountered an error."}},
                                status_code=503)
        return None

    @app.post("/v1/orders")
    async def create_order(request: Request) -> Response:
        body = await request.json()
        sim.calls.append(("create_order", body))
        if (down := refused_when_down("create_order")) is not None:
            return down
        return await sim.answer("create_order", sim.create_order(body))

    @app.get("/v1/orders")
    async def orders(request: Request) -> Response:
        query = dict(request.query_params)
        sim.calls.append(("orders", query))
        if (down := refused_when_down("orders")) is not None:
            return down
        found = [sim.order_entity(o) for o in sim.orders.values()
                 if not query.get("receipt") or o.receipt == query["receipt"]]
        return await sim.answer("orders", {"entity": "collection", "count": len(found),
                                           "items": found})

    @app.get("/v1/orders/{order_id}")
    async def fetch_order(order_id: str) -> Response:
        sim.calls.append(("fetch_order", {"id": order_id}))
        if (down := refused_when_down("fetch_order")) is not None:
            return down
        order = sim.orders.get(order_id)
        if order is None:
            return error(400, "The id provided does not exist", "id")
        return await sim.answer("fetch_order", sim.order_entity(order))

    @app.get("/v1/orders/{order_id}/payments")
    async def order_payments(order_id: str) -> Response:
        sim.calls.append(("order_payments", {"id": order_id}))
        if (down := refused_when_down("order_payments")) is not None:
            return down
        order = sim.orders.get(order_id)
        if order is None:
            return error(400, "The id provided does not exist", "id")
        items = [sim.payment_entity(p) for p in order.payments]
        return await sim.answer("order_payments", {"entity": "collection",
                                                   "count": len(items), "items": items})

    @app.get("/v1/payments/{payment_id}")
    async def payment(payment_id: str) -> Response:
        sim.calls.append(("payment", {"id": payment_id}))
        if (down := refused_when_down("payment")) is not None:
            return down
        found = sim.payments.get(payment_id)
        if found is None:
            return error(400, "The id provided does not exist", "id")
        return await sim.answer("payment", sim.payment_entity(found))

    @app.post("/v1/payments/{payment_id}/capture")
    async def capture(payment_id: str, request: Request) -> Response:
        body = await request.json()
        sim.calls.append(("capture", {**body, "id": payment_id}))
        if (down := refused_when_down("capture")) is not None:
            return down
        return await sim.answer("capture", sim.capture(payment_id, body))

    @app.post("/v1/payments/{payment_id}/refund")
    async def refund(payment_id: str, request: Request) -> Response:
        body = await request.json()
        key = request.headers.get("x-refund-idempotency")
        sim.calls.append(("refund", {**body, "payment_id": payment_id, "key": key}))
        if (down := refused_when_down("refund")) is not None:
            return down
        return await sim.answer("refund", sim.create_refund(payment_id, body, key))

    @app.get("/v1/refunds/{refund_id}")
    async def fetch_refund(refund_id: str) -> Response:
        sim.calls.append(("fetch_refund", {"id": refund_id}))
        found = sim.refunds.get(refund_id)
        if found is None:
            return error(400, "The id provided does not exist", "id")
        return await sim.answer("fetch_refund", found.entity())

    @app.get("/v1/payments/{payment_id}/refunds")
    async def refunds(payment_id: str) -> Response:
        sim.calls.append(("refunds", {"id": payment_id}))
        items = [r.entity() for r in sim.refunds.values() if r.payment_id == payment_id]
        return await sim.answer("refunds", {"entity": "collection", "count": len(items),
                                            "items": items})

    @app.get("/v1/checkout.js")
    async def checkout_js() -> Response:
        choice = json.dumps(sim.checkout_choice)
        script = CHECKOUT_JS % {"origin": json.dumps(sim.base_url), "choice": choice}
        return Response(script, media_type="application/javascript",
                        headers={"Cache-Control": "no-store"})

    @app.options("/checkout/pay")
    async def checkout_preflight() -> Response:
        return Response(status_code=204, headers=CORS)

    @app.post("/checkout/pay")
    async def checkout_pay(request: Request) -> Response:
        """Checkout.js's form paid: the payment recorded, the handler's fields answered."""
        body = await request.json()
        sim.calls.append(("checkout_pay", body))
        order = sim.orders.get(str(body.get("order_id") or ""))
        if body.get("key") != KEY_ID or order is None:
            return JSONResponse({"error": {"code": "BAD_REQUEST_ERROR",
                                           "description": "Invalid order"}},
                                status_code=400, headers=CORS)
        choice = str(body.get("choice") or "success")
        fields = sim.pay(order.id, "fail" if choice == "fail" else "success")
        if fields is None:
            return JSONResponse({"error": {"code": sim.fail_code,
                                           "description": "Payment failed",
                                           "reason": sim.fail_reason,
                                           "source": sim.fail_source,
                                           "step": sim.fail_step,
                                           "metadata": {"order_id": order.id}}},
                                headers=CORS)
        if choice == "forged":
            fields["razorpay_signature"] = sign("guess", b"forged")
        return await sim.answer("checkout_pay", fields, headers=CORS)

    return app


def main() -> None:  # pragma: no cover - by hand: python -m tests.simulators.razorpay
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Razorpay stand-in")
    parser.add_argument("--port", type=int, default=8423)
    args = parser.parse_args()
    print(f"key_id={KEY_ID} key_secret={KEY_SECRET} webhook_secret={WEBHOOK_SECRET} "  # noqa: T201
          f"base_url=http://127.0.0.1:{args.port} "
          f"checkout_js_url=http://127.0.0.1:{args.port}/v1/checkout.js")
    uvicorn.run(create_app(RazorpaySimulator(f"http://127.0.0.1:{args.port}")),
                host="127.0.0.1", port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
