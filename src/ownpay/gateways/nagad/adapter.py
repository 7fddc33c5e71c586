"""``nagad``: Nagad's merchant checkout (the "online payment API"), BDT only.

Flow: the customer opens our checkout page -> :meth:`NagadGateway.start_checkout`
initializes a Nagad session (``orderId`` = our transaction id's hex digits and a nonce, a
fresh one per attempt since Nagad refuses a repeated orderId), checks Nagad's signature on
the answer, completes the order on it (amount, ``currencyCode`` 050, the challenge Nagad
gave, ``merchantCallbackURL`` = our ``/gateways/nagad/callback/{transaction_id}/{mac}``)
and redirects to the ``callBackUrl`` Nagad answers -> Nagad sends the browser back with a
GET carrying ``payment_ref_id``, ``status``, ``order_id`` … -> :meth:`verify_return` treats
them as hints and asks Nagad's verify API, whose answer alone can complete the payment (the
core then compares its amount, currency and ``orderId`` with the payment).

Refunds: Nagad's purchase/cancel API (partial or full), answered synchronously.  Nagad
publishes no refund status query (a lost answer stays UNKNOWN for an operator) and no
signed payment notification (no webhooks).

The package: ``mapping`` (pure: amounts, ids, statuses), ``messages`` (what the customer
reads), ``crypto`` (RSA), ``client`` (calls through the provider executor); this module
decides the flow.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
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
    RefundResult,
    VerifiedResult,
    amount_refusal,
    check_url_setting,
    gateway_url,
    provider_status,
    stripped_config,
    url_origin,
)
from ownpay.gateways.executor import ProviderUnavailable
from ownpay.gateways.nagad import client, crypto, mapping
from ownpay.gateways.nagad.client import LIVE_URL, SANDBOX_URL, NagadRefused
from ownpay.gateways.nagad.mapping import AmountNotRepresentable, PaymentStatus
from ownpay.gateways.nagad.messages import CANCELLED, NOT_CONFIRMED

__all__ = ["LIVE_URL", "SANDBOX_URL", "NagadGateway", "NagadRefused", "return_token"]

log = structlog.get_logger("ownpay.gateways.nagad")

ENVIRONMENTS = ("sandbox", "live")
_MERCHANT_ID = re.compile(r"^\d{6,32}$")
_WALLET = re.compile(r"^(?:\+?88)?(01[3-9]\d{8})$")
_PAYMENT_REF = re.compile(r"^[A-Za-z0-9+/=._-]{8,200}$")
MAX_SESSIONS = 5  # sessions of one payment asked about (the latest ones)
# Payments Nagad still holds money of (refundable): paid, or paid and partly paid back.
_REFUNDABLE = (PaymentStatus.SUCCESS, PaymentStatus.PARTIAL_REFUNDED,
               PaymentStatus.PARTIAL_CANCELLED)


def return_token(ctx: GatewayContext, payment: PaymentView) -> str:
    """A MAC of this payment under (a digest of) the merchant's private key: what only the
    callback URLs we gave Nagad carry."""
    secret = hashlib.sha256(ctx.credentials.get("merchant_private_key", "").encode()).digest()
    message = f"nagad-return:{payment.transaction_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _sessions_key(payment: PaymentView) -> str:
    return f"sessions:{payment.transaction_id}"


class NagadGateway(Gateway):
    slug = "nagad"
    display_name = "Nagad"
    templates = Path(__file__).parent / "templates"
    currencies: ClassVar[frozenset[str] | None] = mapping.CURRENCIES
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("merchant_id", "Merchant ID", secret=False,
                    help="the merchant id Nagad issued (digits)"),
        ConfigField("merchant_number", "Merchant number", secret=False,
                    help="the merchant's Nagad wallet number, 01XXXXXXXXX"),
        ConfigField("merchant_private_key", "Merchant private key", multiline=True,
                    help="the RSA private key whose public half Nagad holds (PEM or base64)"),
        ConfigField("nagad_public_key", "Nagad public key", secret=False, multiline=True,
                    help="Nagad's RSA public key for this merchant (PEM or base64)"),
    )
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("environment", "Environment", secret=False, required=False,
                    help=f"sandbox ({SANDBOX_URL}) or live ({LIVE_URL}); default: sandbox in "
                    "test mode, live in live mode"),
        ConfigField("base_url", "API base URL", secret=False, required=False,
                    help="Overrides the environment's URL (e.g. a stand-in for tests)"),
        ConfigField("server_ip", "Server IPv4 address", secret=False, required=False,
                    help="sent as X-KM-IP-V4 (the address Nagad allowed for the merchant)"),
    )
    supports_status_query = True
    supports_refunds = True

    # ---- configuration -----------------------------------------------------------------

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(*stripped_config(credentials, settings))
        errors: dict[str, list[str]] = {}
        merchant_id = creds.get("merchant_id", "")
        if merchant_id and not _MERCHANT_ID.match(merchant_id):
            errors["merchant_id"] = ["Merchant ID is the digits Nagad issued (6 to 32)."]
        number = creds.get("merchant_number", "")
        if number:
            found = _WALLET.match(number.replace(" ", "").replace("-", ""))
            if found:
                creds["merchant_number"] = found.group(1)
            else:
                errors["merchant_number"] = ["Merchant number must be a Bangladeshi mobile "
                                             "number (01XXXXXXXXX)."]
        private = public = None
        if creds.get("merchant_private_key"):
            try:
                private = crypto.load_private_key(creds["merchant_private_key"])
                creds["merchant_private_key"] = crypto.private_pem(private)
            except crypto.KeyInvalid as exc:
                errors["merchant_private_key"] = [f"Merchant private key {exc}"]
        if creds.get("nagad_public_key"):
            try:
                public = crypto.load_public_key(creds["nagad_public_key"])
                creds["nagad_public_key"] = crypto.public_pem(public)
            except crypto.KeyInvalid as exc:
                errors["nagad_public_key"] = [f"Nagad public key {exc}"]
        if private is not None and public is not None and (
                public.public_numbers() == private.public_key().public_numbers()):
            errors["nagad_public_key"] = ["This is the public half of the merchant key; give "
                                          "Nagad's public key here."]
        environment = str(out.get("environment") or "").lower()
        if environment and environment not in ENVIRONMENTS:
            errors["environment"] = ["Environment must be sandbox or live."]
        if environment:
            out["environment"] = environment
        else:
            out.pop("environment", None)
        check_url_setting(out, errors, "base_url",
                          "API base URL must be an absolute http(s) URL.")
        server_ip = str(out.get("server_ip") or "")
        if server_ip:
            try:
                out["server_ip"] = str(ipaddress.IPv4Address(server_ip))
            except ValueError:
                errors["server_ip"] = ["Server IPv4 address must be an IPv4 address."]
        else:
            out.pop("server_ip", None)
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        return amount_refusal(mapping.to_nagad_amount, AmountNotRepresentable,
                              amount_minor, currency)

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

    # ---- checkout ----------------------------------------------------------------------

    def _callback_url(self, ctx: GatewayContext, payment: PaymentView) -> str:
        return gateway_url(ctx, self.slug, "callback", payment.transaction_id,
                           return_token(ctx, payment))

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        """Initialize and complete a Nagad session for this attempt; send the customer to
        Nagad's page.  A refusal raises :class:`NagadRefused`; Nagad unreachable raises the
        executor's GatewayError."""
        try:
            amount = mapping.to_nagad_amount(payment.amount_minor, payment.currency)
        except AmountNotRepresentable as exc:
            raise GatewayError(str(exc), retryable=False, may_have_acted=False) from exc
        order_id = mapping.order_id(payment.transaction_id, secrets.token_hex(2))
        opened = await client.initialize(ctx, order_id, secrets.token_hex(20))
        payment_ref = str(opened.get("paymentReferenceId") or "")
        challenge = str(opened.get("challenge") or "")
        if not _PAYMENT_REF.match(payment_ref) or not challenge:
            raise client.NagadAnswerUntrusted(
                "Nagad's initialize answer has no usable paymentReferenceId/challenge")
        await self._remember(ctx, payment, payment_ref)
        done = await client.complete(ctx, payment_ref, {
            "merchantId": ctx.credentials.get("merchant_id", ""), "orderId": order_id,
            "currencyCode": mapping.CURRENCY_CODE, "amount": amount, "challenge": challenge,
        }, self._callback_url(ctx, payment))
        page = str(done.get("callBackUrl") or "")
        origin = url_origin(page)
        if str(done.get("status") or "") != "Success" or origin is None:
            words = mapping.said(done) if done.get("reason") else (
                f"status {str(done.get('status'))[:30]!r} without a callBackUrl")
            log.warning("nagad_complete_refused", payment_id=payment.transaction_id,
                        said=words)
            raise NagadRefused("complete", words)
        return CheckoutView(template="checkout.html", context={"payment_url": page},
                            redirect_url=page, provider_reference=payment_ref,
                            form_origins=(origin,))

    async def _remember(self, ctx: GatewayContext, payment: PaymentView, ref: str) -> None:
        """Every session of the payment, so a session paid in another tab is found."""
        key = _sessions_key(payment)
        async with ctx.store.exclusive(key):
            known = [str(r) for r in ((await ctx.store.get(key)) or {}).get("refs", [])]
            await ctx.store.put(key, {"refs": [*(r for r in known if r != ref), ref]
                                      [-MAX_SESSIONS:]})

    async def _known(self, ctx: GatewayContext, payment: PaymentView) -> list[str]:
        stored = [str(r) for r in ((await ctx.store.get(_sessions_key(payment))) or {})
                  .get("refs", [])]
        refs = [payment.provider_reference or "", *reversed(stored)]
        return list(dict.fromkeys(r for r in refs if r))[:MAX_SESSIONS]

    async def _ask(self, ctx: GatewayContext, payment: PaymentView,
                   hinted: str | None = None) -> VerifiedResult:
        """Nagad's word on the payment: every session we know of (the current first) and
        the session the callback named, if it is not one of them.  A paid session decides;
        otherwise the current session's answer does."""
        known = await self._known(ctx, payment)
        current: VerifiedResult | None = None
        for ref in ([hinted] if hinted and hinted not in known else []) + known:
            try:
                data = await client.verify(ctx, ref)
            except NagadRefused:
                if ref in known:
                    raise
                log.warning("nagad_return_unknown_session", payment_id=payment.transaction_id)
                continue  # the callback named a session Nagad does not know
            verified = mapping.map_verify(data, operation="verify")
            if ref not in known and verified.reference != payment.transaction_id:
                log.warning("nagad_return_other_session", payment_id=payment.transaction_id)
                continue  # the callback named a session of another payment: not ours
            if verified.outcome is Outcome.SUCCEEDED:
                return verified
            if current is None or ref == payment.provider_reference:
                current = verified
        return current or VerifiedResult(outcome=Outcome.PENDING,
                                         reason="no Nagad session known for this payment")

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """Nagad sent the browser back.  Its fields are hints: Nagad's verify API decides.
        On a callback URL we gave Nagad (MAC-checked), the session it names is asked about
        too, and its ``status`` only tells the customer what happened when Nagad reports
        nothing final."""
        signed = hmac.compare_digest(str(params.get("return_token", "")),
                                     return_token(ctx, payment))
        hinted = str(params.get("payment_ref_id") or "")
        if not signed:
            log.warning("nagad_return_unsigned", payment_id=payment.transaction_id)
        verified = await self._ask(ctx, payment, hinted if signed and _PAYMENT_REF.match(
            hinted) else None)
        if not signed or verified.outcome not in (Outcome.PENDING, Outcome.UNKNOWN):
            return verified
        hint = provider_status(PaymentStatus, str(params.get("status") or "")[:40])
        detail = verified.reason or "no detail"
        if hint in (PaymentStatus.CANCELLED, PaymentStatus.ABORTED):
            return VerifiedResult(outcome=Outcome.PENDING, customer_message=CANCELLED,
                                  provider_reference=verified.provider_reference,
                                  reason=f"Nagad return {hint}; {detail}"[:480])
        if hint is not None and mapping.status_outcome(hint) is Outcome.FAILED:
            return VerifiedResult(outcome=Outcome.PENDING, customer_message=NOT_CONFIRMED,
                                  provider_reference=verified.provider_reference,
                                  reason=f"Nagad return {hint}; {detail}"[:480])
        return verified

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        return await self._ask(ctx, payment)

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """Nagad publishes no way to close a session: its page may still take the money
        after our link expired.  Only Nagad's word that the payment ended unpaid lets it
        expire; otherwise it stays undecided (asked again, bounded by the core)."""
        verified = await self._ask(ctx, payment)
        match verified.outcome:
            case Outcome.SUCCEEDED | Outcome.PROCESSING:
                return verified
            case Outcome.FAILED | Outcome.CANCELLED:
                return VerifiedResult(outcome=Outcome.CANCELLED,
                                      provider_reference=verified.provider_reference,
                                      reason=f"nothing to cancel: {verified.reason}"[:480])
            case _:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=verified.provider_reference,
                    reason=f"Nagad cannot close a session; {verified.reason}"[:480])

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
        """Nagad's purchase/cancel for ``amount_minor`` of the payment.  The payment is
        verified first (Nagad's own amount, orderId and date go into the request); a
        refusal is FAILED, a lost answer UNKNOWN and never sent again."""
        ref = payment.provider_reference
        if not ref:
            return RefundResult(outcome=Outcome.FAILED,
                                reason="payment has no Nagad paymentRefId; nothing sent")
        if not 0 < amount_minor <= payment.amount_minor:
            return RefundResult(outcome=Outcome.FAILED,
                                reason="refund amount out of range; nothing sent")
        try:
            cancel_amount = mapping.to_nagad_amount(amount_minor, payment.currency)
            data = await client.verify(ctx, ref)
        except AmountNotRepresentable:
            return RefundResult(outcome=Outcome.FAILED, reason="currency not refundable")
        except GatewayError as exc:
            return RefundResult(outcome=Outcome.FAILED,
                                reason=f"{exc} (verify before the refund); nothing sent")
        status = provider_status(PaymentStatus, data.get("status"))
        original = data.get("amount")
        date = mapping.payment_date(data)
        if (status not in _REFUNDABLE or date is None
                or mapping.reference_of(data.get("orderId")) != payment.transaction_id
                or mapping.from_nagad_amount(original, "BDT") != payment.amount_minor):
            return RefundResult(outcome=Outcome.FAILED,
                                reason=f"Nagad verify says status {str(data.get('status'))[:30]!r}"
                                " for this payment (or other figures): not refundable; "
                                "nothing sent")
        plain = {"merchantId": ctx.credentials.get("merchant_id", ""),
                 "originalRequestDate": date, "originalAmount": str(original),
                 "cancelAmount": cancel_amount, "referenceNo": refund_id[:40],
                 "referenceMessage": ""}
        plain["referenceMessage"] = self._fitting(ctx, plain, reason)
        try:
            answer = await client.cancel(ctx, ref, str(data.get("orderId")), plain)
        except NagadRefused as exc:
            return RefundResult(outcome=Outcome.FAILED, reason=str(exc)[:480])
        except ProviderUnavailable as exc:
            outcome = Outcome.UNKNOWN if exc.may_have_acted else Outcome.FAILED
            return RefundResult(outcome=outcome, reason=str(exc)[:480])
        return mapping.map_refund(answer, amount=cancel_amount)

    def _fitting(self, ctx: GatewayContext, plain: Mapping[str, str], reason: str | None
                 ) -> str:
        """The refund's message, shortened so the whole request fits one RSA block."""
        message = " ".join((reason or "Refund").split())[:120] or "Refund"
        room = client.capacity(ctx)
        while message and len(crypto.plain_json({**plain, "referenceMessage": message})
                              .encode()) > room:
            message = message[:-1]
        return message or "Refund"


ADAPTER = NagadGateway()
