"""A stateful stand-in for Razorpay's REST API (``/v1/``), following its public docs
(razorpay.com/docs: "Payment Links APIs" and the Payment Link entity, "Payments" (fetch a
payment), "Refunds" (create a normal refund, idempotent with ``X-Refund-Idempotency``; fetch
one; fetch a payment's refunds) and "Webhooks" (``X-Razorpay-Signature``)):

* HTTP Basic ``key_id:key_secret`` on every API call (401 with Razorpay's error object);
* Payment Links: create (amount in subunits, INR at least 100, reference_id unique and at
  most 40 characters, callback_method only ``get``), fetch, fetch all by ``reference_id``,
  cancel (only a ``created`` link);
* the hosted page at ``short_url``: Pay succeeds (a captured payment, the link ``paid``, the
  browser sent to the callback with the signed query), Fail records a failed attempt and
  leaves the link payable;
* payments: fetch; refunds: create (partial, never more than is left), fetch, list;
* webhooks: ``payment_link.paid`` etc. signed with the webhook secret.

Serve it with :class:`tests.simulators.loopback.Loopback` (``create_app()``) and drive it
through ``app.state.sim``.  Knobs:

* ``tamper``: figures overridden in every link and payment answer (``{"amount": 100}``,
  ``{"currency": "USD"}``, ``{"reference_id": "txn_other"}``);
* ``delay`` / ``drop`` / ``down``: per operation (``create_link``, ``fetch_link``,
  ``links``, ``cancel``, ``payment``, ``refund``, ``fetch_refund``, ``refunds``) seconds to
  stall after acting, drop the connection after acting, or answer 503 before acting;
* ``refund_status``: what a new refund starts as (``processed`` or ``pending``);
* ``auto_pay``: the hosted page pays at once (a GET with ``?choice=``) instead of waiting
  for its button (screenshots).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

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
    """HMAC-SHA256 hex, as Razorpay signs callbacks and webhooks (written independently of
    the adapter's)."""
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
    link_id: str
    order_id: str
    amount: int
    currency: str
    status: str  # captured | failed
    method: str = "upi"
    created_at: int = field(default_factory=lambda: int(time.time()))

    def row(self) -> dict[str, Any]:
        """As a link's ``payments`` list shows it."""
        return {"amount": self.amount, "created_at": self.created_at, "method": self.method,
                "payment_id": self.id, "plink_id": self.link_id, "status": self.status,
                "updated_at": self.created_at}


@dataclass
class SimLink:
    id: str
    body: dict[str, Any]
    order_id: str
    short_url: str
    status: str = "created"
    payments: list[SimPayment] = field(default_factory=list)
    created_at: int = field(default_factory=lambda: int(time.time()))
    cancelled_at: int = 0

    @property
    def reference_id(self) -> str:
        return str(self.body.get("reference_id") or "")

    @property
    def amount(self) -> int:
        return int(self.body["amount"])


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
        self.links: dict[str, SimLink] = {}
        self.payments: dict[str, SimPayment] = {}
        self.refunds: dict[str, SimRefund] = {}
        self.idempotency: dict[str, tuple[str, str]] = {}  # key -> (body digest, refund id)
        self.tamper: dict[str, Any] = {}
        self.delay: dict[str, float] = {}
        self.drop: set[str] = set()
        self.down: set[str] = set()
        self.refund_status = "processed"
        self.auto_pay = True
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # ---- state --------------------------------------------------------------------------

    def link(self, link_id: str) -> SimLink:
        return self.links[link_id]

    def by_short(self, short: str) -> SimLink | None:
        return next((link for link in self.links.values()
                     if link.short_url.rsplit("/", 1)[-1] == short), None)

    def refunded(self, payment_id: str) -> int:
        return sum(r.amount for r in self.refunds.values()
                   if r.payment_id == payment_id and r.status == "processed")

    def settle_refunds(self, status: str = "processed") -> None:
        for r in self.refunds.values():
            if r.status == "pending":
                r.status = status

    # ---- what the customer does on the hosted page -----------------------------------------

    def pay(self, link_id: str, choice: str = "success") -> str | None:
        """The customer pays (or fails to) on the link's page: the callback URL the browser
        is sent to after a success (None after a failure: Razorpay keeps the customer)."""
        link = self.link(link_id)
        if link.status != "created":
            return None
        payment = SimPayment(id=_id("pay_"), link_id=link.id, order_id=link.order_id,
                             amount=link.amount, currency=link.body["currency"],
                             status="captured" if choice == "success" else "failed")
        self.payments[payment.id] = payment
        link.payments.append(payment)
        if choice != "success":
            return None
        link.status = "paid"
        return self.callback(link, payment)

    def callback(self, link: SimLink, payment: SimPayment) -> str:
        params = {"razorpay_payment_id": payment.id, "razorpay_payment_link_id": link.id,
                  "razorpay_payment_link_reference_id": link.reference_id,
                  "razorpay_payment_link_status": link.status}
        message = "|".join([link.id, link.reference_id, link.status, payment.id]).encode()
        params["razorpay_signature"] = sign(KEY_SECRET, message)
        target = str(link.body.get("callback_url") or "")
        return f"{target}{'&' if '?' in target else '?'}{urlencode(params)}"

    def expire(self, link_id: str) -> None:
        self.link(link_id).status = "expired"

    # ---- answers ------------------------------------------------------------------------

    def link_entity(self, link: SimLink) -> dict[str, Any]:
        body = link.body
        paid = sum(p.amount for p in link.payments if p.status == "captured")
        entity = {
            "id": link.id, "entity": "payment_link", "accept_partial": False,
            "amount": link.amount, "amount_paid": paid, "currency": body["currency"],
            "callback_method": body.get("callback_method"),
            "callback_url": body.get("callback_url"), "cancelled_at": link.cancelled_at,
            "created_at": link.created_at, "customer": body.get("customer", {}),
            "description": body.get("description", ""), "expire_by": body.get("expire_by", 0),
            "expired_at": 0, "first_min_partial_amount": 0, "notes": body.get("notes") or {},
            "notify": body.get("notify", {}), "order_id": link.order_id,
            "payments": [p.row() for p in link.payments] or None,
            "reference_id": link.reference_id, "reminder_enable": False, "reminders": [],
            "short_url": link.short_url, "status": link.status, "updated_at": link.created_at,
            "upi_link": False, "user_id": "",
        }
        for name in ("amount", "currency", "reference_id"):
            if name in self.tamper:
                entity[name] = self.tamper[name]
        return entity

    def payment_entity(self, payment: SimPayment) -> dict[str, Any]:
        refunded = sum(r.amount for r in self.refunds.values()
                       if r.payment_id == payment.id and r.status != "failed")
        status = payment.status
        if status == "captured" and refunded >= payment.amount:
            status = "refunded"
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
            "error_code": None if payment.status == "captured" else "BAD_REQUEST_ERROR",
            "error_description": None if payment.status == "captured"
            else "Payment failed", "created_at": payment.created_at,
        }
        for name in ("amount", "currency"):
            if name in self.tamper:
                entity[name] = self.tamper[name]
        return entity

    def create_link(self, body: dict[str, Any]) -> JSONResponse | dict[str, Any]:
        amount = body.get("amount")
        currency = str(body.get("currency") or "INR")
        reference = str(body.get("reference_id") or "")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return error(400, "The amount must be an integer.", "amount")
        if currency not in CURRENCIES:
            return error(400, "The currency is invalid.", "currency")
        if currency == "INR" and amount < 100:
            return error(400, "The amount must be atleast INR 1.00", "amount")
        if currency in ("KWD", "BHD", "OMR") and amount % 10:
            return error(400, "The last decimal of the amount must be 0.", "amount")
        if len(reference) > 40:
            return error(400, "The reference id may not be greater than 40 characters.",
                         "reference_id")
        if reference and any(link.reference_id == reference for link in self.links.values()):
            return error(400, f"Payment Link with reference id {reference} already exists",
                         "reference_id")
        if body.get("callback_url") and body.get("callback_method") != "get":
            return error(400, "callback_method must be get when callback_url is sent",
                         "callback_method")
        expire_by = body.get("expire_by")
        if expire_by is not None and int(expire_by) < time.time() + 15 * 60:
            return error(400, "expire_by: timestamp must be atleast 15 minutes in future",
                         "expire_by")
        link_id = _id("plink_")
        short = secrets.token_hex(4)
        link = SimLink(id=link_id, body=dict(body), order_id=_id("order_"),
                       short_url=f"{self.base_url}/i/{short}")
        self.links[link_id] = link
        return self.link_entity(link)

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

    def webhook(self, link_id: str, event: str = "payment_link.paid",
                *, secret: str = WEBHOOK_SECRET) -> tuple[dict[str, str], bytes]:
        """A webhook as Razorpay posts it: headers and the raw body."""
        link = self.link(link_id)
        payload: dict[str, Any] = {"payment_link": {"entity": self.link_entity(link)},
                                   "order": {"entity": {"id": link.order_id,
                                                        "entity": "order",
                                                        "amount": link.amount}}}
        captured = [p for p in link.payments if p.status == "captured"]
        if captured:
            payload["payment"] = {"entity": self.payment_entity(captured[0])}
        body = json.dumps({"entity": "event", "account_id": "acc_StandIn0000001",
                           "event": event, "contains": sorted(payload),
                           "payload": payload, "created_at": int(time.time())}).encode()
        headers = {"Content-Type": "application/json",
                   "X-Razorpay-Signature": sign(secret, body),
                   "X-Razorpay-Event-Id": "evt_" + secrets.token_hex(7)}
        return headers, body

    async def send_webhook(self, link_id: str, url: str, http: httpx.AsyncClient,
                           event: str = "payment_link.paid", *, times: int = 1
                           ) -> list[httpx.Response]:
        headers, body = self.webhook(link_id, event)
        return [await http.post(url, content=body, headers=headers) for _ in range(times)]

    async def answer(self, operation: str, body: dict[str, Any] | JSONResponse) -> Response:
        if operation in self.delay:
            await asyncio.sleep(self.delay[operation])
        if operation in self.drop:
            return Dropped()
        return body if isinstance(body, Response) else JSONResponse(body)


