"""A stateful stand-in for Nagad's merchant checkout API, written from Nagad's published
integration guide and its sample merchant clients: initialize (RSA-encrypted, signed
``sensitiveData``; a signed, encrypted answer), complete (``callBackUrl``), the hosted
wallet page, the browser's GET back to ``merchantCallbackURL``, verify, and refunds
(purchase/cancel).

The stand-in holds Nagad's key pair (:data:`NAGAD_KEY`) and the merchant's public key (of
:data:`MERCHANT_KEY`); :data:`CREDENTIALS` are what a merchant would enable the gateway
with.  Serve it with :class:`tests.simulators.loopback.Loopback` (``create_app()``) and drive
it through ``app.state.sim``.  Knobs:

* ``choice``: what the customer does on the hosted page -- ``"success"``, ``"fail"`` or
  ``"cancel"`` (the page's buttons choose for themselves);
* ``tamper``: reported figures overridden in every verify answer (``{"amount": "1.00"}``,
  ``{"currencyCode": "840"}``, ``{"orderId": …}``);
* ``delay`` / ``drop``: per operation (``initialize``, ``complete``, ``verify``,
  ``refund``) seconds to stall *after* acting, or drop the connection after acting;
* ``forge``: operations whose signed answer is signed with another key (not Nagad's);
* ``refuse``: operation -> (reason, message) answered instead of acting;
* ``auto_return``: False keeps the hosted page until a button is pressed (screenshots).

Where the public material says nothing (the status codes of unpaid outcomes, the exact
refusal reasons and their HTTP status), the stand-in's choice is marked as such.

Size: a little over 400 lines -- four API operations with their encryption and signature
checks, the hosted page and the knobs belong together (one provider, one file).
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

MERCHANT_ID = "683002007104225"
MERCHANT_NUMBER = "01711428036"
NAGAD_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
MERCHANT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SUCCESS_CODE = "00_0000_000"  # as Nagad's callback reports a successful transaction
# The stand-in's own codes for the other outcomes (Nagad publishes none).
STATUS_CODES = {"Aborted": "00_1013_001", "Failed": "00_1010_002", "Ready": "00_0000_010"}
DHAKA = timedelta(hours=6)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_base64(key: rsa.RSAPublicKey) -> str:
    """A public key as Nagad hands it out: base64 of its DER, no PEM armour."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


CREDENTIALS = {
    "merchant_id": MERCHANT_ID,
    "merchant_number": MERCHANT_NUMBER,
    "merchant_private_key": private_pem(MERCHANT_KEY),
    "nagad_public_key": public_base64(NAGAD_KEY.public_key()),
}


# ---- RSA, written out independently of the adapter's ----------------------------------------


def seal_for(public: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey, inner: dict[str, Any]
             ) -> dict[str, str]:
    text = json.dumps(inner).encode()
    return {
        "sensitiveData": base64.b64encode(public.encrypt(text, padding.PKCS1v15())).decode(),
        "signature": base64.b64encode(signer.sign(text, padding.PKCS1v15(),
                                                  hashes.SHA256())).decode(),
    }


def open_from_merchant(sensitive: object, signature: object) -> dict[str, Any] | None:
    """A merchant's encrypted, signed request field, or None if it does not open/verify."""
    try:
        text = NAGAD_KEY.decrypt(base64.b64decode(str(sensitive)), padding.PKCS1v15())
        MERCHANT_KEY.public_key().verify(base64.b64decode(str(signature)), text,
                                         padding.PKCS1v15(), hashes.SHA256())
        inner = json.loads(text)
    except (ValueError, TypeError, InvalidSignature):
        return None
    return inner if isinstance(inner, dict) else None


# ---- state --------------------------------------------------------------------------------


@dataclass
class SimRefund:
    cancel_trx_id: str
    amount: Decimal
    reference_no: str
    message: str


@dataclass
class SimSession:
    payment_ref: str
    order_id: str
    challenge: str  # what Nagad gave the merchant in the initialize answer
    order_datetime: str  # Dhaka, YYYYMMDDHHmmss
    amount: Decimal | None = None
    callback: str = ""
    status: str = "OrderInitiated"  # -> Ready -> Success | Aborted | Failed -> (Partial)Refunded
    issuer_ref: str = ""
    payment_dt: str = ""
    refunds: list[SimRefund] = field(default_factory=list)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal(0))


