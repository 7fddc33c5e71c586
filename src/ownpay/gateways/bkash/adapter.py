"""``bkash``: bKash Tokenized Checkout (v1.2.0-beta, mode ``0011``), BDT only.

Flow: the customer presses "Pay with bKash" on our page -> :meth:`BkashGateway.submit`
creates a bKash payment (merchantInvoiceNumber = our transaction id, callbackURL = our
``/gateways/bkash/callback/{transaction_id}``) and we redirect to ``bkashURL`` -> bKash
sends the browser back with ``paymentID`` and a status hint -> for ``success`` the core
claims the payment (pending -> processing) and calls :meth:`BkashGateway.capture`
(execute) exactly once; an ambiguous execute is followed by a status query, never by a
second execute.

The package: ``mapping`` (pure: amounts, codes, every ``transactionStatus`` mapped),
``messages`` (what the customer reads per code), ``client`` (calls through the provider
executor, shared access tokens); this module decides the flow.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import structlog

from ownpay.gateways.base import (
    CheckoutView,
    ConfigField,
    ConfigInvalid,
    FormError,
    Gateway,
    GatewayContext,
    Outcome,
    PaymentView,
    RefundResult,
    VerifiedResult,
    absolute_http_url,
    amount_refusal,
    gateway_url,
    url_origin,
)
from ownpay.gateways.bkash import mapping
from ownpay.gateways.bkash.client import (
    CREATE,
    EXECUTE,
    LIVE_URL,
    REFUND,
    SANDBOX_URL,
    STATUS,
    TOKEN_STATE_KEY,
    BkashClient,
    BkashRefused,
    base_url,
)
from ownpay.gateways.bkash.mapping import (
    ALREADY_DONE,
    AMBIGUOUS,
    NOT_FOUND,
    SUCCESS,
    AmountNotRepresentable,
    to_bkash_amount,
)
from ownpay.gateways.bkash.messages import CUSTOMER_MESSAGES, GENERIC, NOT_COMPLETED
from ownpay.gateways.executor import ProviderDidNotAct, ProviderMayHaveActed, ProviderUnavailable
from ownpay.i18n import N_

__all__ = [
    "CUSTOMER_MESSAGES", "GENERIC", "LIVE_URL", "SANDBOX_URL", "TOKEN_STATE_KEY",
    "BkashGateway", "BkashRefused",
]

log = structlog.get_logger("ownpay.gateways.bkash")

# Where bKash's hosted payment pages live (``bkashURL``); our page's CSP form-action must
# allow them, because the "Pay with bKash" form is answered with a redirect there.
HOSTED_PAGE_ORIGINS = ("https://*.bkash.com", "https://*.bka.sh")


def _refund_key(refund_id: str) -> str:
    digest = hashlib.sha256(refund_id.encode()).hexdigest()[:40]
    return f"refund:{digest}"


def callback_token(ctx: GatewayContext, payment: PaymentView) -> str:
    """A MAC of this attempt (transaction id and attempt number) under the account's app
    secret: what only the callback URL we gave bKash carries."""
    secret = ctx.credentials.get("app_secret", "").encode()
    message = f"bkash-callback:{payment.transaction_id}:{payment.attempts}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


class BkashGateway(Gateway):
    slug = "bkash"
    display_name = "bKash"
    templates = Path(__file__).parent / "templates"
    currencies: ClassVar[frozenset[str] | None] = frozenset({mapping.CURRENCY})
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
        self._client = BkashClient()

    async def _token(self, ctx: GatewayContext, *, rejected: str | None = None) -> str:
        return await self._client.token(ctx, rejected=rejected)

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(
            {k: v.strip() for k, v in credentials.items()}, settings
        )
        base = creds.get("base_url") or SANDBOX_URL
        if not absolute_http_url(base, fragment_ok=True):
            raise ConfigInvalid({"base_url": ["API base URL must be an absolute http(s) URL."]})
        creds["base_url"] = base.rstrip("/")
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        """The conversion the create and the refunds use (BDT only, two decimals)."""
        return amount_refusal(to_bkash_amount, AmountNotRepresentable, amount_minor, currency)

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

    # ---- checkout ----------------------------------------------------------------------

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        origins = tuple(o for o in (*HOSTED_PAGE_ORIGINS, url_origin(base_url(ctx))) if o)
        return CheckoutView(template="checkout.html", form_origins=origins)

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        """Create a fresh bKash payment for this attempt and send the customer to bKash."""
        if payment.currency != mapping.CURRENCY:
            raise FormError({"bkash": [CUSTOMER_MESSAGES["2007"]]})
        phone = re.sub(r"[^0-9+]", "", payment.customer_phone or "")
        body = {
            "mode": "0011",
            "payerReference": phone or payment.transaction_id,
            # The token after the transaction id proves a callback came through bKash: only
            # bKash (and the customer it redirects) learns this URL.
            "callbackURL": gateway_url(ctx, self.slug, "callback", payment.transaction_id,
                                       callback_token(ctx, payment)),
            "amount": to_bkash_amount(payment.amount_minor),
            "currency": mapping.CURRENCY,
            "intent": "sale",
            "merchantInvoiceNumber": payment.transaction_id,
        }
        try:
            data = await self._client.call(ctx, CREATE, body, operation="create")
        except BkashRefused as exc:
            log.warning("bkash_create_refused", payment_id=payment.transaction_id, code=exc.code,
                        message=exc.bkash_message)
            raise FormError({"bkash": [exc.customer_message]}) from exc
        code = mapping.code(data)
        payment_id = str(data.get("paymentID") or "")
        bkash_url = str(data.get("bkashURL") or "")
        if code != SUCCESS or not payment_id or url_origin(bkash_url) is None:
            code = code or "no-paymentID"
            log.warning("bkash_create_refused", payment_id=payment.transaction_id, code=code,
                        message=mapping.message(data))
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
        if not hmac.compare_digest(params.get("return_token", ""),
                                   callback_token(ctx, payment)):
            # Not the URL we gave bKash for this attempt: someone who knows the paymentID
            # made it up.  It may not trigger an execute (bKash would refuse an unapproved
            # payment and the customer's attempt would fail); only bKash's own word counts.
            log.warning("bkash_callback_unsigned", payment_id=payment.transaction_id)
            status = await self.query_status(ctx, payment)
            return status if status.outcome is Outcome.SUCCEEDED else VerifiedResult(
                outcome=Outcome.PENDING)
        if payment.status != "pending":
            # Already claimed (execute running or done): only bKash's own word may move it.
            return await self.query_status(ctx, payment)
        hint = mapping.callback_outcome(params.get("status", ""))
        if hint is Outcome.AUTHORIZED:
            return VerifiedResult(
                outcome=Outcome.AUTHORIZED,
                provider_reference=payment_id,
                reason=f"bKash callback: customer approved bKash payment {payment_id}; "
                "executing",
            )
        if hint is Outcome.CANCELLED:
            # The customer backed out at bKash: this attempt is over, the intent stays
            # payable, and the next "Pay with bKash" creates a fresh bKash payment.
            return VerifiedResult(
                outcome=Outcome.PENDING,
                customer_message=N_("You cancelled the bKash payment. No money was taken."),
                reason=f"customer cancelled bKash payment {payment_id}",
            )
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
        ProviderMayHaveActed when the outcome is unknown (the core then asks
        ``query_status``)."""
        payment_id = payment.provider_reference or ""
        data = await self._client.call(ctx, EXECUTE, {"paymentID": payment_id},
                                       operation="execute")
        code = mapping.code(data)
        if code == SUCCESS:
            return mapping.map_payment(data, payment, operation="execute", now=datetime.now(UTC))
        message = mapping.message(data)
        if code is None or code in ALREADY_DONE or code in AMBIGUOUS:
            log.warning("bkash_execute_ambiguous", payment_id=payment.transaction_id, code=code,
                        message=message)
            raise ProviderMayHaveActed(f"bKash {code} {message} (execute)")
        return mapping.failed(code, message, "execute", payment_id)

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        payment_id = payment.provider_reference
        if not payment_id:
            return VerifiedResult(outcome=Outcome.PENDING, reason="no bKash payment yet")
        data = await self._client.call(ctx, STATUS, {"paymentID": payment_id},
                                       operation="status query")
        code = mapping.code(data)
        if code != SUCCESS:
            return VerifiedResult(
                outcome=Outcome.UNKNOWN,
                provider_reference=payment_id,
                reason=f"bKash {code} {mapping.message(data)} (status query)",
            )
        return mapping.map_payment(data, payment, operation="status query", now=datetime.now(UTC))

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
        if payment.currency != mapping.CURRENCY or not 0 < amount_minor <= payment.amount_minor:
            return RefundResult(
                outcome=Outcome.FAILED,
                reason=f"refund amount must be between 0.01 and "
                f"{mapping.to_bkash_amount(payment.amount_minor)} BDT; nothing sent to bKash",
            )
        try:
            before = await self._latest_refund(ctx, payment)
        except (BkashRefused, ProviderUnavailable) as exc:
            return RefundResult(outcome=Outcome.FAILED, reason=f"{exc}; refund not sent")
        await ctx.store.put(_refund_key(refund_id), {
            "amount_minor": amount_minor,
            "before": before.get("refundTrxID") if before else None,
        })
        body = {
            "paymentID": payment.provider_reference,
            "trxID": payment.provider_txn_id,
            "amount": to_bkash_amount(amount_minor),
            "sku": refund_id[:255] or "refund",
            "reason": " ".join((reason or "refund").split())[:255] or "refund",
        }
        try:
            data = await self._client.call(ctx, REFUND, body, operation="refund")
        except BkashRefused as exc:
            return RefundResult(outcome=Outcome.FAILED, reason=str(exc))
        except ProviderUnavailable as exc:
            outcome = Outcome.UNKNOWN if exc.may_have_acted else Outcome.FAILED
            return RefundResult(outcome=outcome, reason=str(exc))
        code = mapping.code(data)
        if code != SUCCESS:
            outcome = Outcome.UNKNOWN if code in AMBIGUOUS else Outcome.FAILED
            return RefundResult(outcome=outcome,
                                reason=f"bKash {code} {mapping.message(data)} (refund)")
        result = mapping.map_refund_reply(data, amount_minor)
        if result.outcome is Outcome.SUCCEEDED:
            await ctx.store.put(_refund_key(refund_id), {
                "amount_minor": amount_minor, "refundTrxID": result.provider_refund_id,
            })
        return result

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        """bKash's word on one of our refunds, from its refund status (the refund endpoint
        with only paymentID and trxID), which reports the latest refund of the payment
        (decided by :func:`mapping.map_refund_status`)."""
        if not payment.provider_reference or not payment.provider_txn_id:
            return RefundResult(outcome=Outcome.UNKNOWN, reason="payment has no bKash trxID")
        note = await ctx.store.get(_refund_key(refund_id)) or {}
        known = provider_refund_id or note.get("refundTrxID")
        try:
            latest = await self._latest_refund(ctx, payment)
        except ProviderUnavailable as exc:
            return RefundResult(outcome=Outcome.UNKNOWN, reason=str(exc))
        return mapping.map_refund_status(latest, note, known)

    async def _latest_refund(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> dict[str, Any] | None:
        """bKash's refund status: its latest refund of the payment, or None (2033)."""
        body = {"paymentID": payment.provider_reference, "trxID": payment.provider_txn_id}
        data = await self._client.call(ctx, REFUND, body, operation="refund status")
        code = mapping.code(data)
        if code == NOT_FOUND:  # Transaction not found: no refund yet
            return None
        if code != SUCCESS:
            raise ProviderDidNotAct(f"bKash {code} {mapping.message(data)} (refund status)")
        return data


ADAPTER = BkashGateway()