def hosted_page(link: SimLink, *, failed: bool = False) -> str:
    body = link.body
    amount = link.amount / (1 if body["currency"] == "JPY" else 100)
    note = ('<p role="alert" style="color:#b00020">Payment failed. You can try again.</p>'
            if failed else "")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Razorpay (stand-in)</title></head><body style="margin:0;background:#f4f6fb">
<main style="font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:1rem 1.25rem;
background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002">
<h1 style="font-size:1.3rem">Razorpay stand-in</h1>
<p>{html.escape(str(body.get('description') or ''))}</p>
<p style="font-size:1.5rem"><strong>{body['currency']} {amount:,.2f}</strong></p>{note}
<form method="post" action="/i/{link.short_url.rsplit('/', 1)[-1]}/pay">
<button name="choice" value="success" type="submit"
 style="width:100%;padding:.8rem;font-size:1rem;background:#3395ff;color:#fff;border:0;
 border-radius:4px">Pay {body['currency']} {amount:,.2f}</button>
<button name="choice" value="fail" type="submit"
 style="width:100%;margin-top:.5rem;padding:.6rem;background:#fff;border:1px solid #ccc;
 border-radius:4px">Make this attempt fail</button></form></main></body></html>"""


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
        if request.url.path.startswith("/v1/"):
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

    @app.post("/v1/payment_links")
    async def create_link(request: Request) -> Response:
        body = await request.json()
        sim.calls.append(("create_link", body))
        if (down := refused_when_down("create_link")) is not None:
            return down
        return await sim.answer("create_link", sim.create_link(body))

    @app.get("/v1/payment_links")
    async def links(request: Request) -> Response:
        query = dict(request.query_params)
        sim.calls.append(("links", query))
        if (down := refused_when_down("links")) is not None:
            return down
        found = [sim.link_entity(link) for link in sim.links.values()
                 if not query.get("reference_id")
                 or link.reference_id == query["reference_id"]]
        return await sim.answer("links", {"payment_links": found})

    @app.get("/v1/payment_links/{link_id}")
    async def fetch_link(link_id: str) -> Response:
        sim.calls.append(("fetch_link", {"id": link_id}))
        if (down := refused_when_down("fetch_link")) is not None:
            return down
        link = sim.links.get(link_id)
        if link is None:
            return error(400, "The id provided does not exist", "id")
        return await sim.answer("fetch_link", sim.link_entity(link))

    @app.post("/v1/payment_links/{link_id}/cancel")
    async def cancel(link_id: str) -> Response:
        sim.calls.append(("cancel", {"id": link_id}))
        if (down := refused_when_down("cancel")) is not None:
            return down
        link = sim.links.get(link_id)
        if link is None:
            return error(400, "The id provided does not exist", "id")
        if link.status != "created":
            return error(400, f"Payment Link cannot be cancelled in {link.status} state")
        link.status, link.cancelled_at = "cancelled", int(time.time())
        return await sim.answer("cancel", sim.link_entity(link))

    @app.get("/v1/payments/{payment_id}")
    async def payment(payment_id: str) -> Response:
        sim.calls.append(("payment", {"id": payment_id}))
        if (down := refused_when_down("payment")) is not None:
            return down
        found = sim.payments.get(payment_id)
        if found is None:
            return error(400, "The id provided does not exist", "id")
        return await sim.answer("payment", sim.payment_entity(found))

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

    @app.get("/i/{short}")
    async def page(short: str, request: Request) -> Response:
        link = sim.by_short(short)
        if link is None:
            return HTMLResponse("<p>Invalid payment link</p>", status_code=404)
        if link.status != "created":
            return HTMLResponse(f"<p>This payment link is {link.status}.</p>")
        choice = request.query_params.get("choice")
        if choice and sim.auto_pay:
            target = sim.pay(link.id, choice)
            if target:
                return RedirectResponse(target, status_code=302)
            return HTMLResponse(hosted_page(link, failed=True))
        return HTMLResponse(hosted_page(link))

    @app.post("/i/{short}/pay")
    async def pay(short: str, request: Request) -> Response:
        link = sim.by_short(short)
        if link is None:
            return HTMLResponse("<p>Invalid payment link</p>", status_code=404)
        choice = str((await request.form()).get("choice") or "success")
        target = sim.pay(link.id, choice)
        if target:
            return RedirectResponse(target, status_code=303)
        return HTMLResponse(hosted_page(link, failed=link.status == "created"))

    return app


def main() -> None:  # pragma: no cover - by hand: python -m tests.simulators.razorpay
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Razorpay stand-in")
    parser.add_argument("--port", type=int, default=8423)
    args = parser.parse_args()
    print(f"key_id={KEY_ID} key_secret={KEY_SECRET} webhook_secret={WEBHOOK_SECRET} "  # noqa: T201
          f"base_url=http://127.0.0.1:{args.port}")
    uvicorn.run(create_app(RazorpaySimulator(f"http://127.0.0.1:{args.port}")),
                host="127.0.0.1", port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