class Dropped(Response):
    """An answer cut off mid-body: the stand-in acted, the caller gets no answer."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"500")]})
        await send({"type": "http.response.body", "body": b'{"sensitiveData":',
                    "more_body": False})


def refusal(reason: str, message: str, status: int = 400) -> JSONResponse:
    # The stand-in answers refusals with HTTP 400 (the adapter reads them with 200 too).
    return JSONResponse({"reason": reason, "message": message}, status_code=status)


def _dhaka_now() -> str:
    return (datetime.now(UTC) + DHAKA).strftime("%Y%m%d%H%M%S")


def _money(text: object) -> Decimal | None:
    if not isinstance(text, str) or not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits decimals only
        return None


class NagadSimulator:
    def __init__(self, base_url: str = "") -> None:
        self.base_url = base_url
        self.sessions: dict[str, SimSession] = {}
        self.choice: Literal["success", "fail", "cancel"] = "success"
        self.tamper: dict[str, str] = {}
        self.delay: dict[str, float] = {}
        self.drop: set[str] = set()
        self.forge: set[str] = set()
        self.refuse: dict[str, tuple[str, str]] = {}
        self.auto_return = True
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # ---- state --------------------------------------------------------------------------

    def session(self, ref: str) -> SimSession:
        return self.sessions[ref]

    def by_order(self, order_id: str) -> SimSession | None:
        return next((s for s in self.sessions.values() if s.order_id == order_id), None)

    def of_transaction(self, transaction_id: str) -> list[SimSession]:
        stem = transaction_id.removeprefix("txn_")
        return [s for s in self.sessions.values() if s.order_id.startswith(stem)]

    def refunded(self, ref: str) -> Decimal:
        return self.session(ref).refunded

    def _signed(self, operation: str, inner: dict[str, Any]) -> dict[str, str]:
        signer = OTHER_KEY if operation in self.forge else NAGAD_KEY
        return seal_for(MERCHANT_KEY.public_key(), signer, inner)

    # ---- the customer at the hosted page ----------------------------------------------------

    def act(self, ref: str, choice: str | None = None) -> str:
        """The customer finishes on Nagad's page: the URL the browser is sent back to."""
        s = self.session(ref)
        choice = choice or self.choice
        if choice == "success":
            if s.status != "Success":
                s.status = "Success"
                s.issuer_ref = secrets.token_hex(4).upper()
                s.payment_dt = _dhaka_now()
        else:
            s.status = "Failed" if choice == "fail" else "Aborted"
        fields = {
            "merchant": MERCHANT_ID, "order_id": s.order_id, "payment_ref_id": s.payment_ref,
            "status": s.status,
            "status_code": SUCCESS_CODE if s.status == "Success" else STATUS_CODES[s.status],
            "message": {"Success": "Successful Transaction", "Failed": "Transaction failed",
                        "Aborted": "Transaction aborted by the customer"}[s.status],
            "payment_dt": s.payment_dt or _dhaka_now(),
        }
        if s.status == "Success":
            fields["issuer_payment_ref"] = s.issuer_ref
        return f"{s.callback}?{urlencode(fields)}"

    # ---- the API ------------------------------------------------------------------------

    def initialize(self, merchant_id: str, order_id: str, body: dict[str, Any],
                   headers: dict[str, str]) -> Response | dict[str, Any]:
        if "initialize" in self.refuse:
            return refusal(*self.refuse["initialize"])
        if headers.get("x-km-api-version") != "v-0.2.0" or not headers.get("x-km-ip-v4"):
            return refusal("InvalidApiRequest", "Missing or wrong X-KM headers")
        if merchant_id != MERCHANT_ID or body.get("accountNumber") != MERCHANT_NUMBER:
            return refusal("InvalidMerchant", "Invalid merchant")
        inner = open_from_merchant(body.get("sensitiveData"), body.get("signature"))
        if inner is None:
            return refusal("SignatureVerificationFailed", "Decryption or signature failed")
        if (inner.get("merchantId") != merchant_id or inner.get("orderId") != order_id
                or inner.get("datetime") != body.get("dateTime")
                or not re.fullmatch(r"\d{14}", str(inner.get("datetime")))
                or not inner.get("challenge")):
            return refusal("InvalidPurchaseInformation", "Sensitive data does not match")
        if not re.fullmatch(r"[A-Za-z0-9]{1,20}", order_id):
            return refusal("InvalidOrderId", "Invalid order id")
        if self.by_order(order_id) is not None:
            return refusal("DuplicateOrderId", "Duplicate order id")
        stamp = str(inner["datetime"])
        ref = base64.urlsafe_b64encode(f"{stamp}.{merchant_id}.{order_id}.{secrets.token_hex(6)}"
                               .encode()).decode()
        session = SimSession(payment_ref=ref, order_id=order_id,
                             challenge=secrets.token_hex(20), order_datetime=stamp)
        self.sessions[ref] = session
        return self._signed("initialize", {"paymentReferenceId": ref,
                                           "challenge": session.challenge,
                                           "acceptDateTime": _dhaka_now()})

    def complete(self, ref: str, body: dict[str, Any]) -> Response | dict[str, Any]:
        if "complete" in self.refuse:
            return refusal(*self.refuse["complete"])
        s = self.sessions.get(ref)
        if s is None:
            return refusal("InvalidReferenceId", "Invalid payment reference id")
        inner = open_from_merchant(body.get("sensitiveData"), body.get("signature"))
        if inner is None:
            return refusal("SignatureVerificationFailed", "Decryption or signature failed")
        amount = _money(inner.get("amount"))
        callback = str(body.get("merchantCallbackURL") or "")
        if inner.get("currencyCode") != "050":
            return refusal("InvalidCurrency", "Invalid currency code")
        if (inner.get("merchantId") != MERCHANT_ID or inner.get("orderId") != s.order_id
                or inner.get("challenge") != s.challenge or amount is None or amount <= 0
                or not callback.startswith(("http://", "https://"))):
            return refusal("InvalidPurchaseInformation", "Invalid purchase information")
        if s.amount is not None:
            return refusal("InvalidPurchaseInformation", "Order already placed")
        s.amount, s.callback, s.status = amount, callback, "Ready"
        return {"status": "Success", "callBackUrl": f"{self.base_url}/check-out/{ref}"}

    def verify(self, ref: str) -> Response | dict[str, Any]:
        s = self.sessions.get(ref)
        if s is None:
            return refusal("InvalidReferenceId", "Invalid payment reference id")
        answer: dict[str, Any] = {
            "merchantId": MERCHANT_ID, "orderId": s.order_id, "paymentRefId": s.payment_ref,
            "amount": f"{s.amount:.2f}" if s.amount is not None else "0.00",
            "clientMobileNo": "017****8575" if s.status != "OrderInitiated" else None,
            "merchantMobileNo": MERCHANT_NUMBER, "orderDateTime": s.order_datetime,
            "issuerPaymentDateTime": s.payment_dt or None,
            "issuerPaymentRefNo": s.issuer_ref or None, "additionalMerchantInfo": None,
            "status": s.status,
            "statusCode": SUCCESS_CODE if s.status in ("Success", "PartialRefunded",
                                                       "Refunded")
            else STATUS_CODES.get(s.status, "00_0000_010"),
        }
        answer.update(self.tamper)
        return answer

    def cancel(self, query: dict[str, str], body: dict[str, Any]) -> Response | dict[str, Any]:
        if "refund" in self.refuse:
            return refusal(*self.refuse["refund"])
        s = self.sessions.get(query.get("paymentRefId", ""))
        if s is None or query.get("orderId") != s.order_id:
            return refusal("InvalidReferenceId", "Invalid payment reference id")
        inner = open_from_merchant(body.get("sensitiveDataCancelRequest"), body.get("signature"))
        if inner is None:
            return refusal("SignatureVerificationFailed", "Decryption or signature failed")
        original, amount = _money(inner.get("originalAmount")), _money(inner.get("cancelAmount"))
        if s.status not in ("Success", "PartialRefunded") or s.amount is None:
            return refusal("InvalidRequest", "Transaction is not refundable")
        if (inner.get("merchantId") != MERCHANT_ID or original != s.amount
                or inner.get("originalRequestDate") != s.order_datetime[:8]
                or not inner.get("referenceNo")):
            return refusal("InvalidRequest", "Invalid cancel request information")
        if amount is None or amount <= 0 or s.refunded + amount > s.amount:
            return refusal("InvalidRequest", "Cancel amount exceeds the refundable amount")
        refund = SimRefund(cancel_trx_id=secrets.token_hex(5).upper(), amount=amount,
                           reference_no=str(inner["referenceNo"]),
                           message=str(inner.get("referenceMessage") or ""))
        s.refunds.append(refund)
        s.status = "Refunded" if s.refunded == s.amount else "PartialRefunded"
        return self._signed("refund", {
            "status": s.status, "originalAmount": f"{s.amount:.2f}",
            "cancelAmount": f"{amount:.2f}", "cancelTrxId": refund.cancel_trx_id,
            "referenceNo": refund.reference_no})

    async def answer(self, operation: str, body: Response | dict[str, Any]) -> Response:
        if operation in self.delay:
            await asyncio.sleep(self.delay[operation])
        if operation in self.drop:
            return Dropped()
        return body if isinstance(body, Response) else JSONResponse(body)


