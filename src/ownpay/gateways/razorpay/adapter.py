"""``razorpay``: Razorpay Payment Links as a hosted checkout (India; INR and international
currencies), with refunds and webhooks.

Flow: the checkout page asks :meth:`RazorpayGateway.start_checkout`, which creates a
Payment Link (``reference_id`` = our transaction id, ``callback_url`` = our provider-return
route, ``callback_method`` get, ``accept_partial`` false) and sends the customer to its
``short_url``; no card or UPI field is ever on our page.  After a successful payment
Razorpay redirects the browser to the callback with ``razorpay_payment_id``,
``razorpay_payment_link_id``, ``…_reference_id``, ``…_status`` and ``razorpay_signature``.
Those are hints: the signature is checked in constant time, and then -- signed or not --
only Razorpay's API decides (:meth:`query_status`: the link must be ``paid`` and its payment,
fetched by id, ``captured`` in the link's order; amount, currency and reference are then
compared with the payment by the core).  Webhooks (``payment_link.*``) are verified by
``X-Razorpay-Signature`` and then re-fetched the same way.

A payment has at most one payable link at a time: the checkout reuses the current link
while it is ``created``, and makes a new one (reference ``txn_…-1``, ``-2``, … since Razorpay
wants reference_id unique) only once the old one was cancelled or expired.

The package: ``mapping`` (pure: amounts, statuses, signatures, messages), ``client`` (calls
through the provider executor), ``refunds`` (the refund calls); this module decides the
flow.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

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
    provider_status,
    url_origin,
)
from ownpay.gateways.razorpay import client, mapping, refunds
from ownpay.gateways.razorpay.client import API_URL, RazorpayRefused, path_id
from ownpay.gateways.razorpay.mapping import AmountNotRepresentable, LinkStatus
from ownpay.gateways.razorpay.refunds import idempotency_key

__all__ = ["API_URL", "RazorpayGateway", "RazorpayRefused", "idempotency_key"]

log = structlog.get_logger("ownpay.gateways.razorpay")

_KEY_ID = re.compile(r"^rzp_(test|live)_[A-Za-z0-9]{6,40}$")
LINK_MIN_LIFETIME = timedelta(minutes=16)  # Razorpay: expire_by at least 15 minutes ahead
LINK_MAX_LIFETIME = timedelta(days=180)  # and at most six months
NEW_LINK_TRIES = 3


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


class RazorpayGateway(Gateway):
    slug = "razorpay"
    display_name = "Razorpay"
    templates = Path(__file__).parent / "templates"
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
    )
    supports_status_query = True
    supports_webhooks = True
    supports_refunds = True
    supports_refund_query = True
    idempotent_refunds = True  # X-Refund-Idempotency: the same refund moves money once
    supports_refund_listing = True  # notes.ownpay_refund_id tells ours apart

    # ---- configuration -----------------------------------------------------------------

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(
            {k: str(v).strip() for k, v in credentials.items()},
            {k: str(v).strip() if isinstance(v, str) else v for k, v in settings.items()},
        )
        errors: dict[str, list[str]] = {}
        if not _KEY_ID.match(creds.get("key_id", "")):
            errors["key_id"] = ["Key ID is Razorpay's rzp_test_… or rzp_live_… key."]
        if not creds.get("webhook_secret"):
            creds.pop("webhook_secret", None)
        base = str(out.get("base_url") or "")
        if base:
            parts = urlsplit(base)
            if (parts.scheme not in ("http", "https") or not parts.netloc or parts.query
                    or parts.fragment):
                errors["base_url"] = ["API base URL must be an absolute http(s) URL."]
            out["base_url"] = base.rstrip("/")
        else:
            out.pop("base_url", None)
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        try:
            mapping.to_razorpay_amount(amount_minor, currency)
        except AmountNotRepresentable as exc:
            return str(exc)
        return None

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

    # ---- checkout ----------------------------------------------------------------------

    def callback_url(self, ctx: GatewayContext, payment: PaymentView) -> str:
        return (f"{ctx.public_base_url.rstrip('/')}/gateways/{self.slug}/callback/"
                f"{payment.transaction_id}")

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        """Send the customer to the payment's payable link, creating one if there is none.
        A link that may have taken money is never replaced: the page offers to check it."""
        n = 0
        if payment.provider_reference:
            try:
                link = await self._link(ctx, payment.provider_reference)
            except RazorpayRefused:
                link = None
            if link is not None:
                status = provider_status(LinkStatus, link.get("status"))
                if status is LinkStatus.CREATED and self._matches(link, payment):
                    return self._view(link)
                if status not in (LinkStatus.CANCELLED, LinkStatus.EXPIRED,
                                  LinkStatus.CREATED):
                    return CheckoutView(template="checkout.html", context={
                        "confirm_url": self.callback_url(ctx, payment)})
                n = (mapping.link_number(str(link.get("reference_id") or ""),
                                         payment.transaction_id) or 0) + 1
        for attempt in range(n, n + NEW_LINK_TRIES):
            view = await self._create(ctx, payment, attempt)
            if view is not None:
                return view
        raise GatewayError("Razorpay holds only closed links for this payment's references",
                           retryable=False, may_have_acted=False)

    def _matches(self, link: Mapping[str, Any], payment: PaymentView) -> bool:
        return (link.get("amount") == payment.amount_minor
                and str(link.get("currency") or "").upper() == payment.currency.upper())

    def _view(self, link: Mapping[str, Any]) -> CheckoutView:
        url = str(link.get("short_url") or "")
        origin = url_origin(url)
        if origin is None or not link.get("id"):
            raise GatewayError("Razorpay answered a payment link without a short_url",
                               retryable=False, may_have_acted=True)
        return CheckoutView(template="checkout.html", context={"payment_url": url},
                            redirect_url=url, provider_reference=str(link["id"]),
                            form_origins=(origin,))

    def _expire_by(self, payment: PaymentView) -> int:
        now = datetime.now(UTC)
        at = min(max(payment.expires_at, now + LINK_MIN_LIFETIME), now + LINK_MAX_LIFETIME)
        return int(at.timestamp())

    async def _create(self, ctx: GatewayContext, payment: PaymentView,
                      n: int) -> CheckoutView | None:
        """A new link with the ``n``-th reference; None when that reference is taken by a
        closed link (try the next one)."""
        reference = mapping.reference_for(payment.transaction_id, n)
        if len(reference) > mapping.MAX_REFERENCE:
            raise GatewayError("transaction id too long for Razorpay's reference_id",
                               retryable=False, may_have_acted=False)
        customer = {"name": payment.customer_name[:100], "email": payment.customer_email}
        if payment.customer_phone:
            customer["contact"] = payment.customer_phone[:20]
        body = {
            "amount": mapping.to_razorpay_amount(payment.amount_minor, payment.currency),
            "currency": payment.currency.upper(),
            "accept_partial": False,
            "reference_id": reference,
            "description": (payment.description or f"Order {payment.order_id}")[:2048],
            "customer": customer,
            "notify": {"sms": False, "email": False},
            "reminder_enable": False,
            "notes": {"ownpay_transaction_id": payment.transaction_id,
                      "order_id": payment.order_id[:256]},
            "callback_url": self.callback_url(ctx, payment),
            "callback_method": "get",
            "expire_by": self._expire_by(payment),
        }
        try:
            link = await client.call(ctx, "create link", "POST", client.PAYMENT_LINKS,
                                     body=body)
        except RazorpayRefused as exc:
            # The reference may exist already: an earlier answer of ours that was lost.
            existing = await self._by_reference(ctx, reference) if exc.status == 400 else None
            if existing is None:
                log.warning("razorpay_link_refused", payment_id=payment.transaction_id,
                            said=exc.said)
                raise GatewayError(f"Razorpay refused the payment link: {exc.said}",
                                   retryable=False, may_have_acted=False) from exc
            status = provider_status(LinkStatus, existing.get("status"))
            if status is LinkStatus.CREATED and self._matches(existing, payment):
                return self._view(existing)
            if status in (LinkStatus.CANCELLED, LinkStatus.EXPIRED):
                return None
            return CheckoutView(template="checkout.html", context={
                "confirm_url": self.callback_url(ctx, payment)},
                provider_reference=str(existing.get("id") or "") or None)
        return self._view(link)

    async def _link(self, ctx: GatewayContext, link_id: str) -> dict[str, Any]:
        return await client.call(ctx, "fetch link", "GET",
                                 f"{client.PAYMENT_LINKS}/{path_id(link_id)}")

    async def _by_reference(self, ctx: GatewayContext, reference: str) -> dict[str, Any] | None:
        data = await client.call(ctx, "links by reference", "GET", client.PAYMENT_LINKS,
                                 query={"reference_id": reference})
        rows = data.get("payment_links")
        found = [r for r in rows if isinstance(r, dict)
                 and r.get("reference_id") == reference] if isinstance(rows, list) else []
        return found[0] if found else None

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """The browser back from Razorpay.  A correctly signed callback names the link to
        ask about; an unsigned or forged one is answered only from our own link."""
        signature = str(params.get("razorpay_signature") or "")
        link_id = str(params.get("razorpay_payment_link_id") or "")
        reference = str(params.get("razorpay_payment_link_reference_id") or "")
        expected = mapping.callback_signature(ctx.credentials.get("key_secret", ""), params)
        signed = bool(signature) and hmac.compare_digest(expected.encode(),
                                                         signature.encode())
        ours = mapping.link_number(reference, payment.transaction_id) is not None
        if not (signed and ours and link_id):
            if signature:
                log.warning("razorpay_return_unsigned", payment_id=payment.transaction_id)
            asked = await self.query_status(ctx, payment)
            return asked if asked.outcome is Outcome.SUCCEEDED else VerifiedResult(
                outcome=Outcome.PENDING, provider_reference=payment.provider_reference,
                reason=f"return without a valid Razorpay signature; {asked.reason}"[:480])
        return await self.query_status(ctx, replace(payment, provider_reference=link_id))

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        """Razorpay's word: the payment's link and, when it says paid, the payment."""
        if payment.provider_reference:
            try:
                link: dict[str, Any] | None = await self._link(ctx, payment.provider_reference)
            except RazorpayRefused as exc:
                return VerifiedResult(outcome=Outcome.UNKNOWN,
                                      provider_reference=payment.provider_reference,
                                      reason=f"{exc} (status query)"[:480])
        else:
            link = await self._by_reference(ctx, payment.transaction_id)
        if link is None:
            return VerifiedResult(outcome=Outcome.PENDING,
                                  reason="Razorpay holds no link for this payment")
        captured = None
        if provider_status(LinkStatus, link.get("status")) is LinkStatus.PAID:
            payment_id = mapping.captured_payment_id(link)
            if payment_id:
                captured = await client.call(ctx, "fetch payment", "GET",
                                             f"{client.PAYMENTS}/{path_id(payment_id)}")
        return mapping.map_link(link, captured, operation="status query")

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """Cancel the payable link before the payment expires, unless it was paid."""
        asked = await self.query_status(ctx, payment)
        if asked.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING, Outcome.UNKNOWN):
            return asked
        link_id = asked.provider_reference
        if asked.outcome is Outcome.PENDING and link_id:
            try:
                data = await client.call(ctx, "cancel link", "POST",
                                         f"{client.PAYMENT_LINKS}/{path_id(link_id)}/cancel")
                closed = data.get("status") == LinkStatus.CANCELLED
            except RazorpayRefused:
                closed = False  # paid (or closed) meanwhile: ask again
            if not closed:
                again = await self.query_status(ctx, payment)
                if again.outcome is Outcome.PENDING:
                    return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=link_id,
                                          reason="Razorpay link still payable after cancel")
                if again.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING, Outcome.UNKNOWN):
                    return again
        return VerifiedResult(outcome=Outcome.CANCELLED, provider_reference=link_id,
                              reason=f"Razorpay link closed ({asked.reason})"[:480])

    # ---- webhooks ----------------------------------------------------------------------

    async def parse_webhook(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        secret = ctx.credentials.get("webhook_secret", "")
        if not secret:
            raise WebhookRejected("no Razorpay webhook secret is configured")
        signature = _header(headers, "x-razorpay-signature")
        if not signature or not hmac.compare_digest(
                mapping.webhook_signature(secret, body).encode(), signature.encode()):
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
        wrapper = payload.get("payment_link") if isinstance(payload, dict) else None
        link = wrapper.get("entity") if isinstance(wrapper, dict) else None
        if event.startswith("payment_link.") and isinstance(link, dict) and link.get("id"):
            reference = str(link.get("reference_id") or "")
            return ProviderEvent(
                event_id=event_id, type=event, provider_reference=str(link["id"])[:100],
                reference=mapping.transaction_of(reference) or None,
                kind=ProviderEventKind.PAYMENT,
                details={"status": str(link.get("status") or "")[:30]},
            )
        return ProviderEvent(event_id=event_id, type=event or "unknown",
                             kind=ProviderEventKind.IGNORED,
                             details={"note": "only payment_link.* events are acted on"})

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
