"""A stateful simulator of bKash Tokenized Checkout v1.2.0-beta (mode ``0011``).

Used by the bKash tests and the gateway conformance battery (``tests/contract/``).  To try
the bKash adapter by hand, run it from the repository root with ``python -m
tests.simulators.bkash --port P`` and point the bKash gateway's ``base_url`` at
``http://127.0.0.1:P/v1.2.0-beta``.  It is a test stand-in, not part of the product:
merchants try OwnPay out with the ``sandbox`` gateway.

What it imitates (everything under the ``/v1.2.0-beta`` prefix):

* ``POST /tokenized/checkout/token/grant`` and ``/token/refresh`` -- ``id_token`` (expires
  after ``token_ttl`` seconds of the simulator's clock) and ``refresh_token``.
* ``POST /tokenized/checkout/create`` -> ``paymentID`` and ``bkashURL``, which points at this
  simulator's own hosted page ``GET/POST /checkout/{paymentID}`` (wallet number, OTP, PIN,
  Confirm/Cancel). The page redirects the browser (302) to
  ``callbackURL?paymentID=...&status=success|failure|cancel&apiVersion=1.2.0-beta``.
* ``POST /tokenized/checkout/execute``, ``/payment/status`` and ``/payment/refund``
  (refund, or refund status when only ``paymentID`` and ``trxID`` are sent).

Like bKash, business errors are HTTP 200 with ``statusCode``/``statusMessage``
(``errorCode``/``errorMessage`` when ``sim.error_envelope = "errorCode"``). Token problems
are answered the way bKash's API gateway does: HTTP 401 ``{"message": "Unauthorized"}`` for
a missing or unknown token, HTTP 401 ``{"message": "The incoming token has expired"}`` for an
expired one and HTTP 403 ``{"message": "Forbidden"}`` for a missing or wrong ``X-APP-Key``.

All state lives on ``app.state.sim`` (a :class:`BkashSimulator`); tests inspect and poke it
(clock, wallets, fault injection, counters). Nothing here is for production.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import string
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

__all__ = [
    "API_VERSION",
    "MESSAGES",
    "PREFIX",
    "REFUND_STATUS_FAULT",
    "BkashSimulator",
    "SimClock",
    "SimError",
    "SimPayment",
    "SimRefund",
    "SimRequest",
    "SimToken",
    "create_app",
    "main",
]

API_VERSION = "1.2.0-beta"
PREFIX = f"/v{API_VERSION}"
DHAKA = timezone(timedelta(hours=6))

GRANT = "/tokenized/checkout/token/grant"
REFRESH = "/tokenized/checkout/token/refresh"
CREATE = "/tokenized/checkout/create"
EXECUTE = "/tokenized/checkout/execute"
STATUS = "/tokenized/checkout/payment/status"
REFUND = "/tokenized/checkout/payment/refund"
# Not a URL: the fault key under which refund *status* queries (same URL) are matched.
REFUND_STATUS_FAULT = REFUND + "/status"

# bKash status codes used by the simulator and their published messages (the 2001-2069
# table and 2116-2119 from bKash's developer portal; 9999 as the sandbox answers it).
MESSAGES: dict[str, str] = {
    "0000": "Successful",
    "2001": "Invalid App Key",
    "2002": "Invalid Payment ID",
    "2006": "Invalid amount",
    "2007": "Invalid currency",
    "2008": "Invalid intent",
    "2009": "Invalid Wallet",
    "2014": "Wrong PIN",
    "2015": "Wrong PIN count exceeded",
    "2016": "Wrong verification code",
    "2017": "Wrong verification limit exceeded",
    "2023": "Insufficient Balance",
    "2025": "Invalid request body",
    "2026": "The reversal amount cannot be greater than the original transaction amount",
    "2028": "Reverse failed because the transaction serial number does not exist",
    "2031": "Invalid merchant invoice number",
    "2033": "Transaction not found",
    "2034": (
        "The transaction cannot be reversed because the original transaction has been reversed"
    ),
    "2037": (
        "The account of the debit party is in a state which prohibits execution of this transaction"
    ),
    "2048": "Invalid Payer Reference",
    "2049": "Invalid Merchant Callback URL",
    "2056": "Invalid Payment State",
    "2060": "Payment execution pre-requisite hasn't been met",
    "2062": "The payment has already been completed",
    "2063": "Mode is not valid as per request data",
    "2064": "This product mode currently unavailable",
    "2065": "Mendatory field missing",
    "2117": "The payment execution has already been completed",
    "9999": "System Error.",
}

PaymentState = Literal["initiated", "authorized", "completed", "failed", "cancelled"]
Fault = int | Mapping[str, Any] | tuple[int, Mapping[str, Any]]

_TRANSACTION_STATUS: dict[str, str] = {
    "initiated": "Initiated",
    "authorized": "Initiated",  # verified by the customer, not executed yet
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
_WALLET = re.compile(r"^01[3-9][0-9]{8}$")
_ALNUM = string.ascii_uppercase + string.digits
_MAX_TEXT = 255


class SimError(Exception):
    """A bKash business error: answered with HTTP 200 and ``statusCode``/``statusMessage``."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, MESSAGES["9999"])
        super().__init__(f"{self.code} {self.message}")


