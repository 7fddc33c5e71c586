"""``aamarpay``: aamarPay's hosted checkout (JSON payment request), BDT and USD.

Flow: the customer opens our checkout page -> :meth:`AamarpayGateway.start_checkout` sends
aamarPay a payment request (``tran_id`` = our transaction id, success/fail/cancel URLs =
our ``/gateways/aamarpay/callback/{transaction_id}/{kind}-{mac}``) and the page redirects
to the answer's ``payment_url`` -> aamarPay's page posts the browser back to one of the
three URLs (``returns_by_post``) -> :meth:`AamarpayGateway.verify_return` ignores the posted
fields and asks aamarPay's search API, whose answer alone can complete the payment (the
core then compares its amount, currency and ``mer_txnid`` with the payment).

No refunds (aamarPay publishes no refund API: refunds are made in its merchant panel) and
no webhooks (its IPN says it is signed but publishes no way to verify the signature).

The package: ``mapping`` (pure: amounts, statuses), ``messages`` (what the customer
reads), ``client`` (calls through the provider executor); this module decides the flow.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import structlog

from ownpay.gateways.aamarpay import client, mapping
from ownpay.gateways.aamarpay.client import LIVE_URL, SANDBOX_URL, AamarpayRefused
from ownpay.gateways.aamarpay.mapping import AmountNotRepresentable, ReturnKind
from ownpay.gateways.aamarpay.messages import CANCELLED, GENERIC, NEEDS_PHONE, NOT_CONFIRMED
from ownpay.gateways.base import (
    CheckoutView,
    ConfigField,
    ConfigInvalid,
    Gateway,
    GatewayContext,
    Outcome,
    PaymentView,
    VerifiedResult,
    absolute_http_url,
    amount_refusal,
    gateway_url,
    stripped_config,
    url_origin,
)

__all__ = ["LIVE_URL", "SANDBOX_URL", "AamarpayGateway", "AamarpayRefused", "return_token"]

log = structlog.get_logger("ownpay.gateways.aamarpay")


def return_token(ctx: GatewayContext, payment: PaymentView, kind: ReturnKind) -> str:
    """``{kind}-{mac}``: which URL aamarPay posted back to, with a MAC of it, the
    transaction and the attempt under the account's signature key (only the URLs we gave
    aamarPay carry it)."""
    secret = ctx.credentials.get("signature_key", "").encode()
    message = f"aamarpay-return:{payment.transaction_id}:{payment.attempts}:{kind}".encode()
    return f"{kind}-{hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]}"


def _hint(ctx: GatewayContext, payment: PaymentView, token: str) -> ReturnKind | None:
    kind, _, _mac = token.partition("-")
    for candidate in ReturnKind:
        if candidate == kind and hmac.compare_digest(
                token, return_token(ctx, payment, candidate)):
            return candidate
    return None


class AamarpayGateway(Gateway):
    slug = "aamarpay"
    display_name = "aamarPay"
    templates = Path(__file__).parent / "templates"
    currencies: ClassVar[frozenset[str] | None] = mapping.CURRENCIES
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("store_id", "Store ID", secret=False),
        ConfigField("signature_key", "Signature key"),
    )
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "base_url", "API base URL", secret=False, required=False,
            help=f"default: {SANDBOX_URL} in test mode, {LIVE_URL} in live mode",
        ),
    )
    returns_by_post = True
    supports_status_query = True

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(*stripped_config(credentials, settings))
        base = out.get("base_url")
        if base:
            if not absolute_http_url(str(base)):
                raise ConfigInvalid(
                    {"base_url": ["API base URL must be an absolute http(s) URL."]})
            out["base_url"] = str(base).rstrip("/")
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        """The conversion the payment request uses (BDT and USD, two decimals)."""
        return amount_refusal(mapping.to_aamarpay_amount, AmountNotRepresentable,
                              amount_minor, currency)

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

    # ---- checkout ----------------------------------------------------------------------

    def _return_url(self, ctx: GatewayContext, payment: PaymentView, kind: ReturnKind) -> str:
        return gateway_url(ctx, self.slug, "callback", payment.transaction_id,
                           return_token(ctx, payment, kind))

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        """Register the payment with aamarPay and send the customer to its page.  A refusal
        (credentials, a missing field) is shown on our page with what the customer can do;
        aamarPay unreachable raises the executor's GatewayError ("temporarily
        unavailable")."""
        try:
            return await self._request(ctx, payment)
        except AamarpayRefused as exc:
            return CheckoutView(template="checkout.html",
                                context={"refused": exc.customer_message})

    async def _request(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        if len(payment.transaction_id) > mapping.MAX_TRAN_ID:
            raise AamarpayRefused("tran_id longer than 32 characters", GENERIC)
        if not payment.customer_phone:
            # aamarPay requires cus_phone: refused here rather than by aamarPay.
            raise AamarpayRefused("no customer phone (cus_phone is required)", NEEDS_PHONE)
        body = {
            "store_id": ctx.credentials.get("store_id", ""),
            "signature_key": ctx.credentials.get("signature_key", ""),
            "tran_id": payment.transaction_id,
            "amount": mapping.to_aamarpay_amount(payment.amount_minor, payment.currency),
            "currency": payment.currency.upper(),
            "desc": (payment.description or f"Order {payment.order_id}")[:255],
            "cus_name": payment.customer_name,
            "cus_email": payment.customer_email,
            "cus_phone": payment.customer_phone,
            "success_url": self._return_url(ctx, payment, ReturnKind.SUCCESS),
            "fail_url": self._return_url(ctx, payment, ReturnKind.FAIL),
            "cancel_url": self._return_url(ctx, payment, ReturnKind.CANCEL),
            "type": "json",
        }
        data = await client.payment_request(ctx, body)
        url = mapping.payment_url(data)
        if url is None or url_origin(url) is None:
            said = mapping.refusal(data)
            log.warning("aamarpay_request_refused", payment_id=payment.transaction_id,
                        said=said)
            raise AamarpayRefused(said, mapping.refusal_message(said))
        track = parse_qs(urlsplit(url).query).get("track", [""])[0][:64]
        origins = tuple(o for o in {url_origin(url), url_origin(client.base_url(ctx))} if o)
        return CheckoutView(
            template="checkout.html", context={"payment_url": url}, redirect_url=url,
            # aamarPay's id of the hosted session: the payment now exists there, so expiry
            # asks aamarPay first.
            provider_reference=track or payment.transaction_id,
            form_origins=origins,
        )

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """aamarPay posted the browser back.  The posted fields are never read: aamarPay's
        search API decides.  The URL it came to (success, fail, cancel; MAC-checked) only
        tells the customer what happened when aamarPay reports nothing final."""
        hint = _hint(ctx, payment, params.get("return_token", ""))
        verified = await self.query_status(ctx, payment)
        if verified.outcome in (Outcome.SUCCEEDED, Outcome.FAILED):
            return verified
        if hint is None:
            log.warning("aamarpay_return_unsigned", payment_id=payment.transaction_id)
            return VerifiedResult(outcome=Outcome.PENDING)
        detail = verified.reason or "no detail"
        match hint:
            case ReturnKind.CANCEL:
                return VerifiedResult(
                    outcome=Outcome.PENDING, customer_message=CANCELLED,
                    reason=f"aamarPay return cancel; {detail}"[:480],
                )
            case ReturnKind.FAIL:
                return VerifiedResult(
                    outcome=Outcome.PENDING, customer_message=NOT_CONFIRMED,
                    reason=f"aamarPay return fail; {detail}"[:480],
                )
            case ReturnKind.SUCCESS:
                return verified

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        data = await client.search(ctx, payment.transaction_id)
        return mapping.map_verify(data, operation="search")

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """aamarPay publishes no way to close a hosted payment: its page may still take the
        money after our link expired.  Only aamarPay's word that it failed lets the
        payment expire; otherwise it stays undecided (asked again, bounded by the core)."""
        verified = await self.query_status(ctx, payment)
        match verified.outcome:
            case Outcome.SUCCEEDED | Outcome.PROCESSING:
                return verified
            case Outcome.FAILED:
                return VerifiedResult(outcome=Outcome.CANCELLED,
                                      reason=f"nothing to cancel: {verified.reason}")
            case _:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN,
                    reason=f"aamarPay cannot close a hosted payment; {verified.reason}",
                )


ADAPTER = AamarpayGateway()
