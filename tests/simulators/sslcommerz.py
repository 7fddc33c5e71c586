"""A stateful stand-in for SSLCommerz (hosted checkout API v4), following its published
integration guide: the session API, the hosted page, the validation API, the transaction
query (by session key and by tran_id), refund initiate / refund query, and the IPN with a
``verify_sign`` computed as SSLCommerz computes it.

Serve it with :class:`tests.simulators.loopback.Loopback` (``create_app()``) and drive it
through ``app.state.sim``.  Knobs:

* ``choice``: what the hosted page does -- ``"success"``, ``"fail"`` or ``"cancel"``;
* ``tamper``: reported figures overridden (``{"amount": "1.00"}``, ``{"currency": "EUR"}``,
  ``{"tran_id": "txn_other"}``) in every validation and query answer;
* ``delay`` / ``drop``: per operation (``session``, ``validation``, ``query``, ``refund``,
  ``refund_query``) seconds to stall *after* acting, or drop the connection after acting;
* ``duplicate_ipn``: :meth:`SslcommerzSimulator.send_ipn` posts every IPN twice;
* ``auto_post``: False keeps the hosted page until its button is pressed (screenshots);
* ``tran_id_lists_open``: False leaves sessions nobody finished (``PENDING``) out of the
  query by tran_id, as if SSLCommerz listed attempted transactions only;
* ``set_status(key, status)``: any status the validation / query APIs document
  (``VALID``, ``VALIDATED``, ``PENDING``, ``UNATTEMPTED``, ``FAILED``, ``CANCELLED``,
  ``EXPIRED``), and ``api_connect``: an ``APIConnect`` other than ``DONE`` on every query.

Size: a little over 400 lines -- five APIs, the hosted page and the signed IPN with their
knobs belong together (one provider, one file).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

STORE_ID = "testbox"
STORE_PASSWD = "qwerty"  # noqa: S105 - the stand-in's well-known test password
RATES = {"BDT": Decimal(1), "USD": Decimal(110), "EUR": Decimal(120), "GBP": Decimal(140)}
IPN_SIGNED = ("amount,bank_tran_id,base_fair,card_brand,card_issuer,card_issuer_country,"
              "card_no,card_type,currency,currency_amount,currency_rate,currency_type,"
              "risk_level,risk_title,status,store_amount,store_id,tran_date,tran_id,val_id,"
              "value_a,value_b,value_c,value_d")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def verify_sign(fields: dict[str, str], verify_key: str, store_passwd: str) -> str:
    """SSLCommerz's IPN signature, written out independently of the adapter's."""
    pairs = {k: fields.get(k, "") for k in verify_key.split(",")}
    pairs["store_passwd"] = _md5(store_passwd)
    return _md5("&".join(f"{k}={pairs[k]}" for k in sorted(pairs)))


@dataclass
class SimRefund:
    refund_ref_id: str
    bank_tran_id: str
    amount: Decimal
    refe_id: str
    remarks: str
    status: str = "processing"  # processing -> refunded | cancelled


@dataclass
class SimSession:
    sessionkey: str
    form: dict[str, str]
    status: str = "PENDING"  # PENDING, VALID, FAILED, CANCELLED, EXPIRED
    val_id: str = ""
    bank_tran_id: str = ""
    validated: int = 0
    refunds: list[SimRefund] = field(default_factory=list)

    @property
    def tran_id(self) -> str:
        return self.form.get("tran_id", "")

    @property
    def currency(self) -> str:
        return self.form.get("currency", "BDT")

    @property
    def total(self) -> Decimal:
        return Decimal(self.form.get("total_amount", "0"))


class Dropped(Response):
    """An answer cut off mid-body: the stand-in acted, the caller gets no answer."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"500")]})
        await send({"type": "http.response.body", "body": b'{"status":', "more_body": False})