class SimClock:
    """Wall-clock time plus an offset tests can move forward (seconds since the epoch)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class SimToken:
    id_token: str
    refresh_token: str
    issued_at: float
    expires_at: float


@dataclass
class SimRefund:
    refund_trx_id: str
    amount: str
    amount_value: Decimal
    sku: str
    reason: str
    completed_at: float


@dataclass
class SimPayment:
    payment_id: str
    mode: str
    amount: str  # exactly as the merchant sent it, echoed back like bKash does
    amount_value: Decimal
    currency: str
    intent: str
    payer_reference: str
    callback_url: str
    merchant_invoice_number: str
    created_at: float
    state: PaymentState = "initiated"
    customer_msisdn: str | None = None
    trx_id: str | None = None
    authorized_at: float | None = None
    executed_at: float | None = None
    failure_code: str | None = None
    failure_reason: str | None = None  # e.g. "2023 Insufficient Balance"
    failed_attempts: int = 0  # wrong OTP/PIN entries on the hosted page
    refunds: list[SimRefund] = field(default_factory=list)

    @property
    def transaction_status(self) -> str:
        return _TRANSACTION_STATUS[self.state]

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount_value for r in self.refunds), Decimal("0"))

    @property
    def refundable(self) -> Decimal:
        return self.amount_value - self.refunded if self.state == "completed" else Decimal("0")


@dataclass
class SimRequest:
    """One API request as the simulator saw it (hosted-page requests are not recorded)."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class _Call:
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]
    base_url: str


def _bkash_time(epoch: float) -> str:
    """bKash's timestamp format, e.g. ``2023-01-23T02:01:06:713 GMT+0600``."""
    moment = datetime.fromtimestamp(epoch, DHAKA)
    return f"{moment:%Y-%m-%dT%H:%M:%S}:{moment.microsecond // 1000:03d} GMT+0600"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    """``url`` with ``params`` appended to its query string (existing ones kept)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + params
    return urlunsplit(parts._replace(query=urlencode(query)))


def _text(body: Mapping[str, Any], key: str) -> str | None:
    """A string field; numbers are accepted and stringified, anything else is invalid."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return ""


def _parse_amount(raw: str | None) -> Decimal | None:
    if raw is None or not _AMOUNT.match(raw):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value > 0 else None


def _path_matches(key: str, path: str) -> bool:
    """Fault keys may be the full path, the path without the version prefix, or a suffix
    made of whole segments (``"execute"``, ``"payment/status"``)."""
    wanted = key.strip().strip("/")
    versioned = PREFIX.strip("/") + "/"
    if wanted.startswith(versioned):
        wanted = wanted[len(versioned) :]
    plain = path.strip("/")
    return bool(wanted) and (plain == wanted or plain.endswith("/" + wanted))


def _fault_response(fault: Fault) -> Response:
    if isinstance(fault, int):
        try:
            phrase = HTTPStatus(fault).phrase
        except ValueError:
            phrase = "Error"
        return JSONResponse({"message": phrase}, status_code=fault)
    if isinstance(fault, tuple):
        status, body = fault
        return JSONResponse(dict(body), status_code=status)
    return JSONResponse(dict(fault), status_code=200)


