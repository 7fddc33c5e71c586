"""``paypal``: PayPal Checkout through Orders v2 (create → the payer approves at PayPal →
we capture), with webhooks verified by PayPal and refunds on the capture.

Flow: :meth:`PayPalGateway.start_checkout` creates an order (intent ``CAPTURE``, one
purchase unit whose ``custom_id`` and ``invoice_id`` are our transaction id, the amount in
PayPal's decimal string; ``payment_source.paypal.experience_context`` with our return and
cancel URLs, ``user_action`` ``PAY_NOW``, no shipping) and sends the customer to its
``payer-action`` link.  PayPal sends the browser back to the return URL with
``token`` (the order id) and ``PayerID``, or to the cancel URL.  Neither decides anything:
:meth:`query_status` GETs *our* stored order and, when it is ``APPROVED``, captures it
(``PayPal-Request-Id`` derived from the order id, so two captures -- a return and a webhook
at once -- move money once); only a ``COMPLETED`` capture completes the payment, with its
amount, currency and ``custom_id`` checked against the intent by the core.

An order approved but never captured (the customer closed the tab on the way back) is
captured by the next status query -- the ``CHECKOUT.ORDER.APPROVED`` webhook, the expiry
sweep's question before expiring, reconciliation -- as long as our payment is still
``pending`` or ``processing``; an order of a payment that is over (cancelled, expired,
failed) is never captured, and PayPal voids it by itself.  Nothing else can take money from
an order: only the merchant's capture does, so cancelling at expiry has nothing to do.

The package: ``mapping`` (pure: amounts, statuses, errors), ``client`` (the SDK over the
provider executor, tokens, webhook verification); this module decides the flow.

Size: it is the one class the adapter contract asks for (configuration, checkout, return,
status, webhooks, refunds), and every part decides from the same order and capture reads;
what is pure or does I/O already lives in ``mapping`` and ``client``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
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
    provider_status,
    stripped_config,
    url_origin,
)
from ownpay.gateways.paypal import client, mapping
from ownpay.gateways.paypal.client import LIVE_URL, SANDBOX_URL, PayPalRefused
from ownpay.gateways.paypal.mapping import AmountNotRepresentable, OrderStatus, RefundStatus

__all__ = ["LIVE_URL", "SANDBOX_URL", "PayPalGateway", "PayPalRefused"]

log = structlog.get_logger("ownpay.gateways.paypal")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_WEBHOOK_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_HEADERS = {
    "transmission_id": "paypal-transmission-id",
    "transmission_time": "paypal-transmission-time",
    "transmission_sig": "paypal-transmission-sig",
    "cert_url": "paypal-cert-url",
    "auth_algo": "paypal-auth-algo",
}
LIVE_STATUSES = ("pending", "processing")  # a payment whose approved order we may capture


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


def capture_request_id(order_id: str) -> str:
    """The capture's PayPal-Request-Id: one per order, so a repeated capture is a replay."""
    return f"ownpay-capture-{order_id}"[:108]


def refund_request_id(refund_id: str) -> str:
    return f"ownpay-refund-{refund_id}"[:108]


