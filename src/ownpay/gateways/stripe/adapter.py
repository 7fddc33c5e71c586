"""``stripe``: card payments with Stripe.js Elements on our own checkout page.

Flow: opening the checkout page creates (or reuses) one Stripe PaymentIntent per payment --
the transaction id is both the Stripe idempotency key and ``metadata.transaction_id`` -- and
renders a card form.  Stripe.js confirms the PaymentIntent in the browser with its client
secret (3-D Secure included) and then sends the customer to ``/checkout/{id}/return``.  Only
a server-side retrieve that says ``succeeded`` with our amount, currency and transaction id
completes the payment (the payments service checks them); signed provider webhooks and the
worker's reconciliation use the same retrieve.

Every call goes through the official SDK's async methods, carried by the process's shared
httpx client (:class:`_SharedHttpx`), so the event loop never blocks and one place sets the
timeouts for provider calls.  Amounts are converted to Stripe's unit at this edge only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import httpx
import stripe
import structlog

from ownpay import money
from ownpay.gateways.base import (
    CheckoutView,
    ConfigField,
    ConfigInvalid,
    Gateway,
    GatewayContext,
    GatewayError,
    Outcome,
    PaymentView,
    ProviderEvent,
    ProviderEventKind,
    ProviderRefund,
    RefundResult,
    VerifiedResult,
    WebhookRejected,
)

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams, RefundCreateParams, RefundListParams

log = structlog.get_logger("ownpay.gateways.stripe")

DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_JS_URL = "https://js.stripe.com/v3/"
# Stripe's CSP guide: besides the script's origin, Stripe.js frames and calls these.
_STRIPE_JS_ORIGINS = (
    "https://js.stripe.com",
    "https://*.js.stripe.com",
    "https://api.stripe.com",
    "https://hooks.stripe.com",
)

# docs.stripe.com/currencies: amounts are integers in the currency's minor unit, except the
# zero-decimal currencies (no minor unit), and the three-decimal ones, whose last digit must
# be 0.  Every other currency is two-decimal in Stripe's API (ISK included: multiples of 100).
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
MAX_STRIPE_AMOUNT = 99_999_999  # "The amount value supports up to eight digits."

# Payment events that are about the PaymentIntent's status: re-fetch it and act.
_PAYMENT_EVENTS = frozenset({
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.canceled",
})
# Refund events (on the charge or on the refund object): re-list the payment's refunds.
_REFUND_EVENTS = frozenset({
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
})
_REFUND_PAGES = 10  # at most 1,000 refunds of one payment are read per listing

GENERIC_DECLINE = "Your card was declined. Please try another card."
# Stripe decline/error codes -> what the customer reads.  Codes that should not be revealed
# to a possible fraudster (lost/stolen card) get the generic sentence.
DECLINE_MESSAGES: dict[str, str] = {
    "card_declined": GENERIC_DECLINE,
    "generic_decline": GENERIC_DECLINE,
    "do_not_honor": GENERIC_DECLINE,
    "insufficient_funds": "Your card has insufficient funds. Please try another card.",
    "expired_card": "Your card has expired. Please try another card.",
    "incorrect_cvc": "Your card's security code is incorrect. Please check it and try again.",
    "invalid_cvc": "Your card's security code is incorrect. Please check it and try again.",
    "incorrect_number": "Your card number is incorrect. Please check it and try again.",
    "invalid_number": "Your card number is incorrect. Please check it and try again.",
    "processing_error": "An error occurred while processing your card. Please try again.",
    "authentication_required": "Your bank needs you to confirm this payment. Please try again.",
    "payment_intent_authentication_failure": (
        "Your card could not be authenticated (3-D Secure). Please try again or use another "
        "card."
    ),
}
_NO_INTENT = "payment has no Stripe PaymentIntent"
_KEY = re.compile(r"^[A-Za-z0-9_]{12,255}$")


# ---- amounts ----------------------------------------------------------------------------


class AmountNotRepresentable(ValueError):
    """Stripe cannot charge this exact amount; ``str(exc)`` is a readable sentence."""


def stripe_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_stripe_amount(minor: int, currency: str) -> int:
    """Our ISO 4217 minor units -> Stripe's integer amount, exactly, or AmountNotRepresentable."""
    code = currency.upper()
    ours, theirs = money.exponent(code), stripe_exponent(code)
    if theirs >= ours:
        amount = minor * 10 ** (theirs - ours)
    else:
        step = 10 ** (ours - theirs)
        if minor % step:
            raise AmountNotRepresentable(
                f"Stripe charges {code} in whole multiples of "
                f"{money.to_major(step, code)} {code}; {money.to_major(minor, code)} is not one."
            )
        amount = minor // step
    if code in THREE_DECIMAL and amount % 10:
        raise AmountNotRepresentable(
            f"Stripe needs {code} amounts whose last (third) decimal is 0; "
            f"{money.to_major(minor, code)} {code} cannot be charged exactly."
        )
    if amount <= 0 or amount > MAX_STRIPE_AMOUNT:
        raise AmountNotRepresentable(
            f"Stripe accepts at most eight digits per amount; {money.to_major(minor, code)} "
            f"{code} is too large."
        )
    return amount


