"""``bkash``: bKash Tokenized Checkout (v1.2.0-beta), BDT only.

Flow: the customer presses "Pay with bKash" on our page -> we create a bKash payment
(mode 0011, merchantInvoiceNumber = our transaction id, callbackURL = our callback route)
and redirect to ``bkashURL`` -> bKash redirects back with ``paymentID`` and a status hint
-> for ``success`` the core claims the payment and calls :meth:`capture` (execute) exactly
once; an ambiguous execute is followed by a status query, never a second execute.

bKash answers errors with HTTP 200 and a ``statusCode`` (or ``errorCode``) other than
``"0000"``: every call checks the body, not only the HTTP status.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
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
TOKEN_KEY = "token"
TOKEN_MARGIN = 120  # seconds before expiry at which a token is renewed

# bKash status codes -> (message for the customer, retryable by trying again).
# Unlisted codes get a generic message; the precise code/message always goes to the history.
ERRORS: dict[str, str] = {
    "2001": "bKash rejected the merchant's app key. Please contact the merchant.",
    "2002": "This bKash payment is not valid any more. Please start again.",
    "2003": "bKash could not process the payment. Please try again.",
    "2006": "The payment amount is not valid for bKash.",
    "2007": "The payment amount is not valid for bKash.",
    "2008": "bKash does not accept this currency.",
    "2014": "The PIN entered was wrong.",
    "2015": "The verification code (OTP) entered was wrong.",
    "2017": "Your bKash account is not allowed to make this payment.",
    "2018": "Your bKash account is not allowed to make this payment.",
    "2023": "Your bKash account does not have enough balance.",
    "2029": "A payment like this was just made. Please wait a moment before trying again.",
    "2053": "The payment took too long at bKash and expired. Please try again.",
    "2056": "The bKash payment is not in a state that can be completed. Please try again.",
    "2062": "This bKash payment has already been completed.",
    "2063": "bKash rejected the payment request. Please contact the merchant.",
    "2065": "The bKash payment was not completed.",
    "2068": "This bKash payment has already been completed.",
    "2071": "Refund amount is larger than what can be refunded.",
    "2079": "The merchant's bKash access expired. Please try again.",
    "2080": "The merchant's bKash access expired. Please try again.",
    "2116": "The bKash payment was not completed.",
    "2117": "This bKash payment has already been processed.",
    "9999": "bKash is temporarily unavailable. Please try again shortly.",
}
GENERIC = "bKash could not complete the payment. Please try again or choose another method."
_TOKEN_ERRORS = frozenset({"2079", "2080", "9997", "9998"})  # invalid/expired token
_ALREADY = frozenset({"2062", "2068", "2117"})  # already executed / completed


class BkashError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"bKash {code}: {message}")
        self.code = code
        self.message = message

    @property
    def customer_message(self) -> str:
        return ERRORS.get(self.code, GENERIC)


def _amount(minor: int) -> str:
    return str(money.to_major(minor, "BDT"))


def _minor(value: Any) -> int | None:
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except (InvalidOperation, ValueError, TypeError):
        return None


def _code(body: Mapping[str, Any]) -> str | None:
    code = body.get("statusCode") or body.get("errorCode")
    return str(code) if code is not None else None


class BkashGateway(Gateway):
    slug = "bkash"
    display_name = "bKash"
    currencies: ClassVar[frozenset[str] | None] = frozenset({"BDT"})
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("app_key", "App key"),
        ConfigField("app_secret", "App secret"),
        ConfigField("username", "Username"),
        ConfigField("password", "Password"),
        ConfigField("base_url", "API base URL", secret=False, required=False, default=SANDBOX_URL),
    )
    supports_refunds = True
    supports_status_query = True
    supports_capture = True

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(credentials, settings)
        base = creds.get("base_url") or SANDBOX_URL
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigInvalid({"base_url": ["API base URL must be an absolute http(s) URL."]})
        creds["base_url"] = base.rstrip("/")
        return creds, out

    def describe_failure(self, reason: str | None) -> str | None:
        for code, message in ERRORS.items():
            if reason and f" {code}" in f" {reason}":
                return message
        return None

    # ---- HTTP and tokens -------------------------------------------------------------

    async def _post(
        self, ctx: GatewayContext, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        url = ctx.credentials.get("base_url", SANDBOX_URL).rstrip("/") + path
        try:
            response = await ctx.http.post(url, json=dict(body), headers={
                "Accept": "application/json", **headers})
        except httpx.TimeoutException as exc:
            raise GatewayError(f"bKash timed out on {path}") from exc
        except httpx.HTTPError as exc:
            raise GatewayError(f"bKash unreachable on {path}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise GatewayError(f"bKash answered HTTP {response.status_code} on {path}")
        try:
            data = response.json()
        except ValueError as exc:
            raise GatewayError(f"bKash answered non-JSON on {path}") from exc
        if not isinstance(data, dict):
            raise GatewayError(f"bKash answered an unexpected body on {path}")
        return data

    async def _grant(self, ctx: GatewayContext) -> dict[str, Any]:
        c = ctx.credentials
        data = await self._post(
            ctx, "/tokenized/checkout/token/grant",
            {"app_key": c.get("app_key", ""), "app_secret": c.get("app_secret", "")},
            {"username": c.get("username", ""), "password": c.get("password", "")},
        )
        return self._token_record(data)

    async def _refresh(self, ctx: GatewayContext, refresh_token: str) -> dict[str, Any]:
        c = ctx.credentials
        data = await self._post(
            ctx, "/tokenized/checkout/token/refresh",
            {"app_key": c.get("app_key", ""), "app_secret": c.get("app_secret", ""),
             "refresh_token": refresh_token},
            {"username": c.get("username", ""), "password": c.get("password", "")},
        )
        return self._token_record(data)

    @staticmethod
    def _token_record(data: Mapping[str, Any]) -> dict[str, Any]:
        token = data.get("id_token")
        if not token:
            code = _code(data) or "token"
            raise BkashError(code, str(data.get("statusMessage") or data.get("errorMessage") or "token grant refused"))
        expires_in = int(data.get("expires_in") or 3600)
        return {
            "id_token": token,
            "refresh_token": data.get("refresh_token"),
            "expires_at": time.time() + expires_in,
        }

    async def _token(self, ctx: GatewayContext, *, force: bool = False) -> str:
        """A valid id_token: cached (shared store) -> refreshed -> granted."""
        record = await ctx.store.get(TOKEN_KEY)
        if record and not force and float(record.get("expires_at", 0)) - TOKEN_MARGIN > time.time():
            return str(record["id_token"])
        fresh: dict[str, Any] | None = None
        if record and record.get("refresh_token"):
            try:
                fresh = await self._refresh(ctx, str(record["refresh_token"]))
            except BkashError as exc:
                log.info("bkash_refresh_refused", code=exc.code)
        if fresh is None:
            fresh = await self._grant(ctx)
        await ctx.store.put(TOKEN_KEY, fresh)
        return str(fresh["id_token"])

    async def _call(self, ctx: GatewayContext, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """An authenticated call; an expired/invalid token is renewed once, then retried.
        (Only token errors are retried: bKash refused the call without acting on it.)"""
        for attempt in (0, 1):
            token = await self._token(ctx, force=attempt == 1)
            data = await self._post(ctx, path, body, {
                "Authorization": token, "X-APP-Key": ctx.credentials.get("app_key", "")})
            code = _code(data)
            if code in _TOKEN_ERRORS and attempt == 0:
                continue
            return data
        raise AssertionError("unreachable")

    # ---- checkout ----------------------------------------------------------------------

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        return CheckoutView(template="gateways/bkash.html")

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        """Create a fresh bKash payment for this attempt and send the customer to bKash."""
        body = {
            "mode": "0011",
            "payerReference": (payment.customer_phone or payment.transaction_id)[:50],
            "callbackURL": f"{ctx.public_base_url}/gateways/bkash/callback/{payment.transaction_id}",
            "amount": _amount(payment.amount_minor),
            "currency": "BDT",
            "intent": "sale",
            "merchantInvoiceNumber": payment.transaction_id,
        }
        try:
            data = await self._call(ctx, "/tokenized/checkout/create", body)
        except BkashError as exc:
            raise FormError({"bkash": [exc.customer_message]}) from exc
        code = _code(data)
        if code != "0000" or not data.get("bkashURL") or not data.get("paymentID"):
            log.warning("bkash_create_refused", code=code, message=data.get("statusMessage"))
            raise FormError({"bkash": [ERRORS.get(code or "", GENERIC)]})
        return VerifiedResult(
            outcome=Outcome.PENDING,
            provider_reference=str(data["paymentID"]),
            redirect_url=str(data["bkashURL"]),
            reason="bKash payment created",
        )

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """The callback's ``status`` is a hint; only the current attempt's paymentID counts."""
        payment_id = params.get("paymentID", "")
        if not payment_id or payment_id != payment.provider_reference:
            return VerifiedResult(outcome=Outcome.PENDING, reason="callback for another bKash payment ignored")
        hint = params.get("status", "")
        if hint == "success":
            return VerifiedResult(
                outcome=Outcome.AUTHORIZED, provider_reference=payment_id,
                reason="bKash reports the customer approved; executing",
            )
        if hint == "cancel":
            # The customer backed out at bKash; the intent stays payable with a new attempt.
            return VerifiedResult(outcome=Outcome.PENDING, provider_reference=payment_id,
                                  customer_message="You cancelled the bKash payment.",
                                  reason="customer cancelled at bKash")
        # failure (or anything else): confirm with bKash before failing the attempt
        status = await self.query_status(ctx, payment)
        if status.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING):
            return status
        return VerifiedResult(outcome=Outcome.FAILED, provider_reference=payment_id,
                              reason=f"bKash reports failure ({status.reason or 'no detail'})",
                              customer_message="The bKash payment did not go through.")

    async def capture(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        payment_id = payment.provider_reference or ""
        data = await self._call(ctx, "/tokenized/checkout/execute", {"paymentID": payment_id})
        code = _code(data)
        if code in _ALREADY:  # executed before (e.g. a concurrent request): ask, don't guess
            return await self.query_status(ctx, payment)
        if code != "0000":
            message = str(data.get("statusMessage") or data.get("errorMessage") or "")
            return VerifiedResult(
                outcome=Outcome.FAILED, provider_reference=payment_id,
                reason=f"bKash execute refused: {code} {message}".strip(),
                customer_message=ERRORS.get(code or "", GENERIC),
            )
        return self._map_payment(data, payment)

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        payment_id = payment.provider_reference
        if not payment_id:
            return VerifiedResult(outcome=Outcome.PENDING, reason="no bKash payment yet")
        data = await self._call(ctx, "/tokenized/checkout/payment/status", {"paymentID": payment_id})
        code = _code(data)
        if code != "0000":
            return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=payment_id,
                                  reason=f"bKash status query refused: {code} {data.get('statusMessage', '')}")
        return self._map_payment(data, payment)

    def _map_payment(self, data: Mapping[str, Any], payment: PaymentView) -> VerifiedResult:
        status = str(data.get("transactionStatus") or "")
        payment_id = str(data.get("paymentID") or payment.provider_reference or "")
        match status:
            case "Completed":
                return VerifiedResult(
                    outcome=Outcome.SUCCEEDED,
                    amount_minor=_minor(data.get("amount")),
                    currency=str(data.get("currency") or ""),
                    reference=str(data.get("merchantInvoiceNumber") or data.get("merchantInvoice") or ""),
                    provider_reference=payment_id,
                    provider_txn_id=str(data.get("trxID") or "") or None,
                    reason=f"bKash completed, trxID {data.get('trxID')}",
                )
            case "Initiated" | "Authorized" | "Pending" | "Inprogress":
                return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=payment_id,
                                      reason=f"bKash status {status}")
            case "Failed" | "Declined" | "Expired":
                return VerifiedResult(outcome=Outcome.FAILED, provider_reference=payment_id,
                                      reason=f"bKash status {status}",
                                      customer_message="The bKash payment did not go through.")
            case "Cancelled":
                return VerifiedResult(outcome=Outcome.FAILED, provider_reference=payment_id,
                                      reason="bKash status Cancelled",
                                      customer_message="The bKash payment was cancelled.")
            case _:
                return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=payment_id,
                                      reason=f"unmapped bKash status {status!r}")

    async def refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        amount_minor: int,
        refund_id: str,
        reason: str | None,
    ) -> RefundResult:
        if not payment.provider_reference or not payment.provider_txn_id:
            return RefundResult(outcome=Outcome.FAILED, reason="payment has no bKash trxID")
        data = await self._call(ctx, "/tokenized/checkout/payment/refund", {
            "paymentID": payment.provider_reference,
            "trxID": payment.provider_txn_id,
            "amount": _amount(amount_minor),
            "sku": refund_id[:255],
            "reason": (reason or "refund")[:255],
        })
        code = _code(data)
        if code == "0000" and data.get("transactionStatus") == "Completed":
            return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=str(data.get("refundTrxID") or ""))
        if code == "0000":
            return RefundResult(outcome=Outcome.UNKNOWN, reason=f"bKash refund status {data.get('transactionStatus')}")
        return RefundResult(outcome=Outcome.FAILED,
                            reason=f"bKash refund refused: {code} {data.get('statusMessage', '')}".strip())
