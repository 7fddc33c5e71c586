"""``razorpay``: Razorpay Standard Checkout on our own checkout page -- an Order created
through the official ``razorpay`` SDK and Razorpay's Checkout.js form -- with payment
signature verification, webhooks (``X-Razorpay-Signature``) and refunds.

Flow: the checkout page asks :meth:`RazorpayGateway.start_checkout`, which creates an
Order (amount in subunits, currency, ``receipt`` = our transaction id, notes with our ids,
``payment_capture`` 1: Razorpay captures an authorised payment itself) and renders a
fragment that loads Checkout.js (``checkout_js_url``, allowed by the page's CSP) with the
key id, order id, amount, currency, the merchant's name and the customer's prefill.  No card
or UPI field is ours: Checkout.js opens Razorpay's form.  On success its handler gets
``razorpay_payment_id``, ``razorpay_order_id`` and ``razorpay_signature`` and our script
POSTs them to the provider-return route (``returns_by_post``).

Those fields are hints.  :meth:`verify_return` checks the signature (HMAC-SHA256 of
``order_id|payment_id`` with the key secret, constant time) and that the order is the
payment's; then -- signed or not -- only Razorpay's API decides: the order and the payment
are fetched, an ``authorized`` one (an account that does not auto-capture, or a late
authorisation) is captured for exactly the order's amount, and the result is SUCCEEDED only
for a ``captured`` payment of a ``paid`` order; amount, currency and reference (the
order's receipt) are then compared by the core.  Webhooks (``payment.captured``,
``payment.failed``, ``order.paid``, ``refund.processed``, ``refund.failed``) are verified by
``X-Razorpay-Signature`` and then re-fetched the same way.

An order cannot be cancelled at Razorpay and has no expiry of its own: Checkout.js is given
a ``timeout`` that ends at the payment's expiry, and :meth:`cancel_provider_payment` asks
the order once more before the core expires the payment (a payment that still arrives later
is reported by the webhook and reconciliation, never lost).

The package: ``mapping`` (pure: amounts, statuses, signatures, messages), ``client`` (the
SDK bridged onto the provider executor), ``refunds`` (the refund calls); this module decides
the flow.

Size: it is the one class the adapter contract asks for (configuration, checkout, return,
status, webhooks, refunds), and each part decides from the same order and payment reads;
the pure parts live in ``mapping``, the SDK calls in ``client``, refunds' answers in
``refunds``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import structlog

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
    amount_refusal,
    check_url_setting,
    gateway_url,
    stripped_config,
    url_origin,
)
from ownpay.gateways.razorpay import client, mapping, refunds
from ownpay.gateways.razorpay.client import API_URL, RazorpayRefused, path_id
from ownpay.gateways.razorpay.mapping import AmountNotRepresentable, OrderStatus, PaymentStatus
from ownpay.gateways.razorpay.refunds import idempotency_key

__all__ = ["API_URL", "CHECKOUT_JS_URL", "RazorpayGateway", "RazorpayRefused",
           "idempotency_key"]

log = structlog.get_logger("ownpay.gateways.razorpay")

CHECKOUT_JS_URL = "https://checkout.razorpay.com/v1/checkout.js"
# Checkout.js opens its form in an iframe from checkout.razorpay.com and talks to
# api.razorpay.com: both are allowed with the default script (a stand-in's origin alone
# is allowed with its own).
CHECKOUT_ORIGINS = ("https://checkout.razorpay.com", "https://api.razorpay.com")
_KEY_ID = re.compile(r"^rzp_(test|live)_[A-Za-z0-9]{6,40}$")
MIN_TIMEOUT = 60  # seconds: Checkout.js's form is never given less
PAYMENT_EVENTS = frozenset({"payment.captured", "payment.failed", "payment.authorized",
                            "order.paid"})
REFUND_EVENTS = frozenset({"refund.processed", "refund.failed", "refund.created"})


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


def _entity(payload: Any, name: str) -> dict[str, Any] | None:
    wrapper = payload.get(name) if isinstance(payload, dict) else None
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    return entity if isinstance(entity, dict) else None


def script_origins(js_url: str) -> tuple[str, ...]:
    """CSP origins the checkout page needs for this Checkout.js URL."""
    origin = url_origin(js_url)
    origins = [origin] if origin else []
    if js_url == CHECKOUT_JS_URL:
        origins.extend(CHECKOUT_ORIGINS)
    return tuple(dict.fromkeys(origins))


class RazorpayGateway(Gateway):
    slug = "razorpay"
    display_name = "Razorpay"
    templates = Path(__file__).parent / "templates"
    static = Path(__file__).parent / "static"
    currencies: ClassVar[frozenset[str] | None] = mapping.CURRENCIES
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("key_id", "Key ID", secret=False,
                    help="rzp_test_… in test mode, rzp_live_… in live mode"),
        ConfigField("key_secret", "Key secret"),
        ConfigField("webhook_secret", "Webhook secret", required=False,
                    help="the secret of the webhook set up in Razorpay's dashboard; "
                    "without it webhooks are refused"),
    )
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("base_url", "API base URL", secret=False, required=False,
                    help=f"default {API_URL} (e.g. a stand-in for tests)"),
        ConfigField("checkout_js_url", "Checkout.js URL", secret=False, required=False,
                    help=f"default {CHECKOUT_JS_URL} (e.g. a stand-in for tests)"),
    )
    supports_status_query = True
    supports_webhooks = True
    supports_refunds = True
    supports_refund_query = True
    idempotent_refunds = True  # X-Refund-Idempotency: the same refund moves money once
    supports_refund_listing = True  # notes.ownpay_refund_id tells ours apart
    returns_by_post = True  # our script posts Checkout.js's handler fields
    works_without_javascript = False  # Razorpay's form is Checkout.js

    # ---- configuration -----------------------------------------------------------------

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(*stripped_config(credentials, settings))
        errors: dict[str, list[str]] = {}
        if not _KEY_ID.match(creds.get("key_id", "")):
            errors["key_id"] = ["Key ID is Razorpay's rzp_test_… or rzp_live_… key."]
        if not creds.get("webhook_secret"):
            creds.pop("webhook_secret", None)
        check_url_setting(out, errors, "base_url",
                          "API base URL must be an absolute http(s) URL.")
        check_url_setting(out, errors, "checkout_js_url",
                          "Checkout.js URL must be an absolute http(s) URL.", strip_slash=False)
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        return amount_refusal(mapping.to_razorpay_amount, AmountNotRepresentable,
                              amount_minor, currency)

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

    # ---- checkout ----------------------------------------------------------------------

    def callback_url(self, ctx: GatewayContext, payment: PaymentView) -> str:
        return gateway_url(ctx, self.slug, "callback", payment.transaction_id)

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        """Checkout.js for the payment's order, creating one if there is none usable.  An
        order that may have taken money is never replaced: the page offers to check it."""
        if payment.provider_reference:
            try:
                order = await self._order(ctx, payment.provider_reference)
            except RazorpayRefused:
                order = None  # gone (e.g. another Razorpay account configured since)
            if order is not None and str(order.get("receipt") or "") == payment.transaction_id:
                asked = await self._decide(ctx, order, operation="checkout", ours=payment)
                if asked.outcome is not Outcome.PENDING:
                    return CheckoutView(template="checkout.html", context={
                        "confirm_url": self.callback_url(ctx, payment)},
                        provider_reference=str(order["id"]))
                if self._matches(order, payment):
                    return self._view(ctx, payment, order)
        if len(payment.transaction_id) > mapping.MAX_REFERENCE:
            raise GatewayError("transaction id too long for Razorpay's receipt",
                               retryable=False, may_have_acted=False)
        body = {
            "amount": mapping.to_razorpay_amount(payment.amount_minor, payment.currency),
            "currency": payment.currency.upper(),
            "receipt": payment.transaction_id,
            "payment_capture": 1,
            "notes": {"ownpay_transaction_id": payment.transaction_id,
                      "order_id": payment.order_id[:256]},
        }
        try:
            order = await client.call(ctx, "create order",
                                      lambda sdk: sdk.order.create(dict(body)), write=True)
        except RazorpayRefused as exc:
            log.warning("razorpay_order_refused", payment_id=payment.transaction_id,
                        said=exc.said)
            raise GatewayError(f"Razorpay refused the order: {exc.said}",
                               retryable=False, may_have_acted=False) from exc
        if not order.get("id") or not self._matches(order, payment):
            raise GatewayError("Razorpay answered an order that is not the one asked for",
                               retryable=False, may_have_acted=True)
        return self._view(ctx, payment, order)

    def _matches(self, order: Mapping[str, Any], payment: PaymentView) -> bool:
        return (order.get("amount") == payment.amount_minor
                and str(order.get("currency") or "").upper() == payment.currency.upper()
                and str(order.get("receipt") or "") == payment.transaction_id)

    def _view(self, ctx: GatewayContext, payment: PaymentView,
              order: Mapping[str, Any]) -> CheckoutView:
        js_url = str(ctx.settings.get("checkout_js_url") or CHECKOUT_JS_URL)
        left = int((payment.expires_at - datetime.now(UTC)).total_seconds())
        return CheckoutView(
            template="checkout.html",
            context={
                "key_id": ctx.credentials.get("key_id", ""),
                "order_id": str(order["id"]),
                "amount": int(order["amount"]),
                "currency": str(order["currency"]).upper(),
                "description": (payment.description or f"Order {payment.order_id}")[:255],
                "customer_name": payment.customer_name[:100],
                "customer_email": payment.customer_email,
                "customer_phone": (payment.customer_phone or "")[:20],
                "callback_url": f"/gateways/{self.slug}/callback/{payment.transaction_id}",
                "timeout": max(left, MIN_TIMEOUT),
                "js_url": js_url,
            },
            provider_reference=str(order["id"]),
            script_origins=script_origins(js_url),
            needs_javascript=True,
        )

    async def _order(self, ctx: GatewayContext, order_id: str) -> dict[str, Any]:
        oid = path_id(order_id)
        return await client.call(ctx, "fetch order", lambda sdk: sdk.order.fetch(oid),
                                 write=False)

    async def _payments(self, ctx: GatewayContext, order_id: str) -> list[Mapping[str, Any]]:
        oid = path_id(order_id)
        data = await client.call(ctx, "order payments", lambda sdk: sdk.order.payments(oid),
                                 write=False)
        return mapping.payments_of({"id": order_id}, data)

    async def _capture(self, ctx: GatewayContext, order: Mapping[str, Any],
                       payment: Mapping[str, Any]) -> Mapping[str, Any]:
        """Capture an authorised payment of the order for exactly the order's figures; the
        payment as Razorpay then holds it (already captured meanwhile: fetched again)."""
        if (payment.get("amount") != order.get("amount")
                or str(payment.get("currency") or "") != str(order.get("currency") or "")):
            return payment  # never capture other figures than the order's
        pay_id = path_id(str(payment["id"]))
        amount, currency = int(order["amount"]), str(order["currency"])
        try:
            return await client.call(
                ctx, "capture", lambda sdk: sdk.payment.capture(
                    pay_id, amount, {"currency": currency}), write=True)
        except RazorpayRefused:
            return await client.call(ctx, "fetch payment",
                                     lambda sdk: sdk.payment.fetch(pay_id), write=False)

    async def _decide(self, ctx: GatewayContext, order: Mapping[str, Any], *,
                      operation: str, ours: PaymentView,
                      payment: Mapping[str, Any] | None = None) -> VerifiedResult:
        """Razorpay's word on an order: its payments fetched, an authorised one captured --
        only while our payment can still take money.  One already cancelled, expired or
        failed here is never captured: Razorpay gives an uncaptured authorisation back to
        the customer by itself."""
        if payment is None:
            payment = mapping.pick_payment(await self._payments(ctx, str(order["id"])))
        if payment is not None and payment.get("status") == PaymentStatus.AUTHORIZED \
                and str(payment.get("order_id") or "") == str(order.get("id") or ""):
            if not mapping.can_take_money(ours.status):
                result = mapping.map_order(order, payment, operation=operation)
                return replace(result, reason=(
                    f"{result.reason}; not captured: the payment is {ours.status[:20]} "
                    "here (Razorpay returns an uncaptured payment by itself)")[:480])
            payment = await self._capture(ctx, order, payment)
            order = await self._order(ctx, str(order["id"]))
        return mapping.map_order(order, payment, operation=operation)

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """Checkout.js's handler fields, posted by our script.  A correctly signed answer
        for the payment's order names the Razorpay payment to fetch; anything else is
        answered only from our own order."""
        signature = str(params.get("razorpay_signature") or "")
        order_id = str(params.get("razorpay_order_id") or "")
        payment_id = str(params.get("razorpay_payment_id") or "")
        expected = mapping.payment_signature(ctx.credentials.get("key_secret", ""),
                                             order_id, payment_id)
        signed = mapping.signature_ok(expected, signature) and bool(order_id and payment_id)
        ours = bool(payment.provider_reference) and order_id == payment.provider_reference
        if not (signed and ours):
            if signature or payment_id:
                log.warning("razorpay_return_unsigned", payment_id=payment.transaction_id,
                            signed=signed, ours=ours)
            asked = await self.query_status(ctx, payment)
            if asked.outcome is Outcome.SUCCEEDED or not signature:
                return asked
            return VerifiedResult(
                outcome=Outcome.PENDING, provider_reference=payment.provider_reference,
                reason=f"return without a valid Razorpay signature; {asked.reason}"[:480])
        order = await self._order(ctx, order_id)
        if str(order.get("receipt") or "") != payment.transaction_id:
            log.warning("razorpay_return_foreign_order", payment_id=payment.transaction_id)
        pid = path_id(payment_id)
        fetched = await client.call(ctx, "fetch payment", lambda sdk: sdk.payment.fetch(pid),
                                    write=False)
        return await self._decide(ctx, order, operation="return", ours=payment,
                                  payment=fetched)

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        """Razorpay's word: the payment's order and its payments."""
        if payment.provider_reference:
            try:
                order: dict[str, Any] | None = await self._order(
                    ctx, payment.provider_reference)
            except RazorpayRefused as exc:
                return VerifiedResult(outcome=Outcome.UNKNOWN,
                                      provider_reference=payment.provider_reference,
                                      reason=f"{exc} (status query)"[:480])
        else:
            order = await self._by_receipt(ctx, payment.transaction_id)
        if order is None:
            return VerifiedResult(outcome=Outcome.PENDING,
                                  reason="Razorpay holds no order for this payment")
        return await self._decide(ctx, order, operation="status query", ours=payment)

    async def _by_receipt(self, ctx: GatewayContext, receipt: str) -> dict[str, Any] | None:
        """The payment's newest order, found by its receipt (our transaction id)."""
        data = await client.call(ctx, "orders by receipt",
                                 lambda sdk: sdk.order.all({"receipt": receipt}),
                                 write=False)
        rows = data.get("items")
        found = [r for r in rows if isinstance(r, dict) and r.get("id")
                 and r.get("receipt") == receipt] if isinstance(rows, list) else []
        paid = [r for r in found if r.get("status") == OrderStatus.PAID]
        found = paid or sorted(found, key=lambda r: r.get("created_at") or 0, reverse=True)
        return found[0] if found else None

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """Razorpay orders cannot be cancelled: ask once more, and close ours when nothing
        was paid (Checkout.js's form timed out at the payment's expiry)."""
        asked = await self.query_status(ctx, payment)
        if asked.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING, Outcome.UNKNOWN):
            return asked
        return VerifiedResult(outcome=Outcome.CANCELLED,
                              provider_reference=asked.provider_reference,
                              reason=f"Razorpay order left unpaid ({asked.reason})"[:480])

    # ---- webhooks ----------------------------------------------------------------------

    async def parse_webhook(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        secret = ctx.credentials.get("webhook_secret", "")
        if not secret:
            raise WebhookRejected("no Razorpay webhook secret is configured")
        signature = _header(headers, "x-razorpay-signature")
        if not mapping.signature_ok(mapping.webhook_signature(secret, body), signature):
            raise WebhookRejected("Razorpay webhook signature does not match")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected("Razorpay webhook is not JSON") from exc
        if not isinstance(data, dict):
            raise WebhookRejected("Razorpay webhook is not a JSON object")
        event = str(data.get("event") or "")[:60]
        event_id = (_header(headers, "x-razorpay-event-id")[:100]
                    or "body:" + hashlib.sha256(body).hexdigest()[:40])
        payload = data.get("payload")
        order = _entity(payload, "order")
        pay = _entity(payload, "payment")
        refund = _entity(payload, "refund")
        if event in PAYMENT_EVENTS:
            order_id = str((order or {}).get("id") or (pay or {}).get("order_id") or "")
            receipt = str((order or {}).get("receipt") or "")
            notes = (pay or {}).get("notes")
            if not receipt and isinstance(notes, dict):
                receipt = str(notes.get("ownpay_transaction_id") or "")
            if order_id or receipt:
                return ProviderEvent(
                    event_id=event_id, type=event, provider_reference=order_id[:100] or None,
                    reference=receipt[:100] or None, kind=ProviderEventKind.PAYMENT,
                    details={"status": str((pay or order or {}).get("status") or "")[:30]})
        if event in REFUND_EVENTS and refund is not None and refund.get("id"):
            currency = str(refund.get("currency") or "").upper()
            notes = refund.get("notes")
            txn = str(notes.get("ownpay_transaction_id") or "") \
                if isinstance(notes, dict) else ""
            # Ours carry our transaction id in their notes; one made in Razorpay's
            # dashboard is matched by its payment's order (our provider_reference).
            order_id = str((pay or {}).get("order_id") or "")
            return ProviderEvent(
                event_id=event_id, type=event, kind=ProviderEventKind.REFUND,
                reference=txn[:100] or None, provider_reference=order_id[:100] or None,
                details={"refund_id": str(refund.get("id") or "")[:40],
                         "payment_id": str(refund.get("payment_id") or "")[:40],
                         "status": str(refund.get("status") or "")[:30],
                         "amount_minor": mapping.from_razorpay_amount(refund.get("amount"),
                                                                      currency),
                         "currency": currency[:3]})
        return ProviderEvent(event_id=event_id, type=event or "unknown",
                             kind=ProviderEventKind.IGNORED,
                             details={"note": "only payment, order and refund events "
                                      "are acted on"})

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
        """A normal-speed refund of the captured payment, idempotent by our refund id."""
        return await refunds.send(ctx, payment, amount_minor=amount_minor,
                                  refund_id=refund_id, reason=reason)

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        return await refunds.query(ctx, payment, refund_id=refund_id,
                                   provider_refund_id=provider_refund_id)

    async def list_refunds(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> list[ProviderRefund]:
        return await refunds.listing(ctx, payment)


ADAPTER = RazorpayGateway()