def from_stripe_amount(amount: object, currency: str) -> int | None:
    """Stripe's integer amount -> our minor units; None if it has no exact equivalent."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        return None
    code = currency.upper()
    ours, theirs = money.exponent(code), stripe_exponent(code)
    if ours >= theirs:
        return amount * 10 ** (ours - theirs)
    step = 10 ** (theirs - ours)
    return None if amount % step else amount // step


# ---- the SDK over our HTTP client ----------------------------------------------------


class _SharedHttpx(stripe.HTTPClient):
    """Carries the SDK's requests on the process's shared :class:`httpx.AsyncClient`
    (bounded timeouts, no redirects).  Async only: the SDK's sync paths are never used."""

    name = "ownpay-httpx"

    def __init__(self, http: httpx.AsyncClient) -> None:
        super().__init__()
        self._http = http

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = await self._http.request(
                method, url, headers=dict(headers), content=post_data
            )
        except httpx.HTTPError as exc:
            # Retry only when nothing can have reached Stripe; never the customer's time twice.
            raise stripe.APIConnectionError(
                f"network error talking to Stripe: {type(exc).__name__}",
                should_retry=isinstance(exc, httpx.ConnectError),
            ) from exc
        return response.content, response.status_code, response.headers

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(secs)

    async def close_async(self) -> None:
        return None  # the shared client belongs to the application context


def _client(ctx: GatewayContext) -> stripe.StripeClient:
    return stripe.StripeClient(
        ctx.credentials.get("secret_key", ""),
        base_addresses={"api": ctx.credentials.get("api_base") or DEFAULT_API_BASE},
        http_client=_SharedHttpx(ctx.http),
        max_network_retries=1,
    )


async def _send(what: str, pending: Awaitable[Any]) -> Any:
    """Await one SDK call; outages become GatewayError, Stripe's refusals propagate."""
    try:
        return await pending
    except stripe.APIConnectionError as exc:
        raise GatewayError(f"Stripe unreachable on {what}") from exc
    except (stripe.APIError, stripe.RateLimitError) as exc:
        raise GatewayError(f"Stripe answered HTTP {exc.http_status} on {what}") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        # Stripe masks keys in its messages, but ours carries none at all.
        raise GatewayError(
            f"Stripe refused the merchant's API key on {what} (HTTP {exc.http_status})",
            retryable=False,
        ) from exc


def _as_dict(what: str, obj: Any) -> dict[str, Any]:
    data = obj.to_dict() if hasattr(obj, "to_dict") else None
    if not isinstance(data, dict):
        raise GatewayError(f"Stripe answered an unexpected body on {what}")
    return data


async def _call(what: str, pending: Awaitable[Any]) -> dict[str, Any]:
    return _as_dict(what, await _send(what, pending))


