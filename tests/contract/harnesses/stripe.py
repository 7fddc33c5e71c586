"""``stripe`` against localstripe (``tests/simulators/stripe.py``), one process per session:
payments confirmed with test cards the way Stripe.js does, PaymentIntents altered at
"Stripe" for the tampering checks, and webhooks signed the way Stripe documents."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ownpay.gateways.base import GatewayContext, Outcome, PaymentView, VerifiedResult
from ownpay.gateways.stripe.mapping import (
    DECLINE_MESSAGES,
    DECLINE_PREFIX,
    AmountNotRepresentable,
    PaymentIntentStatus,
    RefundStatus,
    from_stripe_amount,
    map_payment_intent,
    map_refund,
    to_stripe_amount,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Harness, Probe, Webhook
from tests.simulators.loopback import free_port
from tests.simulators.stripe_process import LocalStripe

SECRET_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
PUBLISHABLE_KEY = "pk_test_" + "TYooMQauvdEDq54NiTphI7jx"
WEBHOOK_SECRET = "whsec_" + "c0ffee" * 6
CARD_OK = "4242424242424242"
_PROBE_VIEW = PaymentView(
    transaction_id="txn_0123456789abcdef", merchant_slug="battery", mode="test",
    status="pending", amount_minor=9999, currency="USD", order_id="O-1", description=None,
    customer_name="Jane", customer_email="jane@example.com", customer_phone=None,
    expires_at=datetime(2030, 1, 1, tzinfo=UTC), provider_reference="pi_probe",
)


def _intent_status(raw: str) -> Outcome:
    """``raw`` as the status of a PaymentIntent that matches the payment exactly."""
    pi = {"id": "pi_probe", "status": raw, "amount": 9999, "currency": "usd",
          "metadata": {"transaction_id": "txn_0123456789abcdef"}, "latest_charge": "ch_1"}
    return map_payment_intent(pi, _PROBE_VIEW).outcome


def _refund_status(raw: str) -> Outcome:
    return map_refund({"id": "re_probe", "status": raw}).outcome


def sign(body: bytes, secret: str, *, timestamp: int | None = None, scheme: str = "v1") -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},{scheme}={mac}"


class StripeHarness(Harness):
    slug = "stripe"
    failure_reasons = (
        *(f"{DECLINE_PREFIX}{code} (Your card was declined.)" for code in DECLINE_MESSAGES),
        f"{DECLINE_PREFIX}some_new_code",
        "Stripe PaymentIntent canceled (abandoned)",
    )
    probes = (
        Probe(PaymentIntentStatus, _intent_status, frozenset({PaymentIntentStatus.SUCCEEDED})),
        Probe(RefundStatus, _refund_status, frozenset({RefundStatus.SUCCEEDED})),
    )
    amounts = AmountRule(to_stripe_amount, from_stripe_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    def __init__(self) -> None:
        self.localstripe = LocalStripe(Path(tempfile.gettempdir()), free_port())

    async def start(self) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="battery-localstripe-"))
        self.localstripe = LocalStripe(workdir, self.localstripe.port)
        await asyncio.to_thread(self.localstripe.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.localstripe.stop)
        shutil.rmtree(self.localstripe.state.parent, ignore_errors=True)

    def credentials(self) -> dict[str, str]:
        return {"secret_key": SECRET_KEY, "publishable_key": PUBLISHABLE_KEY,
                "webhook_secret": WEBHOOK_SECRET, "api_base": self.localstripe.url,
                "js_url": self.localstripe.js_url}

    def unreachable_credentials(self, port: int) -> dict[str, str] | None:
        return {**self.credentials(), "api_base": f"http://127.0.0.1:{port}"}

    async def _api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.localstripe.url, timeout=10) as c:
            r = await c.request(method, path, auth=(SECRET_KEY, ""), **kwargs)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def _confirm_card(self, pi: str, client_secret: str) -> dict[str, Any]:
        """What the page's Stripe.js call sends when the customer pays with a good card."""
        form = {"key": PUBLISHABLE_KEY, "client_secret": client_secret,
                "card[number]": CARD_OK, "card[exp_month]": "12", "card[exp_year]": "34",
                "card[cvc]": "123"}
        async with httpx.AsyncClient(base_url=self.localstripe.url, timeout=10) as c:
            r = await c.post(f"/js.stripe.com/v3/_confirm/{pi}", data=form)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        view = await self.gateway.start_checkout(ctx, payment)
        pi, secret = view.provider_reference, str(view.context.get("client_secret", ""))
        assert pi and secret, view
        if tamper is not None:
            # "Stripe" holds a paid PaymentIntent for the payment, with one figure wrong.
            body: dict[str, Any] = {
                "amount": to_stripe_amount(payment.amount_minor, payment.currency),
                "currency": payment.currency.lower(),
                "payment_method_types": ["card"],
                "metadata": {"transaction_id": payment.transaction_id},
            }
            match tamper:
                case "amount":
                    body["amount"] += 100
                case "currency":
                    body["currency"] = "eur" if payment.currency != "EUR" else "usd"
                case "reference":
                    body["metadata"] = {"transaction_id": OTHER_TRANSACTION}
            created = await self._api("POST", "/v1/payment_intents", json=body)
            pi, secret = created["id"], created["client_secret"]
        assert (await self._confirm_card(pi, secret))["status"] == "succeeded"
        paid = replace(payment, provider_reference=pi)
        returned = await self.gateway.verify_return(ctx, paid, {"payment_intent": pi})
        asked = await self.gateway.query_status(ctx, paid)
        return [returned, asked]

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        listing = await self._api("GET", "/v1/refunds",
                                  params={"payment_intent": payment.provider_reference})
        total = 0
        for refund in listing["data"]:
            if refund["status"] == "succeeded":
                minor = from_stripe_amount(refund["amount"], refund["currency"])
                assert minor is not None
                total += minor
        return total

    def webhooks(self, ctx: GatewayContext, payment: PaymentView
                 ) -> tuple[Webhook, list[tuple[str, Webhook]]] | None:
        event_id = "evt_" + secrets.token_hex(12)
        body = json.dumps({
            "id": event_id, "object": "event", "type": "payment_intent.succeeded",
            "created": int(time.time()), "livemode": False, "api_version": "2026-10-28.endive",
            "data": {"object": {"id": "pi_battery", "object": "payment_intent",
                                "metadata": {"transaction_id": payment.transaction_id}}},
        }).encode()
        secret = ctx.credentials["webhook_secret"]
        good = Webhook({"stripe-signature": sign(body, secret)}, body, event_id)
        bad = [
            ("signed with another secret",
             Webhook({"stripe-signature": sign(body, "whsec_" + "0" * 32)}, body)),
            ("body changed after signing",
             Webhook({"stripe-signature": sign(body, secret)}, body.replace(b"pi_", b"px_"))),
            ("no signature", Webhook({}, body)),
            ("stale timestamp",
             Webhook({"stripe-signature": sign(body, secret, timestamp=int(time.time()) - 3600)},
                     body)),
            ("not a v1 signature",
             Webhook({"stripe-signature": sign(body, secret, scheme="v0")}, body)),
            ("garbage header", Webhook({"stripe-signature": "t=x,v1=zz"}, body)),
        ]
        return good, bad


HARNESS = StripeHarness