class SslcommerzSimulator:
    def __init__(self, base_url: str = "") -> None:
        self.base_url = base_url
        self.sessions: dict[str, SimSession] = {}
        self.choice: Literal["success", "fail", "cancel"] = "success"
        self.tamper: dict[str, str] = {}
        self.delay: dict[str, float] = {}
        self.drop: set[str] = set()
        self.duplicate_ipn = False
        self.auto_post = True
        self.tran_id_lists_open = True
        self.api_connect = "DONE"
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.ipns_sent: list[dict[str, str]] = []

    # ---- state --------------------------------------------------------------------------

    def session(self, key: str) -> SimSession:
        return self.sessions[key]

    def set_status(self, key: str, status: str) -> None:
        """SSLCommerz moved a session to ``status`` by itself (timed out, ...)."""
        self.session(key).status = status

    def by_tran_id(self, tran_id: str) -> list[SimSession]:
        return [s for s in self.sessions.values() if s.tran_id == tran_id]

    def by_val_id(self, val_id: str) -> SimSession | None:
        return next((s for s in self.sessions.values() if val_id and s.val_id == val_id), None)

    def by_bank_tran_id(self, bank_tran_id: str) -> SimSession | None:
        return next((s for s in self.sessions.values()
                     if bank_tran_id and s.bank_tran_id == bank_tran_id), None)

    def refund(self, ref: str) -> SimRefund | None:
        return next((r for s in self.sessions.values() for r in s.refunds
                     if r.refund_ref_id == ref), None)

    def refunded(self, key: str) -> Decimal:
        return sum((r.amount for r in self.session(key).refunds if r.status == "refunded"),
                   Decimal(0))

    def settle_refunds(self, status: str = "refunded") -> None:
        for s in self.sessions.values():
            for r in s.refunds:
                if r.status == "processing":
                    r.status = status

    # ---- what the customer does at the hosted page -----------------------------------------

    def act(self, key: str, choice: str | None = None) -> tuple[str, dict[str, str]]:
        """The customer finishes at the hosted page: the URL the browser is posted back to
        and the fields it carries."""
        s = self.session(key)
        choice = choice or self.choice
        if choice == "success":
            if s.status != "VALID":
                s.status = "VALID"
                s.val_id = f"{secrets.token_hex(3)}{secrets.randbelow(10**9):09d}"
                s.bank_tran_id = f"{secrets.randbelow(10**12):012d}"
            return s.form["success_url"], self.transaction_fields(s, signed=True)
        if choice == "fail":
            s.status = "FAILED"
            return s.form["fail_url"], {"tran_id": s.tran_id, "status": "FAILED",
                                        "error": "Declined by the bank"}
        s.status = "CANCELLED"
        return s.form["cancel_url"], {"tran_id": s.tran_id, "status": "CANCELLED",
                                      "error": "Cancelled by User"}

    def reported(self, s: SimSession) -> dict[str, str]:
        """The transaction's figures as SSLCommerz reports them (settled in BDT)."""
        rate = RATES.get(s.currency, Decimal(100))
        fields = {
            "tran_id": s.tran_id, "val_id": s.val_id, "bank_tran_id": s.bank_tran_id,
            "status": "VALID" if s.status == "VALID" else s.status,
            "amount": f"{s.total * rate:.2f}",
            "store_amount": f"{s.total * rate * Decimal('0.975'):.2f}",
            "currency": "BDT", "currency_type": s.currency,
            "currency_amount": f"{s.total:.2f}", "currency_rate": f"{rate:.4f}",
            "card_type": "VISA-Dutch Bangla", "card_no": "432149XXXXXX0667",
            "card_issuer": "STANDARD CHARTERED BANK", "card_brand": "VISA",
            "card_issuer_country": "Bangladesh", "base_fair": "0.00",
            "tran_date": "2026-12-02 18:00:00", "risk_level": "0", "risk_title": "Safe",
            "store_id": STORE_ID, "value_a": s.form.get("value_a", ""), "value_b": "",
            "value_c": "", "value_d": "",
        }
        for name, value in self.tamper.items():
            if name == "amount":
                fields["currency_amount"] = value
                fields["amount"] = value
            elif name == "currency":
                fields["currency_type"] = value
            else:
                fields[name] = value
        return fields

    def transaction_fields(self, s: SimSession, *, signed: bool) -> dict[str, str]:
        fields = self.reported(s)
        if signed:
            fields["verify_key"] = IPN_SIGNED
            fields["verify_sign"] = verify_sign(fields, IPN_SIGNED, STORE_PASSWD)
        return fields

    def ipn(self, key: str) -> dict[str, str]:
        """The IPN SSLCommerz posts to ``ipn_url`` for the session's current state."""
        s = self.session(key)
        fields = self.transaction_fields(s, signed=True)
        if s.status != "VALID":
            fields.update(status=s.status, val_id="", bank_tran_id="")
            fields["verify_sign"] = verify_sign(fields, IPN_SIGNED, STORE_PASSWD)
        return fields

    async def send_ipn(self, key: str, http: httpx.AsyncClient) -> list[httpx.Response]:
        s = self.session(key)
        body = self.ipn(key)
        answers = []
        for _ in range(2 if self.duplicate_ipn else 1):
            self.ipns_sent.append(body)
            answers.append(await http.post(
                s.form["ipn_url"], content=urlencode(body),
                headers={"Content-Type": "application/x-www-form-urlencoded"}))
        return answers

    # ---- the API ------------------------------------------------------------------------

    def authorised(self, fields: dict[str, str]) -> bool:
        return fields.get("store_id") == STORE_ID and fields.get("store_passwd") == STORE_PASSWD

    def create_session(self, form: dict[str, str]) -> dict[str, Any]:
        if not self.authorised(form):
            return {"status": "FAILED", "failedreason": "Store Credential Error Or Store is "
                    "De-active", "sessionkey": "", "GatewayPageURL": ""}
        missing = [f for f in ("total_amount", "currency", "tran_id", "success_url",
                               "fail_url", "cancel_url", "cus_name", "cus_email",
                               "cus_phone", "product_name", "product_category",
                               "product_profile", "shipping_method") if not form.get(f)]
        if missing:
            return {"status": "FAILED", "failedreason": f"Invalid Information: {missing[0]}",
                    "sessionkey": "", "GatewayPageURL": ""}
        try:
            total = Decimal(form["total_amount"])
        except ArithmeticError:
            total = Decimal(0)
        if form["currency"] not in RATES and form["currency"] not in (
                "AUD", "CAD", "SGD", "INR", "MYR"):
            return {"status": "FAILED", "failedreason": "Invalid currency",
                    "sessionkey": "", "GatewayPageURL": ""}
        if not Decimal("10.00") <= total * RATES.get(form["currency"], Decimal(100)) \
                <= Decimal("500000.00"):
            return {"status": "FAILED", "failedreason": "Invalid amount",
                    "sessionkey": "", "GatewayPageURL": ""}
        key = secrets.token_hex(16).upper()
        self.sessions[key] = SimSession(sessionkey=key, form=dict(form))
        page = f"{self.base_url}/gwprocess/v4/gw.php?Q=pay&SESSIONKEY={key}"
        return {"status": "SUCCESS", "failedreason": "", "sessionkey": key,
                "GatewayPageURL": page, "redirectGatewayURL": page,
                "storeBanner": "", "storeLogo": "", "desc": []}

    def validate(self, query: dict[str, str]) -> dict[str, Any]:
        s = self.by_val_id(query.get("val_id", ""))
        if not self.authorised(query) or s is None or s.status != "VALID":
            return {"status": "INVALID_TRANSACTION", "tran_id": "", "val_id": ""}
        s.validated += 1
        answer: dict[str, Any] = self.reported(s)
        answer["status"] = "VALID" if s.validated == 1 else "VALIDATED"
        answer.setdefault("APIConnect", "DONE")
        return answer

    def _session_answer(self, s: SimSession) -> dict[str, Any]:
        answer: dict[str, Any] = self.reported(s)
        if s.status == "VALID":
            answer["status"] = "VALIDATED" if s.validated else "VALID"
        answer.update(APIConnect="DONE", sessionkey=s.sessionkey)
        return answer

    def query(self, query: dict[str, str]) -> tuple[str, dict[str, Any]]:
        if not self.authorised(query):
            return "query", {"APIConnect": "INVALID_REQUEST"}
        if self.api_connect != "DONE":
            return "query", {"APIConnect": self.api_connect, "status": ""}
        if "refund_ref_id" in query:
            r = self.refund(query["refund_ref_id"])
            if r is None:
                return "refund_query", {"APIConnect": "INVALID_REQUEST",
                                        "errorReason": "Invalid refund_ref_id"}
            return "refund_query", {"APIConnect": "DONE", "bank_tran_id": r.bank_tran_id,
                                    "refund_ref_id": r.refund_ref_id, "status": r.status,
                                    "initiated_on": "2026-12-02 18:00:00",
                                    "refunded_on": "", "errorReason": ""}
        if "refund_amount" in query:
            return "refund", self.initiate_refund(query)
        if "sessionkey" in query:
            s = self.sessions.get(query["sessionkey"])
            if s is None:
                return "query", {"APIConnect": "INVALID_REQUEST", "status": "",
                                 "errorReason": "Invalid sessionkey"}
            return "query", self._session_answer(s)
        if "tran_id" in query:
            rows = [self._session_answer(s) for s in self.by_tran_id(query["tran_id"])
                    if self.tran_id_lists_open or s.status != "PENDING"]
            return "query", {"APIConnect": "DONE", "no_of_trans_found": len(rows),
                             "element": rows}
        return "query", {"APIConnect": "INVALID_REQUEST"}

    def initiate_refund(self, query: dict[str, str]) -> dict[str, Any]:
        s = self.by_bank_tran_id(query.get("bank_tran_id", ""))
        base = {"APIConnect": "DONE", "bank_tran_id": query.get("bank_tran_id", ""),
                "trans_id": s.tran_id if s else "", "refund_ref_id": ""}
        try:
            amount = Decimal(query.get("refund_amount", ""))
        except ArithmeticError:
            amount = Decimal(0)
        if s is None or s.status != "VALID":
            return {**base, "status": "failed", "errorReason": "Invalid bank_tran_id"}
        taken = sum((r.amount for r in s.refunds if r.status != "cancelled"), Decimal(0))
        if not query.get("refund_remarks") or amount <= 0 or taken + amount > s.total:
            return {**base, "status": "failed",
                    "errorReason": "Refund amount exceeds the transaction amount"}
        refund = SimRefund(refund_ref_id=f"5{secrets.randbelow(10**12):012d}",
                           bank_tran_id=s.bank_tran_id, amount=amount,
                           refe_id=query.get("refe_id", ""),
                           remarks=query.get("refund_remarks", ""))
        s.refunds.append(refund)
        return {**base, "refund_ref_id": refund.refund_ref_id, "status": "success",
                "errorReason": ""}

    async def answer(self, operation: str, body: dict[str, Any]) -> Response:
        if operation in self.delay:
            await asyncio.sleep(self.delay[operation])
        if operation in self.drop:
            return Dropped()
        return JSONResponse(body)


