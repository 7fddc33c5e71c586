"""A stand-in for aamarPay's hosted checkout, following its published API
(developer.aamarpay.com): the JSON payment request, the hosted page, the browser's return by
an auto-submitted POST form, and the search ("trxcheck") API.  Test code only.

* ``POST /jsonpost.php`` -- JSON body with ``store_id``, ``signature_key``, ``tran_id``
  (at most 32 characters), ``amount``, ``currency`` (BDT, USD), ``desc``, ``cus_name``,
  ``cus_email``, ``cus_phone``, ``success_url``, ``fail_url``, ``cancel_url``,
  ``type=json``; answers ``{"result": "true", "payment_url": ".../paynow.php?track=…"}`` or
  the refusal as a JSON string (``"Invalid Store ID"``, …).
* ``GET /paynow.php?track=…`` -- the hosted page: Pay / Fail / Cancel buttons.
* ``POST /paynow.php/act`` -- records the customer's choice and answers an HTML form that
  posts the return fields (``pay_status``, ``mer_txnid``, ``pg_txnid``, ``amount``, …) to
  the merchant's success, fail or cancel URL by itself.
* ``GET /api/v1/trxcheck/request.php?request_id=&store_id=&signature_key=&type=json`` --
  the transaction's record; an unknown request id answers ``"Invalid Request ID"``.

Knobs (``app.state.sim``): :meth:`AamarpaySimulator.act` (what the customer does, without
a browser), ``tamper`` (what the search reports wrong: amount, currency, reference),
``down`` (HTTP 503 everywhere), ``delay_request`` / ``delay_search`` (answer only after
acting, after that many seconds: a timeout after aamarPay acted), and ``requests``.

Run by hand: ``.venv/bin/python -m tests.simulators.aamarpay --port 8422``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

STORE_ID = "aamarpaytest"
SIGNATURE_KEY = "dbb74894e82415a2f7ff0ec3a97e4183"  # aamarPay's published sandbox key
REQUIRED = ("store_id", "signature_key", "tran_id", "amount", "currency", "desc", "cus_name",
            "cus_email", "cus_phone", "success_url", "fail_url", "cancel_url", "type")


@dataclass
class Transaction:
    tran_id: str
    amount: str
    currency: str
    desc: str
    cus_name: str
    cus_email: str
    cus_phone: str
    urls: dict[str, str]
    track: str
    pay_status: str = "Pending"
    status_code: str = "0"
    pg_txnid: str = ""
    tracks: list[str] = field(default_factory=list)


@dataclass
class Call:
    method: str
    path: str
    body: Any


class AamarpaySimulator:
    def __init__(self) -> None:
        self.transactions: dict[str, Transaction] = {}
        self.by_track: dict[str, str] = {}
        self.tamper: dict[str, dict[str, str]] = {}  # tran_id -> search fields to report
        self.down = False
        self.delay_request = 0.0
        self.delay_search = 0.0
        self.requests: list[Call] = []
        self.base = ""

    def act(self, tran_id: str, choice: str) -> Transaction:
        """The customer pays (``success``), is declined (``fail``) or cancels at aamarPay."""
        txn = self.transactions[tran_id]
        if txn.pay_status == "Successful":
            return txn
        if choice == "success":
            txn.pay_status, txn.status_code = "Successful", "2"
            txn.pg_txnid = "AAM" + secrets.token_hex(6).upper()
        elif choice == "fail":
            txn.pay_status, txn.status_code = "Failed", "7"
            txn.pg_txnid = "AAM" + secrets.token_hex(6).upper()
        return txn  # cancel: nothing happened, the transaction stays Pending

    def record(self, txn: Transaction) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pg_txnid": txn.pg_txnid or "Not-Available",
            "mer_txnid": txn.tran_id,
            "cus_name": txn.cus_name,
            "cus_email": txn.cus_email,
            "cus_phone": txn.cus_phone,
            "desc": txn.desc,
            "store_id": STORE_ID,
            "amount": txn.amount,
            "amount_original": txn.amount,
            "currency_merchant": txn.currency,
            "currency": txn.currency,
            "pay_status": txn.pay_status,
            "status_code": txn.status_code,
            "status_title": {"Successful": "Successful Transaction",
                             "Failed": "Transaction Failed"}.get(txn.pay_status,
                                                                 "Pending Transaction"),
            "payment_type": "bKash-bKash",
            "error_code": "0000" if txn.pay_status == "Successful" else "Not-Available",
        }
        data.update(self.tamper.get(txn.tran_id, {}))
        return data


def _amount(raw: Any) -> str | None:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        return None
    return str(value.quantize(Decimal("0.01")))


def _auto_post(url: str, fields: dict[str, Any]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in fields.items())
    return (
        "<!doctype html><html><head><title>Returning to the merchant</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{html.escape(url)}">{inputs}'
        "<noscript><button type=\"submit\">Return to the merchant</button></noscript>"
        "</form></body></html>")


def create_app() -> FastAPI:
    app = FastAPI()
    sim = AamarpaySimulator()
    app.state.sim = sim

    @app.middleware("http")
    async def outage(request: Request, call_next: Any) -> Response:
        if sim.down:
            return JSONResponse({"message": "Service Unavailable"}, status_code=503)
        sim.base = str(request.base_url).rstrip("/")
        response: Response = await call_next(request)
        return response

    @app.post("/jsonpost.php")
    async def payment_request(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse("Invalid JSON")
        sim.requests.append(Call("POST", "/jsonpost.php", body))
        if not isinstance(body, dict):
            return JSONResponse("Invalid JSON")
        if body.get("store_id") != STORE_ID:
            return JSONResponse("Invalid Store ID")
        if body.get("signature_key") != SIGNATURE_KEY:
            return JSONResponse("Invalid Signature Key")
        missing = [k for k in REQUIRED if not str(body.get(k) or "").strip()]
        if missing:
            return JSONResponse({"result": "failed", "errors": f"{missing[0]} is required"})
        tran_id = str(body["tran_id"])
        if len(tran_id) > 32:
            return JSONResponse({"result": "failed", "errors": "tran_id is too long"})
        if body["currency"] not in ("BDT", "USD"):
            return JSONResponse({"result": "failed", "errors": "Invalid currency"})
        amount = _amount(body["amount"])
        if amount is None:
            return JSONResponse({"result": "failed", "errors": "Invalid amount"})
        known = sim.transactions.get(tran_id)
        if known is not None and known.pay_status != "Pending":
            return JSONResponse({"result": "failed", "errors": "Duplicate tran_id"})
        track = "AAM" + secrets.token_hex(8).upper()
        txn = Transaction(
            tran_id=tran_id, amount=amount, currency=body["currency"], desc=body["desc"],
            cus_name=body["cus_name"], cus_email=body["cus_email"],
            cus_phone=body["cus_phone"],
            urls={k: body[f"{k}_url"] for k in ("success", "fail", "cancel")}, track=track,
            tracks=[*(known.tracks if known else []), track],
        )
        sim.transactions[tran_id] = txn
        sim.by_track[track] = tran_id
        if sim.delay_request:
            await asyncio.sleep(sim.delay_request)
        return JSONResponse({"result": "true",
                             "payment_url": f"{sim.base}/paynow.php?track={track}"})

    @app.get("/paynow.php")
    async def hosted_page(track: str = "") -> Response:
        tran_id = sim.by_track.get(track)
        if tran_id is None or sim.transactions[tran_id].track != track:
            return HTMLResponse("<h1>Invalid payment request</h1>", status_code=404)
        txn = sim.transactions[tran_id]
        buttons = "".join(
            f'<button type="submit" name="choice" value="{v}">{label}</button> '
            for v, label in (("success", "Pay"), ("fail", "Fail"), ("cancel", "Cancel")))
        return HTMLResponse(
            "<!doctype html><html><head><meta name=\"viewport\" "
            "content=\"width=device-width, initial-scale=1\">"
            "<title>aamarPay</title></head><body>"
            "<h1>aamarPay Checkout (simulator)</h1>"
            f"<p>Pay <strong>{html.escape(txn.amount)} {html.escape(txn.currency)}</strong>"
            f" for {html.escape(txn.desc)}</p>"
            f'<form method="post" action="/paynow.php/act">'
            f'<input type="hidden" name="track" value="{html.escape(track)}">{buttons}'
            "</form></body></html>")

    @app.post("/paynow.php/act")
    async def act(request: Request) -> Response:
        form = await request.form()
        tran_id = sim.by_track.get(str(form.get("track", "")))
        choice = str(form.get("choice", ""))
        if tran_id is None or choice not in ("success", "fail", "cancel"):
            return HTMLResponse("<h1>Invalid request</h1>", status_code=400)
        txn = sim.act(tran_id, choice)
        fields = {k: v for k, v in sim.record(txn).items() if v is not None}
        return HTMLResponse(_auto_post(txn.urls[choice], fields))

    @app.get("/api/v1/trxcheck/request.php")
    async def search(request_id: str = "", store_id: str = "", signature_key: str = "",
                     type: str = "") -> Response:  # noqa: A002 - aamarPay's name
        sim.requests.append(Call("GET", "/api/v1/trxcheck/request.php",
                                 {"request_id": request_id, "type": type}))
        if store_id != STORE_ID or signature_key != SIGNATURE_KEY:
            return JSONResponse("Invalid Store ID or Signature Key")
        txn = sim.transactions.get(request_id)
        if sim.delay_search:
            await asyncio.sleep(sim.delay_search)
        if txn is None:
            return JSONResponse("Invalid Request ID")
        return JSONResponse(sim.record(txn))

    return app


def main() -> None:  # pragma: no cover - by hand
    import uvicorn

    parser = argparse.ArgumentParser(description="aamarPay stand-in (tests only)")
    parser.add_argument("--port", type=int, default=8422)
    args = parser.parse_args()
    print(f"aamarPay simulator on http://127.0.0.1:{args.port}  "  # noqa: T201
          f"store_id={STORE_ID} signature_key={SIGNATURE_KEY}")
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
