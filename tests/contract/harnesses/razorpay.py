"""``razorpay`` against the Razorpay stand-in (``tests/simulators/razorpay.py``), served on
loopback in the test's event loop so the harness can make "Razorpay" say what each check
needs."""

from __future__ import annotations

import json
from dataclasses import replace

from ownpay.gateways.base import (
    GatewayContext,
    Outcome,
    PaymentView,
    VerifiedResult,
    provider_status,
)
from ownpay.gateways.razorpay.errors import ErrorReason, describe
from ownpay.gateways.razorpay.mapping import (
    AmountNotRepresentable,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    from_razorpay_amount,
    map_order,
    refund_outcome,
    to_razorpay_amount,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Probe, Webhook
from tests.contract.harnesses.common import StandinHarness
from tests.simulators.razorpay import (
    KEY_ID,
    KEY_SECRET,
    WEBHOOK_SECRET,
    RazorpaySimulator,
    create_app,
    sign,
)

CREDENTIALS = {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET}
_ORDER = {"id": "order_O1", "receipt": "txn_0123456789abcdef", "amount": 125050,
          "currency": "INR"}
_PAYMENT = {"id": "pay_A1", "status": "captured", "amount": 125050, "currency": "INR",
            "order_id": "order_O1", "method": "upi"}


def _order_status(raw: str) -> Outcome:
    return map_order({**_ORDER, "status": raw}, _PAYMENT, operation="probe").outcome


def _payment_status(raw: str) -> Outcome:
    return map_order({**_ORDER, "status": "paid"}, {**_PAYMENT, "status": raw},
                     operation="probe").outcome


def _refund_status(raw: str) -> Outcome:
    return refund_outcome(provider_status(RefundStatus, raw))


class RazorpayHarness(StandinHarness[RazorpaySimulator]):
    slug = "razorpay"
    failure_reasons = (
        *(f"Razorpay order {str(s)!r} (status query)" for s in OrderStatus),
        "Razorpay order 'attempted', payment pay_X1 'failed' (payment_failed) (status query)",
        "Razorpay order 'paid', payment pay_X1 'refunded' (status query)",
        "Razorpay order left unpaid (Razorpay order 'created' (status query))",
        "capture outcome unknown: timeout",
        # one per documented error reason (and an unknown one): each has its own sentence
        *(f"Razorpay order 'attempted', payment pay_X1 'failed' "
          f"({describe('BAD_REQUEST_ERROR', r, 'customer', 'payment_authentication')}) "
          "(status query)" for r in [*ErrorReason, "reason_from_the_future"]),
    )
    probes = (
        Probe(OrderStatus, _order_status, frozenset({OrderStatus.PAID})),
        Probe(PaymentStatus, _payment_status, frozenset({PaymentStatus.CAPTURED})),
        Probe(RefundStatus, _refund_status, frozenset({RefundStatus.PROCESSED})),
    )
    amounts = AmountRule(to_razorpay_amount, from_razorpay_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    new_app = staticmethod(create_app)
    standin_credentials = CREDENTIALS
    payment_defaults = {"amount_minor": 125050, "currency": "INR",
                        "customer_phone": "+919000090000"}

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        view = await self.gateway.start_checkout(ctx, payment)
        assert view.provider_reference and view.context.get("order_id")
        params = self.sim.pay(view.provider_reference)
        assert params is not None
        match tamper:  # what Razorpay would report had the payment been altered there
            case "amount":
                self.sim.tamper = {"amount": 100}
            case "currency":
                self.sim.tamper = {"currency": "USD"}
            case "reference":
                self.sim.tamper = {"receipt": OTHER_TRANSACTION}
        try:
            current = replace(payment, provider_reference=view.provider_reference)
            returned = await self.gateway.verify_return(ctx, current, params)
            asked = await self.gateway.query_status(ctx, current)
        finally:
            self.sim.tamper = {}
        return [returned, asked]

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        assert payment.provider_txn_id
        return self.sim.refunded(payment.provider_txn_id)

    def webhooks(self, ctx: GatewayContext, payment: PaymentView
                 ) -> tuple[Webhook, list[tuple[str, Webhook]]] | None:
        event = {"entity": "event", "event": "order.paid",
                 "contains": ["payment", "order"],
                 "payload": {
                     "payment": {"entity": {
                         "id": "pay_Battery0000001", "entity": "payment", "amount": 125050,
                         "currency": "INR", "status": "captured",
                         "order_id": "order_Battery000001"}},
                     "order": {"entity": {
                         "id": "order_Battery000001", "entity": "order", "status": "paid",
                         "amount": 125050, "currency": "INR",
                         "receipt": payment.transaction_id}}}}
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", "X-Razorpay-Event-Id": "evt_battery1",
                   "X-Razorpay-Signature": sign(WEBHOOK_SECRET, body)}
        good = Webhook(headers, body, event_id="evt_battery1")
        altered = body.replace(b"125050", b"100")
        no_json = b"not json"
        bad = [
            ("a signature under another secret",
             Webhook({**headers, "X-Razorpay-Signature": sign("guess", body)}, body)),
            ("an altered body", Webhook(headers, altered)),
            ("no signature header",
             Webhook({k: v for k, v in headers.items() if k != "X-Razorpay-Signature"}, body)),
            ("the signature in upper case",
             Webhook({**headers, "X-Razorpay-Signature": sign(WEBHOOK_SECRET, body).upper()},
                     body)),
            ("a signed body that is no JSON",
             Webhook({**headers, "X-Razorpay-Signature": sign(WEBHOOK_SECRET, no_json)},
                     no_json)),
        ]
        return good, bad


HARNESS = RazorpayHarness
