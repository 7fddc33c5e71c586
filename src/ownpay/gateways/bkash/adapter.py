"""``bkash``: bKash Tokenized Checkout (v1.2.0-beta, mode ``0011``), BDT only.

Flow: the customer presses "Pay with bKash" on our page -> :meth:`BkashGateway.submit`
creates a bKash payment (merchantInvoiceNumber = our transaction id, callbackURL = our
``/gateways/bkash/callback/{transaction_id}``) and we redirect to ``bkashURL`` -> bKash
sends the browser back with ``paymentID`` and a status hint -> for ``success`` the core
claims the payment (pending -> processing) and calls :meth:`BkashGateway.capture`
(execute) exactly once; an ambiguous execute is followed by a status query, never by a
second execute.

How bKash answers (its published Tokenized Checkout API and error-code table):

* business results and errors come with HTTP 200 and ``statusCode``/``statusMessage``
  (``"0000"`` = success; some endpoints use ``errorCode``/``errorMessage``), so every reply
  is judged by its body;
* token problems are answered by bKash's API gateway *before* any bKash logic runs:
  HTTP 401 ``{"message": "Unauthorized"}`` or ``"The incoming token has expired"``, and
  HTTP 403 ``{"message": "Forbidden"}`` for a wrong ``X-APP-Key``.  A 401 is therefore the
  only refusal that is retried (once, with a renewed token): nothing happened at bKash.

Access tokens live in the shared, encrypted ``ctx.store`` (the ``gateway_state`` table), so
every API process and worker reuses one grant instead of granting its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import structlog

from ownpay import money
from ownpay.gateways.base import (
    CheckoutView,
    ConfigField,
    ConfigInvalid,
    FormError,
    Gateway,
    GatewayContext,
    GatewayError,
    Outcome,
    PaymentView,
    RefundResult,
    VerifiedResult,
)

log = structlog.get_logger("ownpay.gateways.bkash")

SANDBOX_URL = "https://tokenized.sandbox.bka.sh/v1.2.0-beta"
LIVE_URL = "https://tokenized.pay.bka.sh/v1.2.0-beta"
# Where bKash's hosted payment pages live (``bkashURL``); our page's CSP form-action must
# allow them, because the "Pay with bKash" form is answered with a redirect there.
HOSTED_PAGE_ORIGINS = ("https://*.bkash.com", "https://*.bka.sh")

GRANT = "/tokenized/checkout/token/grant"
REFRESH = "/tokenized/checkout/token/refresh"
CREATE = "/tokenized/checkout/create"
EXECUTE = "/tokenized/checkout/execute"
STATUS = "/tokenized/checkout/payment/status"
REFUND = "/tokenized/checkout/payment/refund"

TOKEN_STATE_KEY = "tokens"  # noqa: S105 - the name of a state entry, not a secret
TOKEN_MARGIN = 120  # seconds before expiry at which an id_token is renewed

MERCHANT_SIDE = (
    "bKash is not available for this shop right now. "
    "Please choose another way to pay or contact the merchant."
)
TRY_AGAIN = "bKash could not process the payment. Please try again."
TEMPORARY = "bKash is temporarily unavailable. Please try again in a few minutes."
GENERIC = "bKash could not complete the payment. Please try again or choose another method."
START_AGAIN = "This bKash payment can no longer be completed. Please start the payment again."
REFUND_ONLY = "The refund was refused by bKash."
ACCOUNT_BLOCKED = "Your bKash account cannot make this payment right now. Please contact bKash."
NOT_SUBSCRIBED = "Your bKash account cannot make this kind of payment. Please contact bKash."
MERCHANT_BLOCKED = (
    "The merchant's bKash account cannot receive payments right now. "
    "Please contact the merchant."
)
NOT_APPROVED = "The bKash payment was not approved. Please try again."
NOT_COMPLETED = "The bKash payment did not go through. No money was taken."

# Every status code in bKash's published table (2001-2069, 2116-2119, and 9999 as the
# sandbox sends it), with what the customer is told.  The code and bKash's own message
# always go into the status history; this text is what our checkout page shows.
CUSTOMER_MESSAGES: dict[str, str] = {
    "2001": MERCHANT_SIDE,  # Invalid App Key
    "2002": START_AGAIN,  # Invalid Payment ID
    "2003": TRY_AGAIN,  # Process failed
    "2004": MERCHANT_SIDE,  # Invalid firstPaymentDate
    "2005": MERCHANT_SIDE,  # Invalid frequency
    "2006": "bKash does not accept this payment amount. Please contact the merchant.",
    "2007": "bKash accepts payments in Bangladeshi taka (BDT) only.",  # Invalid currency
    "2008": MERCHANT_SIDE,  # Invalid intent
    "2009": "The bKash wallet number is not valid. Please check it and try again.",
    "2010": "The verification code (OTP) was not valid. Please try again.",
    "2011": "The bKash PIN was not valid. Please try again.",
    "2012": MERCHANT_SIDE,  # Invalid Receiver MSISDN
    "2013": "Too many verification codes were requested. Please try again later.",
    "2014": "The bKash PIN was wrong. Please try again.",
    "2015": "The bKash PIN was entered wrongly too many times. Please try again later.",
    "2016": "The verification code (OTP) was wrong. Please try again.",
    "2017": "The verification code (OTP) was entered wrongly too many times. "
    "Please try again later.",
    "2018": "The verification code (OTP) expired. Please try again.",
    "2019": "The time to enter your bKash PIN ran out. Please try again.",
    "2020": TRY_AGAIN,  # Exception Occurred
    "2021": MERCHANT_SIDE,  # Invalid Mandate ID
    "2022": MERCHANT_SIDE,  # The mandate does not exist
    "2023": "Your bKash account does not have enough balance for this payment.",
    "2024": TRY_AGAIN,  # Exception occurred
    "2025": MERCHANT_SIDE,  # Invalid request body
    "2026": "The refund is larger than the amount that can still be refunded.",
    "2027": MERCHANT_SIDE,  # mandate already exists
    "2028": REFUND_ONLY,  # Reverse failed: transaction serial number does not exist
    "2029": "A payment like this was just made. Please wait a few minutes before trying again.",
    "2030": MERCHANT_SIDE,  # Invalid mandate request type
    "2031": MERCHANT_SIDE,  # Invalid merchant invoice number
    "2032": MERCHANT_SIDE,  # Invalid transfer type
    "2033": "bKash could not find this payment. Please start the payment again.",
    "2034": "This payment has already been refunded in full.",
    "2035": REFUND_ONLY,  # initiator may not reverse
    "2036": MERCHANT_SIDE,  # mandate not active
    "2037": ACCOUNT_BLOCKED,  # debit party account state prohibits
    "2038": ACCOUNT_BLOCKED,  # debit party identity tag prohibits
    "2039": MERCHANT_BLOCKED,  # credit party account state prohibits
    "2040": MERCHANT_BLOCKED,  # credit party identity tag prohibits
    "2041": MERCHANT_BLOCKED,  # credit party identity state
    "2042": REFUND_ONLY,  # initiator may not reverse
    "2043": "Your bKash PIN or verification code was not accepted. Please try again.",
    "2044": NOT_SUBSCRIBED,
    "2045": "This number has no bKash account. Please check the wallet number.",
    "2046": NOT_SUBSCRIBED,
    "2047": MERCHANT_SIDE,  # TLV Data Format Error
    "2048": MERCHANT_SIDE,  # Invalid Payer Reference
    "2049": MERCHANT_SIDE,  # Invalid Merchant Callback URL
    "2050": MERCHANT_SIDE,  # agreement codes: not used by checkout without agreement
    "2051": MERCHANT_SIDE,
    "2052": MERCHANT_SIDE,
    "2053": MERCHANT_SIDE,
    "2054": MERCHANT_SIDE,
    "2055": MERCHANT_SIDE,
    "2056": START_AGAIN,  # Invalid Payment State
    "2057": "This number is not a bKash account. Please check the wallet number.",
    "2058": "This number is not a personal bKash wallet. Please use a personal bKash account.",
    "2059": "A verification code was already sent. Please use it or try again later.",
    "2060": NOT_APPROVED,  # Payment execution pre-requisite hasn't been met
    "2061": MERCHANT_SIDE,  # only the initiator may act
    "2062": "This bKash payment has already been completed.",
    "2063": MERCHANT_SIDE,  # Mode is not valid as per request data
    "2064": MERCHANT_SIDE,  # This product mode currently unavailable
    "2065": MERCHANT_SIDE,  # Mandatory field missing
    "2066": MERCHANT_SIDE,  # Agreement is not shared with other merchant
    "2067": MERCHANT_SIDE,  # Invalid permission
    "2068": "This bKash payment has already been completed.",
    "2069": "This bKash payment was cancelled. Please start the payment again.",
    "2116": MERCHANT_SIDE,  # agreement execution already completed
    "2117": "This bKash payment has already been completed.",
    "2118": MERCHANT_SIDE,  # The Platform value is invalid
    "2119": "This bKash payment has already been processed.",
    "9999": TEMPORARY,  # System Error
    "http_401": MERCHANT_SIDE,  # API gateway refused the access token
    "http_403": MERCHANT_SIDE,  # API gateway refused the app key
}
# Execute/refund answered "this already happened": ask for the status, do not guess.
ALREADY_DONE = frozenset({"2062", "2068", "2117", "2119"})
# bKash failed on its side and cannot say whether it acted: ask, never repeat the call.
AMBIGUOUS = frozenset({"2003", "2020", "2024", "9999"})
_REASON_CODE = re.compile(r"\bbKash (\d{4}|http_\d{3})\b")
_STATUS_REASON = re.compile(r"\bbKash status (\w+)")


class BkashRefused(GatewayError):
    """bKash (or its API gateway) refused a call with a code; nothing happened there."""

    def __init__(self, code: str, message: str, *, operation: str) -> None:
        super().__init__(f"bKash {code} {message} ({operation})".strip(), retryable=False)
        self.code = code
        self.bkash_message = message
        self.operation = operation

    @property
    def customer_message(self) -> str:
        if self.operation.startswith("token"):  # the merchant's credentials were refused
            return MERCHANT_SIDE
        return CUSTOMER_MESSAGES.get(self.code, GENERIC)


class BkashUnavailable(GatewayError):
    """No usable answer from bKash.  ``maybe_acted``: the request may have reached bKash's
    logic (a timeout after sending, a 5xx, an unreadable body), so its effect is unknown."""

    def __init__(self, message: str, *, maybe_acted: bool) -> None:
        super().__init__(message, retryable=True)
        self.maybe_acted = maybe_acted


@dataclass(frozen=True)
class _Reply:
    status: int
    data: dict[str, Any]


def _amount(minor: int) -> str:
    """bKash wants the amount as a string with two decimals."""
    return str(money.to_major(minor, "BDT"))


def _minor(value: Any) -> int | None:
    """bKash's amount string in exact minor units; None for anything that is not one."""
    try:
        return money.parse_minor(str(value), "BDT")
    except (money.AmountError, ValueError):
        return None