def hosted_page(s: SimSession, *, base: str) -> str:
    action = html.escape(f"{base}/check-out/{s.payment_ref}/act")
    amount = f"{s.amount:.2f}" if s.amount is not None else "?"
    button = ('<button type="submit" name="choice" value="{0}" style="{2}">{1}</button>')
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nagad (stand-in)</title></head><body style="margin:0;font-family:sans-serif">
<main style="max-width:26rem;margin:2rem auto;padding:0 1rem">
<h1 style="color:#ec1c24">Nagad stand-in</h1>
<p>Merchant {MERCHANT_ID} asks for <strong>{amount} BDT</strong> (order
{html.escape(s.order_id)}).</p>
<form method="post" action="{action}">
<p><label>Nagad account <input name="wallet" value="017XXXXXXXX" readonly></label></p>
<p>{button.format("success", "Pay with Nagad",
                  "background:#ec1c24;color:#fff;padding:.6rem 1rem;border:0")}
{button.format("cancel", "Cancel", "padding:.6rem 1rem")}</p>
</form></main></body></html>"""


def create_app(sim: NagadSimulator | None = None) -> FastAPI:
    app = FastAPI()
    app.state.sim = sim = sim or NagadSimulator()

    @app.middleware("http")
    async def learn_base(request: Request, call_next: Any) -> Response:
        if not sim.base_url:
            sim.base_url = str(request.base_url).rstrip("/")
        response: Response = await call_next(request)
        return response

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @app.post("/api/dfs/check-out/initialize/{merchant_id}/{order_id}")
    async def initialize(merchant_id: str, order_id: str, request: Request) -> Response:
        body = await json_body(request)
        sim.calls.append(("initialize", {**body, "path": f"{merchant_id}/{order_id}",
                                         "headers": dict(request.headers)}))
        answer = sim.initialize(merchant_id, order_id, body, dict(request.headers))
        return await sim.answer("initialize", answer)

    @app.post("/api/dfs/check-out/complete/{ref:path}")
    async def complete(ref: str, request: Request) -> Response:
        body = await json_body(request)
        sim.calls.append(("complete", {**body, "path": ref}))
        return await sim.answer("complete", sim.complete(ref, body))

    @app.get("/api/dfs/verify/payment/{ref:path}")
    async def verify(ref: str) -> Response:
        sim.calls.append(("verify", {"path": ref}))
        return await sim.answer("verify", sim.verify(ref))

    @app.post("/api/dfs/purchase/cancel")
    async def cancel(request: Request) -> Response:
        body = await json_body(request)
        query = dict(request.query_params)
        sim.calls.append(("refund", {**body, **query}))
        return await sim.answer("refund", sim.cancel(query, body))

    @app.get("/check-out/{ref}")
    async def page(ref: str, request: Request) -> Response:
        s = sim.sessions.get(ref)
        if s is None or s.amount is None:
            return HTMLResponse("<p>Invalid payment session</p>", status_code=404)
        choice = request.query_params.get("choice")
        if sim.auto_return or choice:
            return RedirectResponse(sim.act(ref, choice), status_code=303)
        return HTMLResponse(hosted_page(s, base=sim.base_url))

    @app.post("/check-out/{ref}/act")
    async def act(ref: str, request: Request) -> Response:
        if ref not in sim.sessions:
            return HTMLResponse("<p>Invalid payment session</p>", status_code=404)
        choice = str((await request.form()).get("choice") or "cancel")
        return RedirectResponse(sim.act(ref, choice), status_code=303)

    return app


def main() -> None:  # pragma: no cover - by hand: python -m tests.simulators.nagad
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Nagad stand-in")
    parser.add_argument("--port", type=int, default=8424)
    args = parser.parse_args()
    print(f"merchant_id={MERCHANT_ID} merchant_number={MERCHANT_NUMBER} "  # noqa: T201
          f"base_url=http://127.0.0.1:{args.port} (keys: tests.simulators.nagad.CREDENTIALS)")
    uvicorn.run(create_app(NagadSimulator(f"http://127.0.0.1:{args.port}")),
                host="127.0.0.1", port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