class BkashSimulator:
    """In-memory state and behaviour of the simulated bKash.

    Knobs and probes for tests (all plain attributes):

    * ``clock`` (:class:`SimClock`), ``advance(seconds)``, ``expire_tokens()``
    * ``tokens`` (id_token -> :class:`SimToken`), ``refresh_tokens`` (token -> expiry)
    * ``payments`` (paymentID -> :class:`SimPayment`)
    * ``wallets`` (msisdn -> balance; unknown wallets have ``default_balance``),
      ``blocked_wallets``
    * ``otp``, ``pin``, ``max_attempts``
    * ``execute_calls`` (successful executions per paymentID: never more than 1),
      ``execute_attempts`` (every execute request per paymentID)
    * ``calls`` (requests per API path), ``requests`` (every API request, in order)
    * ``execute_delay`` (seconds to stall *after* completing an execute)
    * ``fail_next[path] = 500`` (answer the next call with HTTP 500 without acting on it),
      ``fail_after_next[path] = 500`` (act on the next call, then answer HTTP 500); a refund
      *status* query (the refund path with only paymentID and trxID) is matched as
      ``payment/refund/status`` (:data:`REFUND_STATUS_FAULT`), so ``"payment/refund"``
      targets refunds themselves; a dict
      value is sent as an HTTP 200 JSON body, a ``(status, dict)`` tuple as given
    * ``duplicate_execute_code`` ("2117", or "2062"), ``error_envelope``
    """

    def __init__(
        self,
        *,
        app_key: str = "sandbox-app-key",
        app_secret: str = "sandbox-app-secret",  # noqa: S107 (public sandbox default)
        username: str = "sandbox-user",
        password: str = "sandbox-pass",  # noqa: S107 (public sandbox default)
        token_ttl: int = 3600,
        public_url: str | None = None,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.username = username
        self.password = password
        self.token_ttl = token_ttl
        self.refresh_token_ttl: float = 28 * 24 * 3600
        self.public_url = public_url
        self.clock = SimClock()

        self.tokens: dict[str, SimToken] = {}
        self.refresh_tokens: dict[str, float] = {}
        self.payments: dict[str, SimPayment] = {}

        # bKash's published sandbox wallets: 01823074817 has no balance, 01823074818 is
        # debit-blocked. Every other well-formed wallet has default_balance.
        self.wallets: dict[str, Decimal | int | float | str] = {"01823074817": Decimal("0")}
        self.blocked_wallets: set[str] = {"01823074818"}
        self.default_balance = Decimal("1000000")
        self.otp = "123456"
        self.pin = "12121"
        self.max_attempts = 3

        self.execute_calls: Counter[str] = Counter()
        self.execute_attempts: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.requests: list[SimRequest] = []

        self.execute_delay: float = 0.0
        self.fail_next: dict[str, Fault] = {}
        self.fail_after_next: dict[str, Fault] = {}
        self.duplicate_execute_code = "2117"
        self.error_envelope: Literal["statusCode", "errorCode"] = "statusCode"

    # ---- test helpers ------------------------------------------------------------------

    @property
    def grant_calls(self) -> int:
        return self.calls[GRANT]

    @property
    def refresh_calls(self) -> int:
        return self.calls[REFRESH]

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (token expiry follows it)."""
        self.clock.advance(seconds)

    def expire_tokens(self, *, refresh_tokens: bool = False) -> None:
        """Expire every id_token now (and the refresh tokens too when asked)."""
        now = self.clock.now()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)
        if refresh_tokens:
            for key in self.refresh_tokens:
                self.refresh_tokens[key] = min(self.refresh_tokens[key], now)

    def balance(self, wallet: str) -> Decimal:
        if wallet in self.wallets:
            return Decimal(str(self.wallets[wallet]))
        return self.default_balance

    def payment(self, payment_id: str) -> SimPayment:
        return self.payments[payment_id]

    def approve(self, payment_id: str, wallet: str = "01770618575") -> SimPayment:
        """What a customer entering the right OTP and PIN does, without the browser."""
        payment = self.payments[payment_id]
        self._authorize(payment, wallet)
        return payment

    def decline(self, payment_id: str, code: str = "2023") -> SimPayment:
        payment = self.payments[payment_id]
        self._fail(payment, code)
        return payment

    def cancel(self, payment_id: str) -> SimPayment:
        payment = self.payments[payment_id]
        payment.state = "cancelled"
        return payment

    def callback_url(self, payment: SimPayment, status: str) -> str:
        """Where the hosted page sends the browser for ``status`` (success/failure/cancel)."""
        return _with_query(
            payment.callback_url,
            [("paymentID", payment.payment_id), ("status", status), ("apiVersion", API_VERSION)],
        )

    def hosted_url(self, payment_id: str, base_url: str) -> str:
        root = (self.public_url or base_url).rstrip("/")
        if root.endswith(PREFIX):
            root = root[: -len(PREFIX)]
        return f"{root}{PREFIX}/checkout/{payment_id}"

    # ---- plumbing ----------------------------------------------------------------------

    def error_body(self, code: str, message: str | None = None) -> dict[str, Any]:
        text = message or MESSAGES.get(code, MESSAGES["9999"])
        if self.error_envelope == "errorCode":
            return {"errorCode": code, "errorMessage": text}
        return {"statusCode": code, "statusMessage": text}

    def take_fault(self, faults: dict[str, Fault], path: str) -> Fault | None:
        for key in list(faults):
            if _path_matches(key, path):
                return faults.pop(key)
        return None

    def check_auth(self, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """``None`` when the call may proceed, else (HTTP status, gateway message)."""
        raw = headers.get("authorization")
        token = self.tokens.get(raw.strip()) if raw else None
        if token is None:
            return 401, "Unauthorized"
        if self.clock.now() >= token.expires_at:
            return 401, "The incoming token has expired"
        if headers.get("x-app-key") != self.app_key:
            return 403, "Forbidden"
        return None

    def _new_id(self, prefix: str, digits: int) -> str:
        while True:
            stamp = str(int(self.clock.now() * 1000))[-digits:]
            candidate = prefix + "".join(secrets.choice(_ALNUM) for _ in range(2)) + stamp
            if candidate not in self.payments:
                return candidate

    def _new_trx_id(self) -> str:
        used = {p.trx_id for p in self.payments.values()}
        used |= {r.refund_trx_id for p in self.payments.values() for r in p.refunds}
        while True:
            candidate = "".join(secrets.choice(_ALNUM) for _ in range(10))
            if candidate not in used:
                return candidate

    def _issue_token(self, refresh_token: str | None = None) -> SimToken:
        now = self.clock.now()
        if refresh_token is None:
            refresh_token = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh_token] = now + self.refresh_token_ttl
        token = SimToken(
            id_token=secrets.token_urlsafe(48),
            refresh_token=refresh_token,
            issued_at=now,
            expires_at=now + self.token_ttl,
        )
        self.tokens[token.id_token] = token
        return token

    def _token_body(self, token: SimToken) -> dict[str, Any]:
        return {
            "statusCode": "0000",
            "statusMessage": MESSAGES["0000"],
            "id_token": token.id_token,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "refresh_token": token.refresh_token,
        }

    def _check_credentials(self, call: _Call) -> None:
        if call.headers.get("username") != self.username:
            raise SimError("9999", "Username does not exist")
        if call.headers.get("password") != self.password:
            raise SimError("9999", "Invalid username or password")
        if _text(call.body, "app_key") != self.app_key:
            raise SimError("2001")
        if _text(call.body, "app_secret") != self.app_secret:
            raise SimError("9999", "Invalid App Secret")

    def _authorize(self, payment: SimPayment, wallet: str) -> None:
        payment.state = "authorized"
        payment.customer_msisdn = wallet
        payment.authorized_at = self.clock.now()

    def _fail(self, payment: SimPayment, code: str) -> None:
        payment.state = "failed"
        payment.failure_code = code
        payment.failure_reason = f"{code} {MESSAGES.get(code, '')}".strip()

    def _lookup(self, body: Mapping[str, Any]) -> SimPayment:
        payment_id = _text(body, "paymentID")
        if not payment_id:
            raise SimError("2065")
        payment = self.payments.get(payment_id)
        if payment is None:
            raise SimError("2002")
        return payment

    # ---- API operations ----------------------------------------------------------------

    async def grant(self, call: _Call) -> dict[str, Any]:
        self._check_credentials(call)
        return self._token_body(self._issue_token())

    async def refresh(self, call: _Call) -> dict[str, Any]:
        self._check_credentials(call)
        refresh_token = _text(call.body, "refresh_token")
        if not refresh_token:
            raise SimError("2065")
        expires_at = self.refresh_tokens.get(refresh_token)
        if expires_at is None or self.clock.now() >= expires_at:
            raise SimError("9999", "Invalid refresh token")
        return self._token_body(self._issue_token(refresh_token))

    async def create(self, call: _Call) -> dict[str, Any]:
        body = call.body
        mode = _text(body, "mode")
        if not mode:
            raise SimError("2065")
        if mode != "0011":  # agreement modes exist at bKash but are not simulated
            raise SimError("2064" if mode in ("0000", "0001") else "2063")
        fields = (
            "payerReference",
            "callbackURL",
            "amount",
            "currency",
            "intent",
            "merchantInvoiceNumber",
        )
        values = {name: _text(body, name) for name in fields}
        if any(value is None or value == "" for value in values.values()):
            raise SimError("2065")
        amount = values["amount"] or ""
        amount_value = _parse_amount(amount)
        if amount_value is None:
            raise SimError("2006")
        if values["currency"] != "BDT":
            raise SimError("2007")
        if values["intent"] != "sale":
            raise SimError("2008")
        callback = values["callbackURL"] or ""
        parts = urlsplit(callback)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(callback) > 2048:
            raise SimError("2049")
        payer_reference = values["payerReference"] or ""
        if len(payer_reference) > _MAX_TEXT:
            raise SimError("2048")
        invoice = values["merchantInvoiceNumber"] or ""
        if len(invoice) > _MAX_TEXT:
            raise SimError("2031")

        now = self.clock.now()
        payment = SimPayment(
            payment_id=self._new_id("TR0011", 13),
            mode=mode,
            amount=amount,
            amount_value=amount_value,
            currency="BDT",
            intent="sale",
            payer_reference=payer_reference,
            callback_url=callback,
            merchant_invoice_number=invoice,
            created_at=now,
        )
        self.payments[payment.payment_id] = payment
        return {
            "statusCode": "0000",
            "statusMessage": MESSAGES["0000"],
            "paymentID": payment.payment_id,
            "bkashURL": self.hosted_url(payment.payment_id, call.base_url),
            "callbackURL": callback,
            "successCallbackURL": _with_query(
                callback, [("paymentID", payment.payment_id), ("status", "success")]
            ),
            "failureCallbackURL": _with_query(
                callback, [("paymentID", payment.payment_id), ("status", "failure")]
            ),
            "cancelledCallbackURL": _with_query(
                callback, [("paymentID", payment.payment_id), ("status", "cancel")]
            ),
            "amount": payment.amount,
            "intent": payment.intent,
            "currency": payment.currency,
            "paymentCreateTime": _bkash_time(now),
            "transactionStatus": payment.transaction_status,
            "merchantInvoiceNumber": invoice,
        }

    async def execute(self, call: _Call) -> dict[str, Any]:
        payment = self._lookup(call.body)
        self.execute_attempts[payment.payment_id] += 1
        if payment.state == "completed":
            raise SimError(self.duplicate_execute_code)
        if payment.state == "initiated":
            raise SimError("2060")
        if payment.state != "authorized" or payment.customer_msisdn is None:
            raise SimError("2056")
        wallet = payment.customer_msisdn
        if self.balance(wallet) < payment.amount_value:
            self._fail(payment, "2023")
            raise SimError("2023")
        if wallet in self.wallets:
            self.wallets[wallet] = self.balance(wallet) - payment.amount_value
        payment.state = "completed"
        payment.trx_id = self._new_trx_id()
        payment.executed_at = self.clock.now()
        self.execute_calls[payment.payment_id] += 1
        response = {
            "statusCode": "0000",
            "statusMessage": MESSAGES["0000"],
            "paymentID": payment.payment_id,
            "payerReference": payment.payer_reference,
            "customerMsisdn": wallet,
            "trxID": payment.trx_id,
            "amount": payment.amount,
            "transactionStatus": payment.transaction_status,
            "paymentExecuteTime": _bkash_time(payment.executed_at),
            "currency": payment.currency,
            "intent": payment.intent,
            "merchantInvoiceNumber": payment.merchant_invoice_number,
        }
        if self.execute_delay > 0:  # the payment is already completed server-side
            await asyncio.sleep(self.execute_delay)
        return response

    async def status(self, call: _Call) -> dict[str, Any]:
        payment = self._lookup(call.body)
        body: dict[str, Any] = {
            "paymentID": payment.payment_id,
            "mode": payment.mode,
            "paymentCreateTime": _bkash_time(payment.created_at),
        }
        if payment.executed_at is not None:
            body["paymentExecuteTime"] = _bkash_time(payment.executed_at)
        body |= {
            "amount": payment.amount,
            "currency": payment.currency,
            "intent": payment.intent,
            "merchantInvoice": payment.merchant_invoice_number,
            "merchantInvoiceNumber": payment.merchant_invoice_number,
        }
        if payment.trx_id is not None:
            body["trxID"] = payment.trx_id
            body["maxRefundableAmount"] = _money(payment.refundable)
        body |= {
            "transactionStatus": payment.transaction_status,
            "verificationStatus": (
                "Complete" if payment.state in ("authorized", "completed") else "Incomplete"
            ),
            "payerReference": payment.payer_reference,
            "statusCode": "0000",
            "statusMessage": MESSAGES["0000"],
        }
        return body

    async def refund(self, call: _Call) -> dict[str, Any]:
        body = call.body
        payment = self._lookup(body)
        trx_id = _text(body, "trxID")
        if not trx_id:
            raise SimError("2065")
        if payment.state != "completed" or trx_id != payment.trx_id:
            raise SimError("2028")
        if _is_refund_status(body):
            return self._refund_status(payment)

        amount = _text(body, "amount")
        sku = _text(body, "sku")
        reason = _text(body, "reason")
        if not amount or not sku or not reason:
            raise SimError("2065")
        amount_value = _parse_amount(amount)
        if amount_value is None or len(sku) > _MAX_TEXT or len(reason) > _MAX_TEXT:
            raise SimError("2006" if amount_value is None else "2025")
        if payment.refundable <= 0:
            raise SimError("2034")
        if amount_value > payment.refundable:
            raise SimError("2026")
        refund = SimRefund(
            refund_trx_id=self._new_trx_id(),
            amount=amount,
            amount_value=amount_value,
            sku=sku,
            reason=reason,
            completed_at=self.clock.now(),
        )
        payment.refunds.append(refund)
        wallet = payment.customer_msisdn
        if wallet is not None and wallet in self.wallets:
            self.wallets[wallet] = self.balance(wallet) + amount_value
        return self._refund_body(payment, refund)

    def _refund_status(self, payment: SimPayment) -> dict[str, Any]:
        if not payment.refunds:
            raise SimError("2033")
        return self._refund_body(payment, payment.refunds[-1])

    def _refund_body(self, payment: SimPayment, refund: SimRefund) -> dict[str, Any]:
        return {
            "statusCode": "0000",
            "statusMessage": MESSAGES["0000"],
            "originalTrxID": payment.trx_id,
            "refundTrxID": refund.refund_trx_id,
            "transactionStatus": "Completed",
            "amount": refund.amount,
            "currency": payment.currency,
            "charge": "0.00",
            "completedTime": _bkash_time(refund.completed_at),
        }

    # ---- hosted page -------------------------------------------------------------------

    def submit_page(
        self, payment: SimPayment, form: Mapping[str, str]
    ) -> tuple[Literal["redirect", "render"], str]:
        """Apply a hosted-page submission: ("redirect", url) or ("render", error)."""
        if form.get("action") == "cancel":
            payment.state = "cancelled"
            return "redirect", self.callback_url(payment, "cancel")
        wallet = form.get("wallet", "").strip()
        if not _WALLET.match(wallet):
            return "render", "Enter an 11-digit bKash wallet number starting with 01."
        if wallet in self.blocked_wallets:
            self._fail(payment, "2037")
            payment.customer_msisdn = wallet
            return "redirect", self.callback_url(payment, "failure")
        if form.get("otp", "").strip() != self.otp:
            return self._wrong_secret(payment, "2016", "2017")
        if form.get("pin", "").strip() != self.pin:
            return self._wrong_secret(payment, "2014", "2015")
        payment.customer_msisdn = wallet
        if self.balance(wallet) < payment.amount_value:
            self._fail(payment, "2023")
            return "redirect", self.callback_url(payment, "failure")
        self._authorize(payment, wallet)
        return "redirect", self.callback_url(payment, "success")

    def _wrong_secret(
        self, payment: SimPayment, code: str, final_code: str
    ) -> tuple[Literal["redirect", "render"], str]:
        payment.failed_attempts += 1
        left = self.max_attempts - payment.failed_attempts
        if left <= 0:
            self._fail(payment, final_code)
            return "redirect", self.callback_url(payment, "failure")
        noun = "attempt" if left == 1 else "attempts"
        return "render", f"{MESSAGES[code]}. {left} {noun} left."


# ---- HTML ------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f4f6;margin:0;color:#1d1d1f}
main{max-width:24rem;margin:2rem auto;background:#fff;padding:1.5rem;border-radius:.75rem;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{color:#c2185b;font-size:1.4rem;margin:0 0 .25rem}
.sim{font-size:.8rem;color:#555;margin:0 0 1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:0 0 1rem}
dt{color:#555}dd{margin:0;font-weight:600}
label{display:block;font-weight:600;margin-top:.75rem}
input{width:100%;box-sizing:border-box;font-size:1rem;padding:.5rem;margin-top:.25rem;
border:1px solid #888;border-radius:.4rem}
input:focus,button:focus{outline:3px solid #f8bbd0;outline-offset:1px}
.hint{font-size:.8rem;color:#555;margin:.25rem 0 0}
.error{background:#fdecea;color:#8a1c1c;border:1px solid #e0a0a0;padding:.5rem;
border-radius:.4rem}
.actions{display:flex;gap:.75rem;margin-top:1.25rem}
button{flex:1;font-size:1rem;padding:.6rem;border-radius:.4rem;border:1px solid #c2185b;
cursor:pointer}
button[value=confirm]{background:#c2185b;color:#fff}
button[value=cancel]{background:#fff;color:#c2185b}
"""


def _page(title: str, content: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{content}\n</main>\n</body>\n</html>\n"
    )


def _field(
    name: str,
    label: str,
    hint: str,
    *,
    kind: str,
    extra: str,
    value: str = "",
    invalid: bool = False,
) -> str:
    described = f"{name}-hint" + (" error" if invalid else "")
    invalid_attr = ' aria-invalid="true"' if invalid else ""
    value_attr = f' value="{html.escape(value)}"' if value else ""
    return (
        f'<label for="{name}">{html.escape(label)}</label>\n'
        f'<input id="{name}" name="{name}" type="{kind}" {extra} required'
        f' aria-describedby="{described}"{invalid_attr}{value_attr}>\n'
        f'<p id="{name}-hint" class="hint">{html.escape(hint)}</p>'
    )


def render_checkout(
    sim: BkashSimulator, payment: SimPayment, *, error: str | None = None, wallet: str = ""
) -> str:
    lower = (error or "").lower()
    bad_wallet = "wallet" in lower
    bad_otp = "verification" in lower
    bad_pin = "pin" in lower
    error_html = (
        f'<p id="error" class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
    )
    content = (
        "<h1>bKash Checkout</h1>\n"
        '<p class="sim">Sandbox simulator: no real money moves.</p>\n'
        "<dl>\n"
        f"<dt>Invoice</dt><dd>{html.escape(payment.merchant_invoice_number)}</dd>\n"
        f"<dt>Amount</dt><dd>{html.escape(payment.amount)} {html.escape(payment.currency)}</dd>\n"
        "</dl>\n"
        f"{error_html}"
        '<form method="post">\n'
        + _field(
            "wallet",
            "Wallet number",
            "Your 11-digit bKash number, e.g. 01770618575.",
            kind="tel",
            extra='inputmode="numeric" autocomplete="tel" maxlength="11"',
            value=wallet,
            invalid=bad_wallet,
        )
        + "\n"
        + _field(
            "otp",
            "Verification code",
            f"Sandbox verification code: {sim.otp}",
            kind="text",
            extra='inputmode="numeric" autocomplete="one-time-code" maxlength="6"',
            invalid=bad_otp,
        )
        + "\n"
        + _field(
            "pin",
            "PIN",
            f"Sandbox PIN: {sim.pin}",
            kind="password",
            extra='inputmode="numeric" autocomplete="off" maxlength="5"',
            invalid=bad_pin,
        )
        + "\n"
        '<div class="actions">\n'
        '<button type="submit" name="action" value="confirm">Confirm</button>\n'
        '<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>\n'
        "</div>\n</form>"
    )
    return _page("bKash Checkout", content)


def render_notice(title: str, message: str) -> str:
    return _page(title, f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(message)}</p>")


# ---- ASGI app --------------------------------------------------------------------------

Operation = Callable[[BkashSimulator, _Call], Awaitable[dict[str, Any]]]

_OPERATIONS: tuple[tuple[str, Operation, bool], ...] = (
    (GRANT, BkashSimulator.grant, False),
    (REFRESH, BkashSimulator.refresh, False),
    (CREATE, BkashSimulator.create, True),
    (EXECUTE, BkashSimulator.execute, True),
    (STATUS, BkashSimulator.status, True),
    (REFUND, BkashSimulator.refund, True),
)


def _sim(request: Request) -> BkashSimulator:
    sim: BkashSimulator = request.app.state.sim
    return sim


async def _dispatch(request: Request, path: str, operation: Operation, auth: bool) -> Response:
    sim = _sim(request)
    sim.calls[path] += 1
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = None
    sim.requests.append(
        SimRequest(path=path, headers=dict(request.headers), body=body, at=sim.clock.now())
    )
    fault_path = REFUND_STATUS_FAULT if path == REFUND and _is_refund_status(body) else path
    fault = sim.take_fault(sim.fail_next, fault_path)
    if fault is not None:
        return _fault_response(fault)
    if auth:
        denied = sim.check_auth(request.headers)
        if denied is not None:
            return JSONResponse({"message": denied[1]}, status_code=denied[0])
    if not isinstance(body, dict):
        data = sim.error_body("2025")
    else:
        call = _Call(path=path, headers=request.headers, body=body, base_url=str(request.base_url))
        try:
            data = await operation(sim, call)
        except SimError as exc:
            data = sim.error_body(exc.code, exc.message)
    fault = sim.take_fault(sim.fail_after_next, fault_path)
    if fault is not None:
        return _fault_response(fault)
    return JSONResponse(data)


def _is_refund_status(body: Any) -> bool:
    return isinstance(body, dict) and all(
        body.get(name) is None for name in ("amount", "sku", "reason")
    )


def _endpoint(
    path: str, operation: Operation, auth: bool
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await _dispatch(request, path, operation, auth)

    endpoint.__name__ = path.rsplit("/", 1)[-1]
    return endpoint


async def _checkout_page(request: Request) -> Response:
    sim = _sim(request)
    payment = sim.payments.get(request.path_params["payment_id"])
    if payment is None:
        return HTMLResponse(
            render_notice("Payment not found", "This bKash payment does not exist."),
            status_code=404,
        )
    if payment.state != "initiated":
        return HTMLResponse(
            render_notice(
                "Payment closed",
                f"This payment is no longer waiting for you ({payment.transaction_status}).",
            ),
            status_code=409,
        )
    if request.method == "GET":
        return HTMLResponse(render_checkout(sim, payment))
    raw = (await request.body()).decode("utf-8", "replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    outcome, value = sim.submit_page(payment, form)
    if outcome == "redirect":
        return RedirectResponse(value, status_code=302)
    wallet = form.get("wallet", "").strip()
    return HTMLResponse(render_checkout(sim, payment, error=value, wallet=wallet))


def create_app(
    *,
    app_key: str = "sandbox-app-key",
    app_secret: str = "sandbox-app-secret",  # noqa: S107 (public sandbox default)
    username: str = "sandbox-user",
    password: str = "sandbox-pass",  # noqa: S107 (public sandbox default)
    token_ttl: int = 3600,
    public_url: str | None = None,
) -> FastAPI:
    """The simulator as an ASGI app; its state is ``app.state.sim``.

    ``public_url`` is the simulator's externally visible root (``http://host:port``, with or
    without the ``/v1.2.0-beta`` suffix) used to build ``bkashURL``; by default the
    request's own base URL is used.
    """
    app = FastAPI(
        title="bKash Tokenized Checkout simulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.sim = BkashSimulator(
        app_key=app_key,
        app_secret=app_secret,
        username=username,
        password=password,
        token_ttl=token_ttl,
        public_url=public_url,
    )
    router = APIRouter(prefix=PREFIX)
    for path, operation, auth in _OPERATIONS:
        router.add_api_route(
            path, _endpoint(path, operation, auth), methods=["POST"], include_in_schema=False
        )
    router.add_api_route(
        "/checkout/{payment_id}", _checkout_page, methods=["GET", "POST"], include_in_schema=False
    )
    app.include_router(router)

    async def index(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "simulator": "bKash Tokenized Checkout",
                "apiVersion": API_VERSION,
                "base_url": str(request.base_url).rstrip("/") + PREFIX,
            }
        )

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    return app


def main(host: str = "127.0.0.1", port: int = 8420, *, public_url: str | None = None) -> None:
    """Run the simulator with uvicorn until interrupted (``python -m tests.simulators.bkash``)."""
    import uvicorn

    app = create_app(public_url=public_url)
    sim = _sim_of(app)
    shown = public_url or f"http://{host}:{port}"
    print(
        "bKash Tokenized Checkout simulator\n"
        f"  base_url   {shown.rstrip('/')}{PREFIX}\n"
        f"  app_key    {sim.app_key}\n  app_secret {sim.app_secret}\n"
        f"  username   {sim.username}\n  password   {sim.password}\n"
        f"  customer   any wallet 01XXXXXXXXX, verification code {sim.otp}, PIN {sim.pin}\n"
        "  (01823074817 has no balance; 01823074818 is debit-blocked)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


def _sim_of(app: FastAPI) -> BkashSimulator:
    sim: BkashSimulator = app.state.sim
    return sim


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="bKash Tokenized Checkout simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8421)
    parser.add_argument("--public-url", default=None)
    args = parser.parse_args()
    main(args.host, args.port, public_url=args.public_url)