def _code(data: Mapping[str, Any]) -> str | None:
    code = data.get("statusCode") or data.get("errorCode")
    return str(code) if code is not None else None


def _message(data: Mapping[str, Any]) -> str:
    text = data.get("statusMessage") or data.get("errorMessage") or data.get("message") or ""
    return " ".join(str(text).split())[:200]


def _fingerprint(ctx: GatewayContext) -> str:
    """Which credentials a stored token belongs to (so a changed key never reuses it)."""
    c = ctx.credentials
    raw = "\x00".join((_base_url(ctx), c.get("app_key", ""), c.get("username", "")))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _base_url(ctx: GatewayContext) -> str:
    return (ctx.credentials.get("base_url") or SANDBOX_URL).rstrip("/")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _usable(record: Mapping[str, Any] | None, fingerprint: str, rejected: str | None) -> bool:
    if not record or record.get("for") != fingerprint or not record.get("id_token"):
        return False
    if rejected is not None and record["id_token"] == rejected:
        return False
    try:
        expires_at = float(record.get("expires_at", 0))
    except (TypeError, ValueError):
        return False
    return expires_at - TOKEN_MARGIN > time.time()


def _expired(payment: PaymentView) -> bool:
    expires_at = payment.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at <= datetime.now(UTC)


def _failed(code: str, message: str, operation: str, payment_id: str) -> VerifiedResult:
    return VerifiedResult(
        outcome=Outcome.FAILED,
        provider_reference=payment_id or None,
        reason=f"bKash {code} {message} ({operation})".replace("  ", " "),
        customer_message=CUSTOMER_MESSAGES.get(code, GENERIC),
    )


