"""``sslcommerz``: SSLCommerz hosted checkout (API v4).

Flow: the checkout page asks :meth:`SslcommerzGateway.start_checkout`, which creates an
SSLCommerz session (``tran_id`` = our transaction id; success, fail and cancel URLs = our
return route, ``ipn_url`` = our provider-webhook route) and sends the customer to its
``GatewayPageURL``.  SSLCommerz sends the browser back with a form POST
(``returns_by_post``); the posted fields are hints only: :meth:`verify_return` asks the
validation API about the posted ``val_id`` and, when that does not prove a payment, the
transaction query about our session.  The IPN is verified by its ``verify_sign`` and the
core then re-fetches with :meth:`query_status`.

The package: ``mapping`` (pure: amounts, statuses, the IPN signature), ``client`` (calls
through the provider executor); this module decides the flow.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

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
    RefundResult,
    VerifiedResult,
    WebhookRejected,
    amount_refusal,
    check_url_setting,
    gateway_url,
    stripped_config,
    url_origin,
)
from ownpay.gateways.executor import ProviderUnavailable
from ownpay.gateways.sslcommerz import client, mapping
from ownpay.gateways.sslcommerz.client import LIVE_URL, SANDBOX_URL
from ownpay.gateways.sslcommerz.mapping import AmountNotRepresentable, to_sslcommerz_amount

__all__ = ["LIVE_URL", "SANDBOX_URL", "SslcommerzGateway", "return_token"]

log = structlog.get_logger("ownpay.gateways.sslcommerz")

ENVIRONMENTS = ("sandbox", "live")


MAX_SESSIONS = 20  # sessions of one payment remembered (newest kept) and asked about


def _refund_key(refund_id: str) -> str:
    return "refund:" + hashlib.sha256(refund_id.encode()).hexdigest()[:40]


def _sessions_key(transaction_id: str) -> str:
    return "sessions:" + hashlib.sha256(transaction_id.encode()).hexdigest()[:40]


async def remember_session(ctx: GatewayContext, transaction_id: str, session_key: str) -> None:
    """Add a session we created for this payment to the ones still able to take money
    (every tab the customer opened has its own; SSLCommerz cannot close any of them)."""
    key = _sessions_key(transaction_id)
    async with ctx.store.exclusive(key):
        known = [str(k) for k in ((await ctx.store.get(key)) or {}).get("keys", [])]
        if session_key not in known:
            known = [*known, session_key][-MAX_SESSIONS:]
            await ctx.store.put(key, {"keys": known})


async def known_sessions(ctx: GatewayContext, payment: PaymentView) -> list[str]:
    """Every session key of this payment we know of, the current one last."""
    stored = (await ctx.store.get(_sessions_key(payment.transaction_id))) or {}
    keys = [str(k) for k in stored.get("keys", []) if k]
    current = payment.provider_reference
    return [k for k in keys if k != current] + ([current] if current else [])


def return_token(ctx: GatewayContext, payment: PaymentView) -> str:
    """A MAC of this payment under the store password: what only the return URLs we gave
    SSLCommerz carry."""
    secret = ctx.credentials.get("store_passwd", "").encode()
    message = f"sslcommerz-return:{payment.transaction_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


class SslcommerzGateway(Gateway):
    slug = "sslcommerz"
    display_name = "SSLCommerz"
    templates = Path(__file__).parent / "templates"
    currencies: ClassVar[frozenset[str] | None] = mapping.CURRENCIES
    credential_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("store_id", "Store ID", secret=False),
        ConfigField("store_passwd", "Store password"),
    )
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("environment", "Environment", secret=False, required=False,
                    default="sandbox",
                    help=f"sandbox ({SANDBOX_URL}) or live ({LIVE_URL})"),
        ConfigField("base_url", "API base URL", secret=False, required=False,
                    help="Overrides the environment's URL (e.g. a stand-in for tests)"),
    )
    returns_by_post = True
    supports_status_query = True
    supports_webhooks = True
    supports_refunds = True
    supports_refund_query = True
    idempotent_refunds = False  # SSLCommerz does not promise to deduplicate refe_id

    # ---- configuration -----------------------------------------------------------------

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(*stripped_config(credentials, settings))
        errors: dict[str, list[str]] = {}
        environment = str(out.get("environment") or "sandbox").lower()
        if environment not in ENVIRONMENTS:
            errors["environment"] = ["Environment must be sandbox or live."]
        out["environment"] = environment
        check_url_setting(out, errors, "base_url",
                          "API base URL must be an absolute http(s) URL.", fragment_ok=True)
        store_id = creds.get("store_id", "")
        if store_id and (len(store_id) > 64 or not store_id.replace("_", "").isalnum()):
            errors["store_id"] = ["Store ID is letters, digits and _ only (as SSLCommerz "
                                  "issued it)."]
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        return amount_refusal(to_sslcommerz_amount, AmountNotRepresentable,
                              amount_minor, currency)

    def describe_failure(self, reason: str | None) -> str | None:
        return mapping.describe_failure(reason)

    # ---- checkout ----------------------------------------------------------------------

    def _urls(self, ctx: GatewayContext, payment: PaymentView) -> tuple[str, str]:
        back = gateway_url(ctx, self.slug, "callback", payment.transaction_id,
                           return_token(ctx, payment))
        ipn = gateway_url(ctx, self.slug, "webhooks", payment.merchant_slug, ctx.mode)
        return back, ipn

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        """Create an SSLCommerz session for this attempt and send the customer there."""
        back, ipn = self._urls(ctx, payment)
        fields = {
            "total_amount": to_sslcommerz_amount(payment.amount_minor, payment.currency),
            "currency": payment.currency.upper(),
            "tran_id": payment.transaction_id,
            "success_url": back,
            "fail_url": back,
            "cancel_url": back,
            "ipn_url": ipn,
            "cus_name": payment.customer_name[:50] or "Customer",
            "cus_email": payment.customer_email[:50] or "customer@example.com",
            "cus_phone": (payment.customer_phone or "")[:20] or "N/A",
            "cus_add1": "N/A",
            "cus_city": "N/A",
            "cus_country": "Bangladesh",
            "shipping_method": "NO",
            "num_of_item": "1",
            "product_name": (payment.description or payment.order_id)[:255] or "Order",
            "product_category": "general",
            "product_profile": "general",
            "value_a": payment.order_id[:255],
        }
        data = await client.post_form(ctx, client.SESSION, fields, operation="session")
        session_key = str(data.get("sessionkey") or "")
        page = str(data.get("GatewayPageURL") or "")
        if str(data.get("status") or "") != "SUCCESS" or not session_key or not url_origin(page):
            reason = " ".join(str(data.get("failedreason") or "no GatewayPageURL").split())
            log.warning("sslcommerz_session_refused", payment_id=payment.transaction_id,
                        reason=reason[:200])
            raise GatewayError(f"SSLCommerz refused the session: {reason[:200]}",
                               retryable=False, may_have_acted=False)
        await remember_session(ctx, payment.transaction_id, session_key)
        origin = url_origin(page)
        return CheckoutView(redirect_url=page, provider_reference=session_key,
                            form_origins=(origin,) if origin else ())

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """The browser's POST back.  Its ``status`` is never trusted: a ``val_id`` is
        validated with SSLCommerz, and anything that validation does not prove paid is
        asked of the transaction query about our session."""
        if not hmac.compare_digest(str(params.get("return_token", "")),
                                   return_token(ctx, payment)):
            # Not a URL we gave SSLCommerz: only SSLCommerz's own word about our session.
            log.warning("sslcommerz_return_unsigned", payment_id=payment.transaction_id)
            asked = await self.query_status(ctx, payment)
            return asked if asked.outcome is Outcome.SUCCEEDED else VerifiedResult(
                outcome=Outcome.PENDING, provider_reference=payment.provider_reference)
        val_id = str(params.get("val_id") or "").strip()
        if val_id:
            data = await client.get(ctx, client.VALIDATION, {"val_id": val_id},
                                    operation="validation")
            validated = mapping.map_transaction(
                data, session_key=payment.provider_reference, operation="validation")
            if validated.outcome is Outcome.SUCCEEDED:
                return validated
        asked = await self.query_status(ctx, payment)
        if asked.outcome in (Outcome.PENDING, Outcome.UNKNOWN):
            hint = str(params.get("status") or "")[:20]
            if hint in ("FAILED", "CANCELLED"):
                # The browser says it ended but SSLCommerz does not (yet): change nothing.
                return replace(asked, outcome=Outcome.PENDING,
                               customer_message=mapping.CANCELLED_MESSAGE
                               if hint == "CANCELLED" else mapping.NOT_COMPLETED)
        return asked

    async def _ask_session(self, ctx: GatewayContext, session_key: str) -> VerifiedResult:
        data = await client.get(ctx, client.QUERY, {"sessionkey": session_key},
                                operation="status query")
        if not data.get("APIConnect"):
            data = {**data, "APIConnect": client_done(data)}
        return mapping.answered(data, session_key=session_key, operation="status query")

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        """SSLCommerz's word about every session of this payment -- the current one, each
        one our state store remembers (an older tab the customer left open) and each one
        the query by tran_id lists -- since SSLCommerz cannot close a session and any of
        them may still take the money.  A paid session decides; else one still open keeps
        the payment undecided; else the current session's end is the answer."""
        current: VerifiedResult | None = None
        if payment.provider_reference:
            current = await self._ask_session(ctx, payment.provider_reference)
            if current.outcome is Outcome.SUCCEEDED:
                return current
        data = await client.get(ctx, client.QUERY, {"tran_id": payment.transaction_id},
                                operation="status query by tran_id")
        listed = mapping.elements(data) if data.get("APIConnect") == mapping.API_DONE else []
        judged = [mapping.map_transaction(
            row, session_key=str(row.get("sessionkey") or "") or None,
            operation="status query by tran_id") for row in listed]
        seen = {r.provider_reference for r in judged} | {payment.provider_reference}
        for key in await known_sessions(ctx, payment):
            if key not in seen:  # not listed by tran_id (e.g. never attempted): ask it
                judged.append(await self._ask_session(ctx, key))
                seen.add(key)
        if current is not None:
            judged.append(current)
        decided = mapping.decide_sessions(judged, current=payment.provider_reference)
        return decided or VerifiedResult(
            outcome=Outcome.PENDING, reason="SSLCommerz holds no transaction with our tran_id")

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """SSLCommerz has no call to close a session: its hosted page may still take the
        money after our link expired.  Only SSLCommerz's word that every session of the
        payment ended unpaid (``FAILED``, ``CANCELLED``, ``EXPIRED``) lets the payment
        expire; any session still ``PENDING`` or ``UNATTEMPTED`` keeps it undecided (asked
        again until SSLCommerz expires it, bounded by the core; see docs/gateways.md, "Expiry")."""
        asked = await self.query_status(ctx, payment)
        match asked.outcome:
            case Outcome.SUCCEEDED | Outcome.PROCESSING | Outcome.UNKNOWN:
                return asked
            case Outcome.FAILED | Outcome.CANCELLED:
                return VerifiedResult(
                    outcome=Outcome.CANCELLED, provider_reference=payment.provider_reference,
                    reason=f"SSLCommerz session not paid ({asked.reason})"[:480])
            case _:
                return VerifiedResult(
                    outcome=Outcome.UNKNOWN, provider_reference=payment.provider_reference,
                    reason=f"SSLCommerz cannot close a session; {asked.reason}"[:480])

    # ---- IPN ---------------------------------------------------------------------------

    async def parse_webhook(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        try:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True,
                                    strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise WebhookRejected("SSLCommerz IPN is not a form body") from exc
        verify_sign = fields.get("verify_sign", "")
        verify_key = fields.get("verify_key", "")
        listed = set(verify_key.split(","))
        if not verify_sign or not {"tran_id", "status"} <= listed:
            raise WebhookRejected("SSLCommerz IPN without verify_sign over tran_id and status")
        expected = mapping.sign(fields, verify_key, ctx.credentials.get("store_passwd", ""))
        if not hmac.compare_digest(expected, verify_sign.lower()):
            raise WebhookRejected("SSLCommerz IPN verify_sign does not match")
        tran_id = fields.get("tran_id") or None
        val_id = fields.get("val_id", "")
        return ProviderEvent(
            event_id=f"ipn:{val_id or tran_id}:{fields.get('status', '')}"[:200],
            type=f"ipn.{fields.get('status', '')}"[:60],
            reference=tran_id,
            kind=ProviderEventKind.PAYMENT,
            details={"status": fields.get("status", "")[:30], "val_id": val_id[:80]},
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
        """Ask SSLCommerz to refund (by bank_tran_id, refe_id = our refund id).  An
        accepted request is PROCESSING: SSLCommerz pays it back later (query_refund)."""
        if not payment.provider_txn_id:
            return RefundResult(outcome=Outcome.FAILED,
                                reason="payment has no SSLCommerz bank_tran_id")
        if not 0 < amount_minor <= payment.amount_minor:
            return RefundResult(outcome=Outcome.FAILED,
                                reason="refund amount out of range; nothing sent")
        if payment.currency.upper() not in mapping.CURRENCIES:
            return RefundResult(outcome=Outcome.FAILED, reason="currency not refundable")
        amount = f"{money.to_major(amount_minor, payment.currency.upper()):.2f}"
        query = {
            "bank_tran_id": payment.provider_txn_id,
            "refund_amount": amount,
            "refund_remarks": " ".join((reason or "refund").split())[:255] or "refund",
            "refe_id": refund_id[:50],
        }
        try:
            data = await client.get(ctx, client.QUERY, query, operation="refund")
        except ProviderUnavailable as exc:
            outcome = Outcome.UNKNOWN if exc.may_have_acted else Outcome.FAILED
            return RefundResult(outcome=outcome, reason=str(exc))
        if data.get("APIConnect") != mapping.API_DONE:
            return RefundResult(outcome=Outcome.FAILED,
                                reason=f"SSLCommerz APIConnect "
                                f"{str(data.get('APIConnect'))[:30]!r} "
                                f"({mapping.api_connect_reason(data.get('APIConnect'))}, refund)")
        result = mapping.map_refund_reply(data)
        if result.provider_refund_id:
            await ctx.store.put(_refund_key(refund_id),
                                {"refund_ref_id": result.provider_refund_id})
        return result

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        known = provider_refund_id
        if not known:
            note = await ctx.store.get(_refund_key(refund_id)) or {}
            known = str(note.get("refund_ref_id") or "") or None
        if not known:
            return RefundResult(outcome=Outcome.UNKNOWN,
                                reason="no SSLCommerz refund_ref_id known for this refund")
        try:
            data = await client.get(ctx, client.QUERY, {"refund_ref_id": known},
                                    operation="refund query")
        except ProviderUnavailable as exc:
            return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=known,
                                reason=str(exc))
        if data.get("APIConnect") != mapping.API_DONE:
            return RefundResult(outcome=Outcome.UNKNOWN, provider_refund_id=known,
                                reason=f"SSLCommerz APIConnect "
                                f"{str(data.get('APIConnect'))[:30]!r} "
                                f"({mapping.api_connect_reason(data.get('APIConnect'))}, "
                                "refund query)")
        return mapping.map_refund_state(data, known)


def client_done(data: Mapping[str, Any]) -> str:
    """The session query answers a known session without ``APIConnect`` in some versions:
    a status field alone counts as answered."""
    return mapping.API_DONE if data.get("status") else ""


ADAPTER = SslcommerzGateway()