class PayPalGateway(Gateway):
    slug = "paypal"
    display_name = "PayPal"
    templates = Path(__file__).parent / "templates"
    currencies: ClassVar[frozenset[str] | None] = mapping.CURRENCIES
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("client_id", "Client ID", secret=False,
                    help="the REST app's client id (sandbox app in test mode)"),
        ConfigField("client_secret", "Client secret"),
        ConfigField("webhook_id", "Webhook ID", secret=False, required=False,
                    help="the id PayPal gave the webhook set up for this app; without it "
                    "webhooks are refused"),
    )
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("base_url", "API base URL", secret=False, required=False,
                    help=f"default {SANDBOX_URL} (test) / {LIVE_URL} (live); "
                    "e.g. a stand-in for tests"),
    )
    supports_status_query = True
    supports_webhooks = True
    supports_refunds = True
    supports_refund_query = True
    supports_refund_listing = True  # the order lists its refunds; ours carry our ids
    idempotent_refunds = True  # PayPal-Request-Id from our refund id: the money moves once

    # ---- configuration -----------------------------------------------------------------

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(*stripped_config(credentials, settings))
        errors: dict[str, list[str]] = {}
        if not _CLIENT_ID.match(creds.get("client_id", "")):
            errors["client_id"] = ["Client ID is the REST app's client id (letters, digits, "
                                   "- and _)."]
        if len(creds.get("client_secret", "")) < 16:
            errors["client_secret"] = ["Client secret is the REST app's secret."]
        webhook_id = creds.get("webhook_id", "")
        if not webhook_id:
            creds.pop("webhook_id", None)
        elif not _WEBHOOK_ID.match(webhook_id):
            errors["webhook_id"] = ["Webhook ID is the id PayPal shows for the webhook "
                                    "(letters and digits)."]
        check_url_setting(out, errors, "base_url",
                          "API base URL must be an absolute http(s) URL.", userinfo_ok=False)
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        return amount_refusal(mapping.to_paypal_amount, AmountNotRepresentable,
                              amount_minor, currency)

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

    # ---- checkout ----------------------------------------------------------------------

    def callback_url(self, ctx: GatewayContext, payment: PaymentView) -> str:
        return gateway_url(ctx, self.slug, "callback", payment.transaction_id)

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        """Send the customer to the payment's approvable order, creating one if needed.  An
        order that is approved or paid is never replaced: the page offers to check it."""
        if payment.provider_reference:
            try:
                order: dict[str, Any] | None = await self._order(ctx,
                                                                 payment.provider_reference)
            except PayPalRefused:
                order = None  # expired and gone at PayPal: a new one
            if order is not None:
                status = provider_status(OrderStatus, order.get("status"))
                if (status in (OrderStatus.CREATED, OrderStatus.PAYER_ACTION_REQUIRED)
                        and self._matches(order, payment) and mapping.approve_link(order)):
                    return self._view(order)
                if status is not OrderStatus.VOIDED:
                    return CheckoutView(template="checkout.html", context={
                        "confirm_url": self.callback_url(ctx, payment)})
        return await self._create(ctx, payment)

    def _matches(self, order: Mapping[str, Any], payment: PaymentView) -> bool:
        amount = mapping.purchase_unit(order).get("amount")
        if not isinstance(amount, Mapping):
            return False
        return (mapping.from_paypal_amount(amount.get("value"),
                                           str(amount.get("currency_code") or ""))
                == payment.amount_minor
                and str(amount.get("currency_code") or "").upper() == payment.currency.upper()
                and mapping.order_reference(order) == payment.transaction_id)

    def _view(self, order: Mapping[str, Any]) -> CheckoutView:
        url = mapping.approve_link(order) or ""
        origin = url_origin(url)
        if origin is None or not order.get("id"):
            raise GatewayError("PayPal answered an order without an approve link",
                               retryable=False, may_have_acted=True)
        return CheckoutView(template="checkout.html", context={"payment_url": url},
                            redirect_url=url, provider_reference=str(order["id"]),
                            form_origins=(origin,))

    async def _create(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        if len(payment.transaction_id) > mapping.MAX_ID:
            raise GatewayError("transaction id too long for PayPal's custom_id",
                               retryable=False, may_have_acted=False)
        back = self.callback_url(ctx, payment)
        unit: dict[str, Any] = {
            "reference_id": payment.transaction_id[:256],
            "custom_id": payment.transaction_id,
            "invoice_id": payment.transaction_id,
            "description": (payment.description or f"Order {payment.order_id}")[:127],
            "amount": {"currency_code": payment.currency.upper(),
                       "value": mapping.to_paypal_amount(payment.amount_minor,
                                                         payment.currency)},
        }
        body = {
            "intent": "CAPTURE",
            "purchase_units": [unit],
            "payment_source": {"paypal": {"experience_context": {
                "return_url": back, "cancel_url": f"{back}?cancelled=1",
                "user_action": "PAY_NOW", "shipping_preference": "NO_SHIPPING",
                "landing_page": "LOGIN",
            }}},
        }
        # A fresh request id: an order whose answer was lost is an orphan nobody can
        # capture (only we capture), never money taken.
        request_id = f"ownpay-order-{uuid.uuid4()}"
        try:
            order = await client.call(ctx, "create order", lambda sdk: sdk.orders.create_order(
                {"body": json.dumps(body), "paypal_request_id": request_id,
                 "prefer": "return=representation"}), write=True)
        except PayPalRefused as exc:
            log.warning("paypal_order_refused", payment_id=payment.transaction_id,
                        issue=exc.issue)
            raise GatewayError(f"PayPal refused the order: {exc.issue}",
                               retryable=False, may_have_acted=False) from exc
        return self._view(order)

    async def _order(self, ctx: GatewayContext, order_id: str) -> dict[str, Any]:
        return await client.call(ctx, "get order",
                                 lambda sdk: sdk.orders.get_order({"id": order_id}),
                                 write=False)

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """The browser back from PayPal.  ``token`` is only a hint: our own stored order is
        asked (and captured when approved); the cancel URL cancels only an order PayPal
        says nobody approved."""
        token = str(params.get("token") or "")
        if token and token != payment.provider_reference:
            log.warning("paypal_return_other_order", payment_id=payment.transaction_id)
        result = await self.query_status(ctx, payment)
        if "cancelled" in params and result.outcome is Outcome.PENDING:
            return VerifiedResult(outcome=Outcome.CANCELLED,
                                  provider_reference=result.provider_reference,
                                  reason=f"customer cancelled at PayPal; {result.reason}"[:480],
                                  customer_message=mapping.CANCELLED_MESSAGE)
        return result

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        """PayPal's word on our order; an approved order of a live payment is captured."""
        order_id = payment.provider_reference
        if not order_id:
            return VerifiedResult(outcome=Outcome.PENDING, reason="no PayPal order yet")
        try:
            order = await self._order(ctx, order_id)
        except PayPalRefused as exc:
            if exc.status == 404:
                return VerifiedResult(outcome=Outcome.PENDING, provider_reference=order_id,
                                      reason=f"PayPal no longer has order {order_id} "
                                      "(never captured)")
            return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                                  reason=f"{exc} (status query)"[:480])
        result = mapping.map_order(order, operation="status query")
        if result.outcome is Outcome.AUTHORIZED and payment.status in LIVE_STATUSES:
            if not self._matches(order, payment):
                return VerifiedResult(outcome=Outcome.UNKNOWN, provider_reference=order_id,
                                      reason=f"PayPal order {order_id} approved with figures "
                                      "that do not match the payment: not captured")
            return await self._capture(ctx, order_id)
        return result

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """Before a pending payment expires: an order approved meanwhile is captured (the
        payer approved in time; :meth:`query_status` does it), anything else is left to
        PayPal, which voids it by itself -- no one but us can capture it, and we never
        capture for a payment that is over."""
        asked = await self.query_status(ctx, payment)
        if asked.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING, Outcome.UNKNOWN):
            return asked
        return VerifiedResult(outcome=Outcome.CANCELLED,
                              provider_reference=payment.provider_reference,
                              reason=f"PayPal order never captured ({asked.reason})"[:480])

    async def _capture(self, ctx: GatewayContext, order_id: str) -> VerifiedResult:
        try:
            order = await client.call(ctx, "capture", lambda sdk: sdk.orders.capture_order(
                {"id": order_id, "paypal_request_id": capture_request_id(order_id),
                 "prefer": "return=representation"}), write=True)
        except PayPalRefused as exc:
            refused = mapping.capture_refused(exc.issue, order_id=order_id, said=exc.said)
            if refused.outcome is not Outcome.UNKNOWN:
                return refused
            order = await self._order(ctx, order_id)  # already captured/voided: ask again
        return mapping.map_order(order, operation="capture")

    # ---- webhooks ----------------------------------------------------------------------

    async def parse_webhook(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        webhook_id = ctx.credentials.get("webhook_id", "")
        if not webhook_id:
            raise WebhookRejected("no PayPal webhook id is configured")
        fields = {name: _header(headers, header)[:500] for name, header in _HEADERS.items()}
        missing = [h for name, h in _HEADERS.items() if not fields[name]]
        if missing:
            raise WebhookRejected(f"PayPal webhook without {', '.join(missing)}")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected("PayPal webhook is not JSON") from exc
        if not isinstance(data, dict) or not data.get("id"):
            raise WebhookRejected("PayPal webhook is not an event object")
        fields["webhook_id"] = webhook_id
        try:
            status = await client.verify_webhook(ctx, fields, body)
        except GatewayError as exc:
            # Unverified is refused: PayPal redelivers a webhook that was not answered 2xx
            # (with backoff, for days), and reconciliation does not need it.
            raise WebhookRejected(f"PayPal could not verify the webhook now: {exc}") from exc
        if status != "SUCCESS":
            raise WebhookRejected(f"PayPal did not verify the webhook: {status}")
        return self._event(data)

    def _event(self, data: Mapping[str, Any]) -> ProviderEvent:
        event_id = str(data["id"])[:100]
        kind = str(data.get("event_type") or "unknown")[:60]
        resource = data.get("resource")
        resource = resource if isinstance(resource, Mapping) else {}
        resource_type = str(data.get("resource_type") or "")
        if kind.startswith("CHECKOUT.ORDER.") and resource_type == "checkout-order":
            return ProviderEvent(event_id=event_id, type=kind,
                                 provider_reference=str(resource.get("id") or "")[:100] or None,
                                 reference=mapping.order_reference(resource),
                                 details={"status": str(resource.get("status") or "")[:30]})
        if kind in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED",
                    "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DECLINED"):
            related = resource.get("supplementary_data")
            ids = related.get("related_ids") if isinstance(related, Mapping) else None
            order_id = ids.get("order_id") if isinstance(ids, Mapping) else None
            return ProviderEvent(event_id=event_id, type=kind,
                                 provider_reference=str(order_id)[:100] if order_id else None,
                                 reference=str(resource.get("custom_id") or "")[:100] or None,
                                 details={"capture_id": str(resource.get("id") or "")[:40],
                                          "status": str(resource.get("status") or "")[:30]})
        if kind in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
            amount = resource.get("amount")
            amount = amount if isinstance(amount, Mapping) else {}
            currency = str(amount.get("currency_code") or "")
            return ProviderEvent(
                event_id=event_id, type=kind, kind=ProviderEventKind.REFUND,
                reference=str(resource.get("custom_id") or "")[:100] or None,
                details={"refund_id": str(resource.get("id") or "")[:40],
                         "status": str(resource.get("status") or "")[:30],
                         "amount_minor": mapping.from_paypal_amount(amount.get("value"),
                                                                    currency),
                         "currency": currency[:3]})
        return ProviderEvent(event_id=event_id, type=kind, kind=ProviderEventKind.IGNORED,
                             details={"note": "only order, capture and refund events are "
                                      "acted on"})

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
        """Refund (part of) the capture, idempotent by our refund id."""
        capture_id = payment.provider_txn_id
        if not capture_id:
            return RefundResult(outcome=Outcome.FAILED,
                                reason="no PayPal capture id on the payment")
        try:
            value = mapping.to_paypal_amount(amount_minor, payment.currency)
        except AmountNotRepresentable as exc:
            return RefundResult(outcome=Outcome.FAILED, reason=f"PayPal: {exc}")
        body: dict[str, Any] = {
            "amount": {"currency_code": payment.currency.upper(), "value": value},
            "custom_id": payment.transaction_id, "invoice_id": refund_id[:127],
        }
        if reason:
            body["note_to_payer"] = " ".join(reason.split())[:255]
        try:
            refund = await client.call(
                ctx, "refund", lambda sdk: sdk.payments.refund_captured_payment({
                    "capture_id": capture_id, "body": json.dumps(body),
                    "paypal_request_id": refund_request_id(refund_id),
                    "prefer": "return=representation"}), write=True)
        except PayPalRefused as exc:
            why = mapping.REFUND_ISSUES.get(exc.issue, exc.said)
            return RefundResult(outcome=Outcome.FAILED,
                                reason=f"PayPal refused the refund: {exc.issue} ({why})"[:480])
        return self._refund_result(refund)

    def _refund_result(self, refund: Mapping[str, Any]) -> RefundResult:
        status = provider_status(RefundStatus, refund.get("status"))
        return RefundResult(outcome=mapping.refund_outcome(status),
                            provider_refund_id=str(refund.get("id") or "") or None,
                            reason=mapping.refund_reason(refund)[:480])

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        if not provider_refund_id:
            return await self._refund_by_ours(ctx, payment, refund_id)
        try:
            refund = await client.call(ctx, "get refund", lambda sdk: sdk.payments.get_refund(
                {"refund_id": provider_refund_id}), write=False)
        except PayPalRefused as exc:
            return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=provider_refund_id,
                                reason=f"{exc} (refund query)"[:480])
        return self._refund_result(refund)

    async def _refund_by_ours(self, ctx: GatewayContext, payment: PaymentView,
                              refund_id: str) -> RefundResult:
        """A refund whose answer was lost, found by our id (its ``invoice_id``) among the
        refunds PayPal lists on the order; UNKNOWN when it is not there (the core then
        sends it again with the same PayPal-Request-Id, which moves the money once)."""
        if not payment.provider_reference:
            return RefundResult(outcome=Outcome.UNKNOWN, reason="no PayPal order to ask")
        try:
            order = await self._order(ctx, payment.provider_reference)
        except PayPalRefused as exc:
            return RefundResult(outcome=Outcome.UNKNOWN, reason=f"{exc} (refund query)"[:480])
        for refund in mapping.order_refunds(order):
            if refund.get("invoice_id") == refund_id[:127]:
                return self._refund_result(refund)
        return RefundResult(outcome=Outcome.UNKNOWN,
                            reason="PayPal lists no refund with our id on the order")

    async def list_refunds(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> list[ProviderRefund]:
        """The refunds PayPal lists on the order (ours carry our transaction id as
        ``custom_id`` and our refund id as ``invoice_id``), newest first."""
        if not payment.provider_reference:
            return []
        order = await self._order(ctx, payment.provider_reference)
        found: list[ProviderRefund] = []
        for refund in mapping.order_refunds(order):
            if not refund.get("id"):
                continue
            amount, currency = mapping.refund_amount(refund)
            ours = refund.get("custom_id") == payment.transaction_id
            found.append(ProviderRefund(
                provider_refund_id=str(refund["id"]),
                outcome=mapping.refund_outcome(provider_status(RefundStatus,
                                                               refund.get("status"))),
                amount_minor=amount, currency=currency,
                refund_id=(str(refund.get("invoice_id") or "") or None) if ours else None,
                reason=mapping.refund_reason(refund)[:480]))
        found.reverse()
        return found


ADAPTER = PayPalGateway()