class BkashGateway(Gateway):
    slug = "bkash"
    display_name = "bKash"
    templates = Path(__file__).parent / "templates"
    currencies: ClassVar[frozenset[str] | None] = frozenset({"BDT"})
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("app_key", "App key"),
        ConfigField("app_secret", "App secret"),
        ConfigField("username", "Username"),
        ConfigField("password", "Password"),
        ConfigField(
            "base_url",
            "API base URL",
            secret=False,
            required=False,
            default=SANDBOX_URL,
            help=f"bKash's sandbox by default; live: {LIVE_URL}",
        ),
    )
    supports_refunds = True
    supports_refund_query = True
    idempotent_refunds = False  # bKash does not deduplicate refunds: never re-send blindly
    supports_status_query = True
    supports_capture = True

    def __init__(self) -> None:
        # One token renewal at a time per credentials and event loop in this process;
        # other processes see the renewed token through the shared store.
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(
            {k: v.strip() for k, v in credentials.items()}, settings
        )
        base = creds.get("base_url") or SANDBOX_URL
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ConfigInvalid({"base_url": ["API base URL must be an absolute http(s) URL."]})
        creds["base_url"] = base.rstrip("/")
        return creds, out

    def describe_failure(self, reason: str | None) -> str | None:
        if not reason:
            return None
        found = _REASON_CODE.search(reason)
        if found:
            return CUSTOMER_MESSAGES.get(found.group(1), GENERIC)
        status = _STATUS_REASON.search(reason)
        if status:
            if status.group(1) == "Cancelled":
                return "The bKash payment was cancelled. No money was taken."
            return NOT_COMPLETED
        return None

    # ---- HTTP and tokens -------------------------------------------------------------

    async def _post(
        self, ctx: GatewayContext, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> _Reply:
        """One POST; never retried here.  Raises :class:`BkashUnavailable`."""
        url = _base_url(ctx) + path
        try:
            response = await ctx.http.post(
                url, json=dict(body), headers={"Accept": "application/json", **headers}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise BkashUnavailable(
                f"bKash unreachable on {path}: {type(exc).__name__}", maybe_acted=False
            ) from exc
        except httpx.TimeoutException as exc:
            raise BkashUnavailable(f"bKash timed out on {path}", maybe_acted=True) from exc
        except httpx.HTTPError as exc:
            raise BkashUnavailable(
                f"bKash connection failed on {path}: {type(exc).__name__}", maybe_acted=True
            ) from exc
        if response.status_code >= 500:
            raise BkashUnavailable(
                f"bKash answered HTTP {response.status_code} on {path}", maybe_acted=True
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BkashUnavailable(
                f"bKash answered HTTP {response.status_code} without a JSON object on {path}",
                maybe_acted=response.status_code < 400,
            )
        return _Reply(response.status_code, data)

    def _lock(self, fingerprint: str) -> asyncio.Lock:
        key = (id(asyncio.get_running_loop()), fingerprint)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _renew(
        self, ctx: GatewayContext, path: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        c = ctx.credentials
        operation = "token refresh" if path == REFRESH else "token grant"
        reply = await self._post(
            ctx,
            path,
            {"app_key": c.get("app_key", ""), "app_secret": c.get("app_secret", ""), **body},
            {"username": c.get("username", ""), "password": c.get("password", "")},
        )
        data = reply.data
        token = data.get("id_token")
        if reply.status >= 400 or not token or _code(data) not in (None, "0000"):
            code = _code(data) or f"http_{reply.status}"
            raise BkashRefused(code, _message(data) or "no id_token", operation=operation)
        try:
            expires_in = max(int(data.get("expires_in") or 3600), 1)
        except (TypeError, ValueError):
            expires_in = 3600
        return {
            "for": _fingerprint(ctx),
            "id_token": str(token),
            "refresh_token": str(data.get("refresh_token") or ""),
            "expires_at": time.time() + expires_in,
        }

    async def _token(self, ctx: GatewayContext, *, rejected: str | None = None) -> str:
        """A valid id_token: shared cache -> refresh -> grant.  ``rejected``: a token bKash
        just refused, to be replaced (unless another process replaced it already)."""
        fingerprint = _fingerprint(ctx)
        record = await ctx.store.get(TOKEN_STATE_KEY)
        if _usable(record, fingerprint, rejected):
            return str(record["id_token"])  # type: ignore[index]
        # One renewal at a time: per process (the asyncio lock), then across processes (the
        # store's lock), so a token another process just stored is used, not granted again.
        async with self._lock(fingerprint), ctx.store.exclusive(TOKEN_STATE_KEY):
            record = await ctx.store.get(TOKEN_STATE_KEY)  # renewed while we waited?
            if _usable(record, fingerprint, rejected):
                return str(record["id_token"])  # type: ignore[index]
            fresh: dict[str, Any] | None = None
            if record and record.get("for") == fingerprint and record.get("refresh_token"):
                try:
                    fresh = await self._renew(
                        ctx, REFRESH, {"refresh_token": str(record["refresh_token"])}
                    )
                except BkashRefused as exc:  # expired/revoked refresh token: grant anew
                    log.info("bkash_refresh_refused", code=exc.code, message=exc.bkash_message)
            if fresh is None:
                fresh = await self._renew(ctx, GRANT, {})
                log.info("bkash_token_granted")
            else:
                log.info("bkash_token_refreshed")
            await ctx.store.put(TOKEN_STATE_KEY, fresh)
            return str(fresh["id_token"])

    async def _call(
        self, ctx: GatewayContext, path: str, body: Mapping[str, Any], *, operation: str
    ) -> dict[str, Any]:
        """An authenticated call.  HTTP 401 (token expired/unknown at bKash's API gateway,
        which answers before bKash acts) renews the token and sends the call once more;
        nothing else is ever repeated.  Returns bKash's body; raises BkashRefused for an
        API-gateway refusal and BkashUnavailable when bKash could not be asked."""
        app_key = ctx.credentials.get("app_key", "")
        token = await self._token(ctx)
        for attempt in (1, 2):
            reply = await self._post(
                ctx, path, body, {"Authorization": token, "X-APP-Key": app_key}
            )
            if reply.status == 401 and attempt == 1:
                log.info("bkash_token_refused", operation=operation, message=_message(reply.data))
                token = await self._token(ctx, rejected=token)
                continue
            if reply.status in (401, 403):
                code = f"http_{reply.status}"
                raise BkashRefused(code, _message(reply.data), operation=operation)
            if reply.status >= 400 and _code(reply.data) is None:
                raise BkashUnavailable(
                    f"bKash answered HTTP {reply.status} on {path}: {_message(reply.data)}",
                    maybe_acted=False,
                )
            return reply.data
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- checkout ----------------------------------------------------------------------

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        origins = tuple(o for o in (*HOSTED_PAGE_ORIGINS, _origin(_base_url(ctx))) if o)
        return CheckoutView(template="checkout.html", form_origins=origins)

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        """Create a fresh bKash payment for this attempt and send the customer to bKash."""
        if payment.currency != "BDT":
            raise FormError({"bkash": [CUSTOMER_MESSAGES["2007"]]})
        phone = re.sub(r"[^0-9+]", "", payment.customer_phone or "")
        body = {
            "mode": "0011",
            "payerReference": phone or payment.transaction_id,
            "callbackURL": (
                f"{ctx.public_base_url.rstrip('/')}/gateways/bkash/callback/"
                f"{payment.transaction_id}"
            ),
            "amount": _amount(payment.amount_minor),
            "currency": "BDT",
            "intent": "sale",
            "merchantInvoiceNumber": payment.transaction_id,
        }
        try:
            data = await self._call(ctx, CREATE, body, operation="create")
        except BkashRefused as exc:
            log.warning("bkash_create_refused", payment_id=payment.transaction_id, code=exc.code,
                        message=exc.bkash_message)
            raise FormError({"bkash": [exc.customer_message]}) from exc
        code = _code(data)
        payment_id = str(data.get("paymentID") or "")
        bkash_url = str(data.get("bkashURL") or "")
        if code != "0000" or not payment_id or _origin(bkash_url) is None:
            code = code or "no-paymentID"
            log.warning("bkash_create_refused", payment_id=payment.transaction_id, code=code,
                        message=_message(data))
            raise FormError({"bkash": [CUSTOMER_MESSAGES.get(code, GENERIC)]})
        return VerifiedResult(
            outcome=Outcome.PENDING,
            provider_reference=payment_id,
            redirect_url=bkash_url,
            reason=f"bKash payment {payment_id} created",
        )

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """bKash's callback.  Only the current attempt's paymentID counts, and its ``status``
        is a hint: ``success`` leads to execute (by the core), ``failure`` is confirmed with
        a status query, ``cancel`` ends the attempt without touching the payment."""
        payment_id = params.get("paymentID", "")
        if not payment_id or payment_id != payment.provider_reference:
            log.warning("bkash_callback_ignored", payment_id=payment.transaction_id,
                        reason="paymentID is not this payment's current bKash payment")
            return VerifiedResult(outcome=Outcome.PENDING)
        if payment.status != "pending":
            # Already claimed (execute running or done): only bKash's own word may move it.
            return await self.query_status(ctx, payment)
        match params.get("status", ""):
            case "success":
                return VerifiedResult(
                    outcome=Outcome.AUTHORIZED,
                    provider_reference=payment_id,
                    reason=f"bKash callback: customer approved bKash payment {payment_id}; "
                    "executing",
                )
            case "cancel":
                # The customer backed out at bKash: this attempt is over, the intent stays
                # payable, and the next "Pay with bKash" creates a fresh bKash payment.
                return VerifiedResult(
                    outcome=Outcome.PENDING,
                    customer_message="You cancelled the bKash payment. No money was taken.",
                    reason=f"customer cancelled bKash payment {payment_id}",
                )
            case _:
                status = await self.query_status(ctx, payment)
                if status.outcome is Outcome.SUCCEEDED:
                    return status
                detail = status.reason or "no detail"
                return VerifiedResult(
                    outcome=Outcome.FAILED,
                    provider_reference=payment_id,
                    reason=f"bKash callback status {params.get('status', '')!r}; {detail}"[:480],
                    customer_message=self.describe_failure(detail) or NOT_COMPLETED,
                )

    async def capture(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        """Execute the approved bKash payment.  Called once per payment by the core; raises
        GatewayError when the outcome is unknown (the core then asks ``query_status``)."""
        payment_id = payment.provider_reference or ""
        data = await self._call(ctx, EXECUTE, {"paymentID": payment_id}, operation="execute")
        code = _code(data)
        if code == "0000":
            return self._map_payment(data, payment, operation="execute")
        message = _message(data)
        if code is None or code in ALREADY_DONE or code in AMBIGUOUS:
            log.warning("bkash_execute_ambiguous", payment_id=payment.transaction_id, code=code,
                        message=message)
            raise BkashUnavailable(f"bKash {code} {message} (execute)", maybe_acted=True)
        return _failed(code, message, "execute", payment_id)

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        payment_id = payment.provider_reference
        if not payment_id:
            return VerifiedResult(outcome=Outcome.PENDING, reason="no bKash payment yet")
        data = await self._call(ctx, STATUS, {"paymentID": payment_id}, operation="status query")
        code = _code(data)
        if code != "0000":
            return VerifiedResult(
                outcome=Outcome.UNKNOWN,
                provider_reference=payment_id,
                reason=f"bKash {code} {_message(data)} (status query)",
            )
        return self._map_payment(data, payment, operation="status query")

    def _map_payment(
        self, data: Mapping[str, Any], payment: PaymentView, *, operation: str
    ) -> VerifiedResult:
        status = str(data.get("transactionStatus") or "")
        payment_id = str(data.get("paymentID") or payment.provider_reference or "")
        match status:
            case "Completed":
                trx_id = str(data.get("trxID") or "")
                if not trx_id:
                    return VerifiedResult(
                        outcome=Outcome.UNKNOWN,
                        provider_reference=payment_id,
                        reason=f"bKash status Completed without trxID ({operation})",
                    )
                invoice = data.get("merchantInvoiceNumber") or data.get("merchantInvoice")
                return VerifiedResult(
                    outcome=Outcome.SUCCEEDED,
                    # Unparseable amount/currency -> None/"" -> the core refuses to complete.
                    amount_minor=_minor(data.get("amount")),
                    currency=str(data.get("currency") or ""),
                    reference=str(invoice) if invoice is not None else None,
                    provider_reference=payment_id,
                    provider_txn_id=trx_id,
                    reason=f"bKash status Completed, trxID {trx_id} ({operation})",
                )
            case "Initiated" | "Authorized":
                # Not executed (or not yet): no money moved.  Unknown while the link lives;
                # once it has expired bKash will not be executed by us any more.
                if _expired(payment):
                    return VerifiedResult(
                        outcome=Outcome.FAILED,
                        provider_reference=payment_id,
                        reason=f"bKash status {status}: never executed before the payment "
                        f"link expired; no money moved ({operation})",
                        customer_message=NOT_COMPLETED,
                    )
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN,
                    provider_reference=payment_id,
                    reason=f"bKash status {status} ({operation})",
                )
            case "Failed" | "Cancelled" | "Expired":
                return VerifiedResult(
                    outcome=Outcome.FAILED,
                    provider_reference=payment_id,
                    reason=f"bKash status {status} ({operation})",
                    customer_message=self.describe_failure(f"bKash status {status}"),
                )
            case _:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN,
                    provider_reference=payment_id,
                    reason=f"unmapped bKash status {status[:40]!r} ({operation})",
                )

    # ---- refunds -----------------------------------------------------------------------

    async def refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        amount_minor: int,
        refund_id: str,
        reason: str | None,
    ) -> RefundResult:
        """Refund ``amount_minor`` of a completed payment (full or partial).  bKash keeps the
        running total and refuses more than what is left (2026).

        bKash does not deduplicate refunds, so a refund whose outcome is unknown (timeout,
        5xx, system error) comes back UNKNOWN and must never simply be sent again; before
        sending, the latest refund bKash already holds is noted in the shared state, so that
        :meth:`query_refund` can later tell whether this one arrived."""
        if not payment.provider_reference or not payment.provider_txn_id:
            return RefundResult(outcome=Outcome.FAILED, reason="payment has no bKash trxID")
        if payment.currency != "BDT" or not 0 < amount_minor <= payment.amount_minor:
            return RefundResult(
                outcome=Outcome.FAILED,
                reason=f"refund amount must be between 0.01 and {_amount(payment.amount_minor)} "
                "BDT; nothing sent to bKash",
            )
        try:
            before = await self._latest_refund(ctx, payment)
        except (BkashRefused, BkashUnavailable) as exc:
            return RefundResult(outcome=Outcome.FAILED, reason=f"{exc}; refund not sent")
        await ctx.store.put(_refund_key(refund_id), {
            "amount_minor": amount_minor,
            "before": before.get("refundTrxID") if before else None,
        })
        body = {
            "paymentID": payment.provider_reference,
            "trxID": payment.provider_txn_id,
            "amount": _amount(amount_minor),
            "sku": refund_id[:255] or "refund",
            "reason": " ".join((reason or "refund").split())[:255] or "refund",
        }
        try:
            data = await self._call(ctx, REFUND, body, operation="refund")
        except BkashRefused as exc:
            return RefundResult(outcome=Outcome.FAILED, reason=str(exc))
        except BkashUnavailable as exc:
            outcome = Outcome.UNKNOWN if exc.maybe_acted else Outcome.FAILED
            return RefundResult(outcome=outcome, reason=f"{exc} (refund)")
        code = _code(data)
        if code != "0000":
            outcome = Outcome.UNKNOWN if code in AMBIGUOUS else Outcome.FAILED
            return RefundResult(outcome=outcome, reason=f"bKash {code} {_message(data)} (refund)")
        refund_trx = str(data.get("refundTrxID") or "") or None
        status = str(data.get("transactionStatus") or "")
        if status == "Completed" and refund_trx and _minor(data.get("amount")) == amount_minor:
            await ctx.store.put(_refund_key(refund_id), {
                "amount_minor": amount_minor, "refundTrxID": refund_trx,
            })
            return RefundResult(
                outcome=Outcome.SUCCEEDED,
                provider_refund_id=refund_trx,
                reason=f"bKash refund {refund_trx} of {_amount(amount_minor)} BDT completed",
            )
        return RefundResult(
            outcome=Outcome.UNKNOWN,
            provider_refund_id=refund_trx,
            reason=f"bKash refund answer not final: status {status[:40]!r}, "
            f"amount {str(data.get('amount'))[:20]!r}",
        )

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        """bKash's word on one of our refunds, from its refund status (the refund endpoint
        with only paymentID and trxID), which reports the latest refund of the payment.

        SUCCEEDED when that refund is ours (its refundTrxID, or -- for a refund whose answer
        was lost -- a newer refund than the one noted before sending, of our amount); FAILED
        when bKash still holds only what it held before ours was sent; UNKNOWN otherwise."""
        if not payment.provider_reference or not payment.provider_txn_id:
            return RefundResult(outcome=Outcome.UNKNOWN, reason="payment has no bKash trxID")
        note = await ctx.store.get(_refund_key(refund_id)) or {}
        known = provider_refund_id or note.get("refundTrxID")
        try:
            latest = await self._latest_refund(ctx, payment)
        except BkashUnavailable as exc:
            return RefundResult(outcome=Outcome.UNKNOWN, reason=f"{exc} (refund status)")
        latest = latest or {}
        latest_trx = str(latest.get("refundTrxID") or "")
        completed = latest.get("transactionStatus") == "Completed"
        if known:
            if latest_trx == known and completed:
                return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=known,
                                    reason=f"bKash refund {known} completed (refund status)")
            return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=known,
                                reason="bKash's latest refund is another one (refund status)")
        if not note:
            return RefundResult(outcome=Outcome.UNKNOWN, reason="no record of sending this refund")
        if latest_trx and latest_trx != note.get("before") and completed:
            if _minor(latest.get("amount")) == note.get("amount_minor"):
                return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=latest_trx,
                                    reason=f"bKash refund {latest_trx} completed (refund status)")
            return RefundResult(outcome=Outcome.UNKNOWN,
                                reason=f"bKash's latest refund {latest_trx} has another amount")
        return RefundResult(outcome=Outcome.FAILED,
                            reason="bKash holds no refund newer than before ours was sent "
                            "(refund status): it never arrived")

    async def _latest_refund(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> dict[str, Any] | None:
        """bKash's refund status: its latest refund of the payment, or None (2033)."""
        body = {"paymentID": payment.provider_reference, "trxID": payment.provider_txn_id}
        data = await self._call(ctx, REFUND, body, operation="refund status")
        code = _code(data)
        if code == "2033":  # Transaction not found: no refund yet
            return None
        if code != "0000":
            raise BkashUnavailable(f"bKash {code} {_message(data)} (refund status)",
                                   maybe_acted=False)
        return data


def _refund_key(refund_id: str) -> str:
    digest = hashlib.sha256(refund_id.encode()).hexdigest()[:40]
    return f"refund:{digest}"