# ---- reading Stripe objects -----------------------------------------------------------


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _object_id(value: object) -> str | None:
    """An expandable field: an id string, or the expanded object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        return _str(value.get("id")) or None
    return None


def decline_message(error: Mapping[str, Any]) -> str:
    for key in ("decline_code", "code"):
        code = _str(error.get(key))
        if code in DECLINE_MESSAGES:
            return DECLINE_MESSAGES[code]
    return GENERIC_DECLINE


def _decline_reason(error: Mapping[str, Any]) -> str:
    code = _str(error.get("decline_code")) or _str(error.get("code")) or "card_declined"
    message = _str(error.get("message"))
    return f"Stripe declined: {code}" + (f" ({message})" if message else "")


@dataclass(frozen=True)
class _Checked:
    amount_minor: int | None
    currency: str
    reference: str


def _checked(pi: Mapping[str, Any]) -> _Checked:
    """Amount (in our minor units), currency and our transaction id as Stripe holds them."""
    currency = _str(pi.get("currency")).upper()
    received = pi.get("amount_received")
    amount = received if isinstance(received, int) and received > 0 else pi.get("amount")
    return _Checked(
        amount_minor=from_stripe_amount(amount, currency) if currency else None,
        currency=currency,
        # "" rather than None when missing: the payments service then refuses it.
        reference=_str(_metadata(pi).get("transaction_id")),
    )


def _matches(pi: Mapping[str, Any], payment: PaymentView) -> bool:
    seen = _checked(pi)
    return (
        seen.amount_minor == payment.amount_minor
        and seen.currency == payment.currency.upper()
        and seen.reference == payment.transaction_id
    )


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment
        and not parts.username and not parts.password
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _key_mode(key: str) -> str | None:
    for mode in ("test", "live"):
        if key.split("_")[1:2] == [mode]:
            return mode
    return None


# ---- the adapter ------------------------------------------------------------------------


class StripeGateway(Gateway):
    slug = "stripe"
    display_name = "Card (Stripe)"
    templates = Path(__file__).parent / "templates"
    static = Path(__file__).parent / "static"
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("secret_key", "Secret key", help="sk_test_…, sk_live_… or a restricted rk_…"),
        ConfigField("publishable_key", "Publishable key", secret=False,
                    help="pk_test_…, pk_live_…"),
        ConfigField("webhook_secret", "Webhook signing secret", help="whsec_… of the endpoint"),
        ConfigField("api_base", "API base URL", secret=False, required=False,
                    default=DEFAULT_API_BASE),
        ConfigField("js_url", "Stripe.js URL", secret=False, required=False,
                    default=DEFAULT_JS_URL),
    )
    supports_refunds = True
    supports_refund_query = True
    idempotent_refunds = True  # our refund id is the Stripe idempotency key
    supports_status_query = True
    supports_refund_listing = True
    supports_webhooks = True
    works_without_javascript = False

    # ---- configuration -------------------------------------------------------------------

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Check shapes only (prefixes, URLs): enabling never calls Stripe."""
        creds, out = super().validate_config(credentials, settings)
        errors: dict[str, list[str]] = {}
        rules = (
            ("secret_key", ("sk_", "rk_"), "Secret key must start with sk_ (or rk_)."),
            ("publishable_key", ("pk_",), "Publishable key must start with pk_."),
            ("webhook_secret", ("whsec_",), "Webhook signing secret must start with whsec_."),
        )
        for name, prefixes, message in rules:
            value = creds.get(name, "")
            if value and (not value.startswith(prefixes) or not _KEY.match(value)):
                errors.setdefault(name, []).append(
                    message + " Letters, digits and underscores only."
                    if value.startswith(prefixes) else message
                )
        secret_mode = _key_mode(creds.get("secret_key", ""))
        public_mode = _key_mode(creds.get("publishable_key", ""))
        if not errors and secret_mode and public_mode and secret_mode != public_mode:
            errors["publishable_key"] = [
                "The publishable key and the secret key must both be test keys or both live keys."
            ]
        for name in ("api_base", "js_url"):
            value = creds.get(name, "").strip()
            if not _valid_url(value) or (name == "api_base" and urlsplit(value).query):
                errors.setdefault(name, []).append("Must be an absolute http(s) URL.")
            else:
                creds[name] = value.rstrip("/") if name == "api_base" else value
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        """The same conversion the charge and the refunds use, so the rule lives once."""
        try:
            to_stripe_amount(amount_minor, currency)
        except AmountNotRepresentable as exc:
            return str(exc)
        return None

    def describe_failure(self, reason: str | None) -> str | None:
        if reason and reason.startswith("Stripe declined: "):
            code = reason.removeprefix("Stripe declined: ").split(" ", 1)[0]
            return DECLINE_MESSAGES.get(code, GENERIC_DECLINE)
        return None

    def _script_origins(self, ctx: GatewayContext) -> tuple[str, ...]:
        js_url = ctx.credentials.get("js_url") or DEFAULT_JS_URL
        origins = [_origin(js_url)]
        if origins[0] == _origin(DEFAULT_JS_URL):
            origins.extend(_STRIPE_JS_ORIGINS)
        return tuple(dict.fromkeys(origins))

    # ---- checkout ------------------------------------------------------------------------

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        try:
            to_stripe_amount(payment.amount_minor, payment.currency)
        except AmountNotRepresentable as exc:
            log.warning("stripe_amount_not_representable", payment_id=payment.transaction_id,
                        detail=str(exc))
            return self._unavailable(f"This amount cannot be paid by card: {exc}")
        try:
            pi = await self._payment_intent(ctx, payment)
        except stripe.InvalidRequestError as exc:
            log.warning("stripe_create_refused", payment_id=payment.transaction_id,
                        code=exc.code, message=exc.user_message)
            if exc.code in ("amount_too_small", "amount_too_large"):
                return self._unavailable(
                    "This amount is outside the limits Stripe accepts for a card payment.")
            return self._unavailable("Card payment is not available for this payment.")
        pi_id = _str(pi.get("id"))
        if not _matches(pi, payment):
            # Our stored PaymentIntent was changed at Stripe: never collect money on it.
            raise GatewayError(f"Stripe PaymentIntent {pi_id} does not match the payment",
                               retryable=False)
        if pi.get("status") in ("succeeded", "processing"):
            # Paid already (e.g. the customer reloads before we heard of it): verify now.
            return CheckoutView(
                redirect_url=f"{ctx.checkout_url}/return?payment_intent={pi_id}",
                provider_reference=pi_id,
            )
        return CheckoutView(
            template="checkout.html",
            context={
                "client_secret": _str(pi.get("client_secret")),
                "publishable_key": ctx.credentials.get("publishable_key", ""),
                "js_url": ctx.credentials.get("js_url") or DEFAULT_JS_URL,
                "return_url": f"/checkout/{payment.transaction_id}/return",
                "customer_name": payment.customer_name,
                "customer_email": payment.customer_email,
            },
            provider_reference=pi_id,
            script_origins=self._script_origins(ctx),
            needs_javascript=True,
        )

    @staticmethod
    def _unavailable(message: str) -> CheckoutView:
        return CheckoutView(template="checkout.html", context={"unavailable": message})

    async def _payment_intent(self, ctx: GatewayContext, payment: PaymentView) -> dict[str, Any]:
        """The payment's PaymentIntent: the stored one if still usable, else a new one."""
        client = _client(ctx)
        replaces: str | None = None
        if payment.provider_reference:
            try:
                pi = await _call("retrieve", client.v1.payment_intents.retrieve_async(
                    payment.provider_reference))
            except stripe.InvalidRequestError:
                pi = None  # gone (e.g. other Stripe account configured since)
            if pi is not None and pi.get("status") != "canceled":
                return pi
            replaces = payment.provider_reference
        # A replacement gets its own key, derived from the one it replaces, so that two
        # concurrent page loads still converge on one PaymentIntent.
        key = payment.transaction_id + (f":{replaces}" if replaces else "")
        params: PaymentIntentCreateParams = {
            "amount": to_stripe_amount(payment.amount_minor, payment.currency),
            "currency": payment.currency.lower(),
            "description": (payment.description or f"Order {payment.order_id}")[:1000],
            # API 2026-09-30+ refuses payment_method_types; our page has a card form only.
            "allowed_payment_method_types": ["card"],
            "metadata": {
                "transaction_id": payment.transaction_id,
                "merchant": payment.merchant_slug,
                "order_id": payment.order_id[:500],
            },
        }
        created = await _send("create", client.v1.payment_intents.create_async(
            params, {"idempotency_key": key}))
        pi = _as_dict("create", created)
        if _replayed(created):
            # An idempotent replay returns the first answer, which may be stale by now.
            pi = await _call("retrieve", client.v1.payment_intents.retrieve_async(
                _str(pi.get("id"))))
        return pi

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """Only the PaymentIntent we stored counts; the browser's ``payment_intent`` is a hint."""
        claimed = params.get("payment_intent")
        if claimed and claimed != payment.provider_reference:
            log.warning("stripe_return_for_other_intent", payment_id=payment.transaction_id)
        return await self.query_status(ctx, payment)

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        if not payment.provider_reference:
            return VerifiedResult(outcome=Outcome.PENDING, reason="no Stripe PaymentIntent yet")
        try:
            pi = await _call("retrieve", _client(ctx).v1.payment_intents.retrieve_async(
                payment.provider_reference))
        except stripe.InvalidRequestError as exc:
            return VerifiedResult(
                outcome=Outcome.UNKNOWN, provider_reference=payment.provider_reference,
                reason=f"Stripe retrieve refused: {exc.code or exc.http_status}",
            )
        return self.map_payment_intent(pi, payment)

    def map_payment_intent(self, pi: Mapping[str, Any], payment: PaymentView) -> VerifiedResult:
        """Every PaymentIntent status, mapped; anything unexpected never completes."""
        status = _str(pi.get("status"))
        pi_id = _str(pi.get("id")) or payment.provider_reference
        processing = payment.status == "processing"
        match status:
            case "succeeded":
                seen = _checked(pi)
                return VerifiedResult(
                    outcome=Outcome.SUCCEEDED,
                    amount_minor=seen.amount_minor,
                    currency=seen.currency,
                    reference=seen.reference,
                    provider_reference=pi_id,
                    provider_txn_id=_object_id(pi.get("latest_charge")),
                    reason=f"Stripe PaymentIntent {pi_id} succeeded",
                )
            case "processing":
                if not _matches(pi, payment):
                    return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                                          reason="Stripe processing, but amount/currency/"
                                                 "reference differ from the payment")
                return VerifiedResult(outcome=Outcome.PROCESSING, provider_reference=pi_id,
                                      reason="Stripe: payment processing")
            case "requires_payment_method":
                error = pi.get("last_payment_error")
                if isinstance(error, Mapping) and error:
                    # A decline: the same PaymentIntent takes another card, so our payment
                    # stays payable -- unless it was already processing (then it failed).
                    return VerifiedResult(
                        outcome=Outcome.FAILED if processing else Outcome.PENDING,
                        provider_reference=pi_id,
                        reason=_decline_reason(error)[:500],
                        customer_message=decline_message(error),
                    )
                return VerifiedResult(outcome=Outcome.PENDING, provider_reference=pi_id,
                                      reason="Stripe: waiting for a payment method")
            case "requires_confirmation" | "requires_action":
                return VerifiedResult(outcome=Outcome.PENDING, provider_reference=pi_id,
                                      reason=f"Stripe: {status}")
            case "requires_capture":
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                    reason="Stripe: requires_capture, but OwnPay captures automatically; "
                           "capture or cancel it in the Stripe dashboard",
                )
            case "canceled":
                cancellation = _str(pi.get("cancellation_reason")) or "no reason given"
                if processing:
                    return VerifiedResult(outcome=Outcome.FAILED, provider_reference=pi_id,
                                          reason=f"Stripe PaymentIntent canceled ({cancellation})",
                                          customer_message="The card payment was cancelled.")
                return VerifiedResult(
                    outcome=Outcome.PENDING, provider_reference=pi_id,
                    reason=f"Stripe PaymentIntent canceled ({cancellation})",
                    customer_message="The card payment was cancelled. Please try again.",
                )
            case _:
                return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                                      reason=f"unmapped Stripe status {status!r}")

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """Cancel the PaymentIntent before our link expires it: a customer still in 3-D
        Secure can then no longer complete it.  Stripe refuses to cancel one that succeeded
        (or is processing) meanwhile; its current state then decides."""
        pi_id = payment.provider_reference
        if not pi_id:
            return VerifiedResult(outcome=Outcome.CANCELLED, reason="no Stripe PaymentIntent")
        client = _client(ctx)
        try:
            pi = await _call("cancel", client.v1.payment_intents.cancel_async(pi_id))
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return VerifiedResult(
                    outcome=Outcome.CANCELLED, provider_reference=pi_id,
                    reason=f"Stripe has no PaymentIntent {pi_id} on this account",
                )
            log.info("stripe_cancel_refused", payment_id=payment.transaction_id,
                     code=exc.code, status=exc.http_status)
            try:
                pi = await _call("retrieve", client.v1.payment_intents.retrieve_async(pi_id))
            except stripe.InvalidRequestError as again:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                    reason=f"Stripe refused to cancel {pi_id} and to show it: "
                           f"{again.code or again.http_status}",
                )
        status = _str(pi.get("status"))
        if status == "canceled":
            return VerifiedResult(
                outcome=Outcome.CANCELLED, provider_reference=pi_id,
                reason=f"Stripe PaymentIntent {pi_id} canceled",
            )
        result = self.map_payment_intent(pi, payment)
        if result.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING):
            return result
        return VerifiedResult(
            outcome=Outcome.UNKNOWN, provider_reference=pi_id,
            reason=f"Stripe did not cancel PaymentIntent {pi_id} (status {status!r})",
        )

    # ---- provider webhooks ---------------------------------------------------------------

    async def parse_webhook(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        secret = ctx.credentials.get("webhook_secret", "")
        signature = headers.get("stripe-signature", "")
        if not secret or not signature:
            raise WebhookRejected("missing Stripe-Signature header")
        try:
            event = _client(ctx).construct_event(body, signature, secret).to_dict()
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected("Stripe-Signature does not verify") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("malformed Stripe event") from exc
        event_id, event_type = _str(event.get("id")), _str(event.get("type"))
        data = event.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        if not event_id or not event_type or not isinstance(obj, Mapping):
            raise WebhookRejected("malformed Stripe event")
        if bool(event.get("livemode")) != (ctx.mode == "live"):
            return ProviderEvent(event_id=event_id, type=event_type,
                                 kind=ProviderEventKind.IGNORED,
                                 details={"note": "livemode does not match this account's mode"})
        if event_type in _PAYMENT_EVENTS:
            return ProviderEvent(
                event_id=event_id, type=event_type, kind=ProviderEventKind.PAYMENT,
                provider_reference=_str(obj.get("id")) or None,
                reference=_str(_metadata(obj).get("transaction_id")) or None,
            )
        if event_type in _REFUND_EVENTS:
            # Informational only: the refunds are re-listed from Stripe before anything is
            # booked (the body may be stale or reordered).
            return ProviderEvent(
                event_id=event_id, type=event_type, kind=ProviderEventKind.REFUND,
                provider_reference=_object_id(obj.get("payment_intent")),
                reference=_str(_metadata(obj).get("transaction_id")) or None,
                details={"object": _str(obj.get("object")), "id": _str(obj.get("id"))},
            )
        return ProviderEvent(event_id=event_id, type=event_type, kind=ProviderEventKind.IGNORED)

    # ---- refunds -------------------------------------------------------------------------

    async def refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        amount_minor: int,
        refund_id: str,
        reason: str | None,
    ) -> RefundResult:
        """``POST /v1/refunds`` with our refund id as the idempotency key: re-sending the
        same refund is safe, so an ambiguous failure raises GatewayError for a later retry."""
        if not payment.provider_reference:
            return RefundResult(outcome=Outcome.FAILED, reason=_NO_INTENT)
        try:
            amount = to_stripe_amount(amount_minor, payment.currency)
        except AmountNotRepresentable as exc:
            return RefundResult(outcome=Outcome.FAILED, reason=str(exc))
        metadata = {"refund_id": refund_id, "transaction_id": payment.transaction_id}
        if reason:
            metadata["reason"] = reason[:500]
        params: RefundCreateParams = {
            "payment_intent": payment.provider_reference, "amount": amount, "metadata": metadata,
        }
        try:
            data = await _call("refund", _client(ctx).v1.refunds.create_async(
                params, {"idempotency_key": refund_id}))
        except stripe.IdempotencyError as exc:
            raise GatewayError("Stripe saw this refund id with other parameters",
                               retryable=False) from exc
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            return RefundResult(outcome=Outcome.FAILED,
                                reason=f"Stripe refused the refund: {exc.code or exc.http_status}"
                                       f" ({exc.user_message or ''})"[:500])
        return self.map_refund(data)

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        """A refund's current status: by Stripe id, or found by our id in its metadata
        (Stripe keeps idempotency keys only 24 hours; the metadata lookup has no limit)."""
        client = _client(ctx)
        if provider_refund_id:
            try:
                data = await _call("refund status", client.v1.refunds.retrieve_async(
                    provider_refund_id))
            except stripe.InvalidRequestError as exc:
                return RefundResult(outcome=Outcome.UNKNOWN,
                                    reason=f"Stripe refund lookup refused: {exc.code}")
            return self.map_refund(data)
        if not payment.provider_reference:
            return RefundResult(outcome=Outcome.FAILED, reason=_NO_INTENT)
        try:
            listing = await _call("refund list", client.v1.refunds.list_async(
                {"payment_intent": payment.provider_reference, "limit": 100}))
        except stripe.InvalidRequestError as exc:
            return RefundResult(outcome=Outcome.UNKNOWN,
                                reason=f"Stripe refund lookup refused: {exc.code}")
        for item in listing.get("data") or []:
            if isinstance(item, Mapping) and _metadata(item).get("refund_id") == refund_id:
                return self.map_refund(item)
        return RefundResult(outcome=Outcome.UNKNOWN,
                            reason="Stripe has no refund with this id (yet)")

    async def list_refunds(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> list[ProviderRefund]:
        """``GET /v1/refunds?payment_intent=…``, every page (bounded): refunds made in
        Stripe's dashboard included.  Ours carry our refund id in their metadata."""
        if not payment.provider_reference:
            return []
        client = _client(ctx)
        found: list[ProviderRefund] = []
        params: RefundListParams = {"payment_intent": payment.provider_reference, "limit": 100}
        for _ in range(_REFUND_PAGES):
            try:
                page = await _call("refund list", client.v1.refunds.list_async(params))
            except stripe.InvalidRequestError as exc:
                raise GatewayError(f"Stripe refund listing refused: {exc.code or exc.http_status}",
                                   retryable=False) from exc
            items = [item for item in page.get("data") or [] if isinstance(item, Mapping)]
            for item in items:
                refund_id = _str(item.get("id"))
                if not refund_id:
                    continue
                currency = _str(item.get("currency")).upper()
                mapped = self.map_refund(item)
                found.append(ProviderRefund(
                    provider_refund_id=refund_id,
                    outcome=mapped.outcome,
                    amount_minor=from_stripe_amount(item.get("amount"), currency)
                    if currency else None,
                    currency=currency,
                    refund_id=_str(_metadata(item).get("refund_id")) or None,
                    reason=mapped.reason,
                ))
            if not page.get("has_more") or not items:
                break
            params = {**params, "starting_after": _str(items[-1].get("id"))}
        return found

    @staticmethod
    def map_refund(data: Mapping[str, Any]) -> RefundResult:
        status = _str(data.get("status"))
        refund_id = _str(data.get("id")) or None
        match status:
            case "succeeded":
                return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=refund_id)
            case "pending" | "requires_action":
                return RefundResult(outcome=Outcome.PROCESSING, provider_refund_id=refund_id,
                                    reason=f"Stripe refund {status}")
            case "failed" | "canceled":
                why = _str(data.get("failure_reason")) or status
                return RefundResult(outcome=Outcome.FAILED, provider_refund_id=refund_id,
                                    reason=f"Stripe refund {status}: {why}")
            case _:
                return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=refund_id,
                                    reason=f"unmapped Stripe refund status {status!r}")


def _replayed(obj: Any) -> bool:
    response = getattr(obj, "last_response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return str(headers.get("idempotent-replayed", "")).lower() == "true"
    except AttributeError:
        return False
