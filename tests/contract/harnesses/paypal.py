"""``paypal`` against the PayPal stand-in (``tests/simulators/paypal.py``), served on
loopback in the test's event loop so the harness can make "PayPal" say what each check
needs."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

from ownpay.gateways.base import (
    GatewayContext,
    Outcome,
    PaymentView,
    VerifiedResult,
    provider_status,
)
from ownpay.gateways.paypal.mapping import (
    CAPTURE_ISSUES,
    AmountNotRepresentable,
    CaptureStatus,
    OrderStatus,
    RefundStatus,
    from_paypal_amount,
    map_order,
    refund_outcome,
    to_paypal_amount,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Probe, Webhook
from tests.contract.harnesses.common import StandinHarness
from tests.simulators.paypal import (
    CLIENT_ID,
    CLIENT_SECRET,
    WEBHOOK_ID,
    PayPalSimulator,
    create_app,
)

CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
               "webhook_id": WEBHOOK_ID}
_CAPTURE = {"id": "3C679366HH908993F", "status": "COMPLETED",
            "amount": {"currency_code": "USD", "value": "99.99"},
            "custom_id": "txn_0123456789abcdef"}
_ORDER = {"id": "5O190127TN364715T",
          "purchase_units": [{"custom_id": "txn_0123456789abcdef",
                              "amount": {"currency_code": "USD", "value": "99.99"},
                              "payments": {"captures": [_CAPTURE]}}]}


def _order_status(raw: str) -> Outcome:
    return map_order({**_ORDER, "status": raw}, operation="probe").outcome


def _capture_status(raw: str) -> Outcome:
    unit = {**_ORDER["purchase_units"][0],  # type: ignore[index]
            "payments": {"captures": [{**_CAPTURE, "status": raw}]}}
    return map_order({**_ORDER, "status": "COMPLETED", "purchase_units": [unit]},
                     operation="probe").outcome


def _refund_status(raw: str) -> Outcome:
    return refund_outcome(provider_status(RefundStatus, raw))


class PayPalHarness(StandinHarness[PayPalSimulator]):
    slug = "paypal"
    failure_reasons = (
        *(f"PayPal refused the capture: {issue} (PayPal said so)" for issue in CAPTURE_ISSUES),
        "PayPal order 5O190127TN364715T 'VOIDED' (status query): voided",
        "customer cancelled at PayPal; PayPal order 5O190127TN364715T 'CREATED' (return): "
        "not approved yet",
        "PayPal order 5O190127TN364715T 'COMPLETED' (capture), capture 3C679366HH908993F "
        "'DECLINED' (PROCESSOR_DECLINED)",
    )
    probes = (
        Probe(OrderStatus, _order_status, frozenset({OrderStatus.COMPLETED})),
        Probe(CaptureStatus, _capture_status, frozenset({CaptureStatus.COMPLETED})),
        Probe(RefundStatus, _refund_status, frozenset({RefundStatus.COMPLETED})),
    )
    amounts = AmountRule(to_paypal_amount, from_paypal_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    new_app = staticmethod(create_app)
    standin_credentials = CREDENTIALS

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        view = await self.gateway.start_checkout(ctx, payment)
        assert view.redirect_url and view.provider_reference
        back = self.sim.approve(view.provider_reference)
        params = dict(parse_qsl(urlsplit(back).query))
        match tamper:  # what PayPal would report had the order been altered there
            case "amount":
                self.sim.tamper = {"amount": "1.00"}
            case "currency":
                self.sim.tamper = {"currency": "EUR"}
            case "reference":
                self.sim.tamper = {"custom_id": OTHER_TRANSACTION}
        try:
            current = replace(payment, provider_reference=view.provider_reference)
            returned = await self.gateway.verify_return(ctx, current, params)
            if tamper is not None and returned.outcome is Outcome.UNKNOWN:
                # the adapter refused to capture an order with other figures: let PayPal
                # capture it anyway, and see that the answer is never taken as ours
                self.sim.tamper = {}
                self.sim.capture(view.provider_reference)
                self.sim.tamper = {"amount": {"amount": "1.00"}, "currency": {
                    "currency": "EUR"}, "reference": {"custom_id": OTHER_TRANSACTION}}[tamper]
            asked = await self.gateway.query_status(ctx, current)
        finally:
            self.sim.tamper = {}
        return [returned, asked]

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        assert payment.provider_txn_id
        return self.sim.refunded(payment.provider_txn_id)

    def webhooks(self, ctx: GatewayContext, payment: PaymentView
                 ) -> tuple[Webhook, list[tuple[str, Webhook]]] | None:
        event = {"id": "WH-BATTERY0000000001", "event_version": "1.0",
                 "resource_type": "checkout-order", "event_type": "CHECKOUT.ORDER.APPROVED",
                 "resource": {"id": "5O190127TN364715T", "status": "APPROVED",
                              "purchase_units": [{
                                  "custom_id": payment.transaction_id,
                                  "amount": {"currency_code": "USD", "value": "99.99"}}]}}
        body = json.dumps(event).encode()
        headers = self.sim.sign(body)
        good = Webhook(headers, body, event_id="WH-BATTERY0000000001")
        altered = body.replace(b"99.99", b"1.00")
        other_id = self.sim.sign(body, webhook_id="OTHERWEBHOOK1")
        no_json = b"not json"
        bad = [
            ("a signature PayPal never made",
             Webhook({**headers, "PAYPAL-TRANSMISSION-SIG": "bm90IGEgc2lnbmF0dXJl"}, body)),
            ("an altered body", Webhook(headers, altered)),
            ("no transmission signature header",
             Webhook({k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"},
                     body)),
            ("signed for another webhook id", Webhook(other_id, body)),
            ("another transmission time",
             Webhook({**headers, "PAYPAL-TRANSMISSION-TIME": "2020-01-01T00:00:00Z"}, body)),
            ("a body that is no JSON", Webhook(self.sim.sign(no_json), no_json)),
        ]
        return good, bad


HARNESS = PayPalHarness