def hosted_page(target: str, fields: dict[str, str], *, auto_post: bool = True) -> str:
    inputs = "\n".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                       for k, v in fields.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SSLCommerz (stand-in)</title></head><body>
<main style="font-family:sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem">
<h1>SSLCommerz stand-in</h1><p>Returning to the merchant…</p>
<form id="back" method="post" action="{html.escape(target)}">{inputs}
<button type="submit">Return to merchant</button></form></main>
{'<script>document.getElementById("back").submit();</script>' if auto_post else ''}
</body></html>"""


def create_app(sim: SslcommerzSimulator | None = None) -> FastAPI:
    app = FastAPI()
    app.state.sim = sim = sim or SslcommerzSimulator()

    @app.middleware("http")
    async def learn_base(request: Request, call_next: Any) -> Response:
        if not sim.base_url:
            sim.base_url = str(request.base_url).rstrip("/")
        response: Response = await call_next(request)
        return response

    @app.post("/gwprocess/v4/api.php")
    async def session(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        sim.calls.append(("session", form))
        return await sim.answer("session", sim.create_session(form))

    @app.get("/gwprocess/v4/gw.php")
    async def page(request: Request) -> Response:
        key = request.query_params.get("SESSIONKEY", "")
        if key not in sim.sessions:
            return HTMLResponse("<p>Invalid session</p>", status_code=404)
        target, fields = sim.act(key, request.query_params.get("choice"))
        return HTMLResponse(hosted_page(target, fields, auto_post=sim.auto_post))

    @app.get("/validator/api/validationserverAPI.php")
    async def validation(request: Request) -> Response:
        query = dict(request.query_params)
        sim.calls.append(("validation", query))
        return await sim.answer("validation", sim.validate(query))

    @app.get("/validator/api/merchantTransIDvalidationAPI.php")
    async def transaction_query(request: Request) -> Response:
        query = dict(request.query_params)
        operation, body = sim.query(query)
        sim.calls.append((operation, query))
        return await sim.answer(operation, body)

    return app


def main() -> None:  # pragma: no cover - by hand: python -m tests.simulators.sslcommerz
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="SSLCommerz stand-in")
    parser.add_argument("--port", type=int, default=8422)
    args = parser.parse_args()
    print(f"store_id={STORE_ID} store_passwd={STORE_PASSWD} "  # noqa: T201
          f"base_url=http://127.0.0.1:{args.port}")
    uvicorn.run(create_app(SslcommerzSimulator(f"http://127.0.0.1:{args.port}")),
                host="127.0.0.1", port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
