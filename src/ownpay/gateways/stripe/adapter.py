"""``stripe``: card payments with Stripe.js Elements on our own checkout page.

Flow: opening the checkout page creates (or reuses) one Stripe PaymentIntent per payment --
the transaction id is both the Stripe idempotency key and ``metadata.transaction_id`` -- and
renders a card form.  Stripe.js confirms the PaymentIntent in the browser with its client
secret (3-D Secure included) and then sends the customer to ``/checkout/{id}/return``.  Only
a server-side retrieve that says ``succeeded`` with our amount, currency and transaction id
completes the payment (the payments service checks them); signed provider webhooks and the
worker's reconciliation use the same retrieve.

The package: ``mapping`` (pure: amounts in Stripe's unit, every status mapped), ``client``
(the SDK over the provider executor), ``webhooks`` (signature and event kinds), ``config``
(the account's fields and their shapes); this module does the calls and decides the flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import stripe
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
    ProviderRefund,
    RefundResult,
    VerifiedResult,
    amount_refusal,
)
from ownpay.gateways.stripe import config, mapping, webhooks
from ownpay.gateways.stripe.client import as_dict, call, client, replayed, send
from ownpay.gateways.stripe.mapping import (
    AmountNotRepresentable,
    from_stripe_amount,
    metadata,
    text,
    to_stripe_amount,
)
from ownpay.i18n import N_

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams, RefundCreateParams, RefundListParams

__all__ = ["AmountNotRepresentable", "StripeGateway", "from_stripe_amount", "to_stripe_amount"]

log = structlog.get_logger("ownpay.gateways.stripe")

_REFUND_PAGES = 10  # at most 1,000 refunds of one payment are read per listing
_NO_INTENT = "payment has no Stripe PaymentIntent"


class StripeGateway(Gateway):
    slug = "stripe"
    display_name = N_("Card (Stripe)")  # translated where customers read it
    templates = Path(__file__).parent / "templates"
    static = Path(__file__).parent / "static"
    credential_fields: ClassVar[tuple[ConfigField, ...]] = config.CREDENTIAL_FIELDS
    supports_refunds = True
    supports_refund_query = True
    idempotent_refunds = True  # our refund id is the Stripe idempotency key
    supports_status_query = True
    supports_refund_listing = True
    supports_webhooks = True
    works_without_javascript = False

    # The pure mappings, reachable from the adapter (and its tests) as before.
    map_payment_intent = staticmethod(mapping.map_payment_intent)
    map_refund = staticmethod(mapping.map_refund)

    # ---- configuration -------------------------------------------------------------------

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Check shapes only (prefixes, URLs): enabling never calls Stripe."""
        creds, out = super().validate_config(credentials, settings)
        errors = config.check(creds)
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        """The same conversion the charge and the refunds use, so the rule lives once."""
        return amount_refusal(to_stripe_amount, AmountNotRepresentable, amount_minor, currency)

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

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
        pi_id = text(pi.get("id"))
        if not mapping.matches(pi, payment):
            # Our stored PaymentIntent was changed at Stripe: never collect money on it.
            raise GatewayError(f"Stripe PaymentIntent {pi_id} does not match the payment",
                               retryable=False)
        if mapping.is_paid_or_paying(pi):
            # Paid already (e.g. the customer reloads before we heard of it): verify now.
            return CheckoutView(
                redirect_url=f"{ctx.checkout_url}/return?payment_intent={pi_id}",
                provider_reference=pi_id,
            )
        js_url = ctx.credentials.get("js_url") or config.DEFAULT_JS_URL
        return CheckoutView(
            template="checkout.html",
            context={
                "client_secret": text(pi.get("client_secret")),
                "publishable_key": ctx.credentials.get("publishable_key", ""),
                "js_url": js_url,
                "return_url": f"/checkout/{payment.transaction_id}/return",
                "customer_name": payment.customer_name,
                "customer_email": payment.customer_email,
            },
            provider_reference=pi_id,
            script_origins=config.script_origins(js_url),
            needs_javascript=True,
        )

    @staticmethod
    def _unavailable(message: str) -> CheckoutView:
        return CheckoutView(template="checkout.html", context={"unavailable": message})

    async def _payment_intent(self, ctx: GatewayContext, payment: PaymentView) -> dict[str, Any]:
        """The payment's PaymentIntent: the stored one if still usable, else a new one."""
        sdk = client(ctx)
        replaces: str | None = None
        if payment.provider_reference:
            try:
                pi = await call("retrieve", sdk.v1.payment_intents.retrieve_async(
                    payment.provider_reference))
            except stripe.InvalidRequestError:
                pi = None  # gone (e.g. other Stripe account configured since)
            if pi is not None and not mapping.is_canceled(pi):
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
        created = await send("create", sdk.v1.payment_intents.create_async(
            params, {"idempotency_key": key}))
        pi = as_dict("create", created)
        if replayed(created):
            # An idempotent replay returns the first answer, which may be stale by now.
            pi = await call("retrieve", sdk.v1.payment_intents.retrieve_async(
                text(pi.get("id"))))
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
            pi = await call("retrieve", client(ctx).v1.payment_intents.retrieve_async(
                payment.provider_reference))
        except stripe.InvalidRequestError as exc:
            return VerifiedResult(
                outcome=Outcome.UNKNOWN, provider_reference=payment.provider_reference,
                reason=f"Stripe retrieve refused: {exc.code or exc.http_status}",
            )
        return mapping.map_payment_intent(pi, payment)

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """Cancel the PaymentIntent before our link expires it: a customer still in 3-D
        Secure can then no longer complete it.  Stripe refuses to cancel one that succeeded
        (or is processing) meanwhile; its current state then decides."""
        pi_id = payment.provider_reference
        if not pi_id:
            return VerifiedResult(outcome=Outcome.CANCELLED, reason="no Stripe PaymentIntent")
        sdk = client(ctx)
        try:
            pi = await call("cancel", sdk.v1.payment_intents.cancel_async(pi_id))
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return VerifiedResult(
                    outcome=Outcome.CANCELLED, provider_reference=pi_id,
                    reason=f"Stripe has no PaymentIntent {pi_id} on this account",
                )
            log.info("stripe_cancel_refused", payment_id=payment.transaction_id,
                     code=exc.code, status=exc.http_status)
            try:
                pi = await call("retrieve", sdk.v1.payment_intents.retrieve_async(pi_id))
            except stripe.InvalidRequestError as again:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=pi_id,
                    reason=f"Stripe refused to cancel {pi_id} and to show it: "
                           f"{again.code or again.http_status}",
                )
        if mapping.is_canceled(pi):
            return VerifiedResult(
                outcome=Outcome.CANCELLED, provider_reference=pi_id,
                reason=f"Stripe PaymentIntent {pi_id} canceled",
            )
        result = mapping.map_payment_intent(pi, payment)
        if result.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING):
            return result
        return VerifiedResult(
            outcome=Outcome.UNKNOWN, provider_reference=pi_id,
            reason=f"Stripe did not cancel PaymentIntent {pi_id} "
                   f"(status {text(pi.get('status'))!r})",
        )

    # ---- provider webhooks ---------------------------------------------------------------

    async def parse_webhook(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        return webhooks.parse_event(secret=ctx.credentials.get("webhook_secret", ""),
                                    mode=ctx.mode, headers=headers, body=body)

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
        meta = {"refund_id": refund_id, "transaction_id": payment.transaction_id}
        if reason:
            meta["reason"] = reason[:500]
        params: RefundCreateParams = {
            "payment_intent": payment.provider_reference, "amount": amount, "metadata": meta,
        }
        try:
            data = await call("refund", client(ctx).v1.refunds.create_async(
                params, {"idempotency_key": refund_id}))
        except stripe.IdempotencyError as exc:
            raise GatewayError("Stripe saw this refund id with other parameters",
                               retryable=False) from exc
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            return RefundResult(outcome=Outcome.FAILED,
                                reason=f"Stripe refused the refund: {exc.code or exc.http_status}"
                                       f" ({exc.user_message or ''})"[:500])
        return mapping.map_refund(data)

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
        sdk = client(ctx)
        if provider_refund_id:
            try:
                data = await call("refund status", sdk.v1.refunds.retrieve_async(
                    provider_refund_id))
            except stripe.InvalidRequestError as exc:
                return RefundResult(outcome=Outcome.UNKNOWN,
                                    reason=f"Stripe refund lookup refused: {exc.code}")
            return mapping.map_refund(data)
        if not payment.provider_reference:
            return RefundResult(outcome=Outcome.FAILED, reason=_NO_INTENT)
        try:
            listing = await call("refund list", sdk.v1.refunds.list_async(
                {"payment_intent": payment.provider_reference, "limit": 100}))
        except stripe.InvalidRequestError as exc:
            return RefundResult(outcome=Outcome.UNKNOWN,
                                reason=f"Stripe refund lookup refused: {exc.code}")
        for item in listing.get("data") or []:
            if isinstance(item, Mapping) and metadata(item).get("refund_id") == refund_id:
                return mapping.map_refund(item)
        return RefundResult(outcome=Outcome.UNKNOWN,
                            reason="Stripe has no refund with this id (yet)")

    async def list_refunds(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> list[ProviderRefund]:
        """``GET /v1/refunds?payment_intent=…``, every page (bounded): refunds made in
        Stripe's dashboard included.  Ours carry our refund id in their metadata."""
        if not payment.provider_reference:
            return []
        sdk = client(ctx)
        found: list[ProviderRefund] = []
        params: RefundListParams = {"payment_intent": payment.provider_reference, "limit": 100}
        for _ in range(_REFUND_PAGES):
            try:
                page = await call("refund list", sdk.v1.refunds.list_async(params))
            except stripe.InvalidRequestError as exc:
                raise GatewayError(f"Stripe refund listing refused: {exc.code or exc.http_status}",
                                   retryable=False) from exc
            items = [item for item in page.get("data") or [] if isinstance(item, Mapping)]
            found.extend(r for r in map(mapping.provider_refund, items) if r is not None)
            if not page.get("has_more") or not items:
                break
            params = {**params, "starting_after": text(items[-1].get("id"))}
        return found


ADAPTER = StripeGateway()
