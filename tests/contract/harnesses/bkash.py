"""``bkash`` against the bKash simulator (``tests/simulators/bkash.py``), served on loopback
in the test's event loop so the harness can make "bKash" say what each check needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ownpay.gateways.base import (
    GatewayContext,
    Outcome,
    PaymentView,
    VerifiedResult,
    provider_status,
)
from ownpay.gateways.bkash.mapping import (
    AmountNotRepresentable,
    CallbackStatus,
    TransactionStatus,
    callback_outcome,
    from_bkash_amount,
    map_payment,
    refund_outcome,
    to_bkash_amount,
)
from ownpay.gateways.bkash.messages import CUSTOMER_MESSAGES
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Harness, Probe
from tests.simulators.bkash import PREFIX, BkashSimulator, create_app
from tests.simulators.loopback import Loopback

CREDENTIALS = {
    "app_key": "sandbox-app-key",
    "app_secret": "sandbox-app-secret",
    "username": "sandbox-user",
    "password": "sandbox-pass",
}
_PROBE_VIEW = PaymentView(
    transaction_id="txn_0123456789abcdef", merchant_slug="battery", mode="test",
    status="processing", amount_minor=9999, currency="BDT", order_id="O-1", description=None,
    customer_name="Jane", customer_email="jane@example.com", customer_phone=None,
    expires_at=datetime(2030, 1, 1, tzinfo=UTC), provider_reference="TR0011PROBE",
)


def _payment_status(raw: str) -> Outcome:
    """``raw`` as the status of an otherwise perfect execute/status answer."""
    data = {"transactionStatus": raw, "paymentID": "TR0011PROBE", "trxID": "TRX1",
            "amount": "99.99", "currency": "BDT", "merchantInvoiceNumber": "txn_0123456789abcdef"}
    now = _PROBE_VIEW.expires_at - timedelta(minutes=5)
    return map_payment(data, _PROBE_VIEW, operation="probe", now=now).outcome


def _refund_status(raw: str) -> Outcome:
    return refund_outcome(provider_status(TransactionStatus, raw))


class BkashHarness(Harness):
    slug = "bkash"
    failure_reasons = (
        *(f"bKash {code} its message (execute)" for code in CUSTOMER_MESSAGES),
        *(f"bKash status {s} (status query)" for s in TransactionStatus),
        "bKash callback status 'failure'; bKash status Failed (status query)",
        "bKash status Initiated: never executed before the payment link expired; no money "
        "moved (status query)",
        "capture outcome unknown: timeout",
    )
    probes = (
        Probe(TransactionStatus, _payment_status, frozenset({TransactionStatus.COMPLETED})),
        Probe(TransactionStatus, _refund_status, frozenset({TransactionStatus.COMPLETED})),
        Probe(CallbackStatus, callback_outcome),  # a hint: never a completion by itself
    )
    amounts = AmountRule(to_bkash_amount, lambda value, _currency: from_bkash_amount(value),
                         AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    def __init__(self) -> None:
        self.app = create_app()
        self.server = Loopback(self.app)

    @property
    def sim(self) -> BkashSimulator:
        sim: BkashSimulator = self.app.state.sim
        return sim

    async def start(self) -> None:
        await self.server.__aenter__()

    async def stop(self) -> None:
        await self.server.__aexit__()

    def credentials(self) -> dict[str, str]:
        return {**CREDENTIALS, "base_url": self.server.url + PREFIX}

    def unreachable_credentials(self, port: int) -> dict[str, str] | None:
        return {**CREDENTIALS, "base_url": f"http://127.0.0.1:{port}{PREFIX}"}

    def payment(self, **changes: Any) -> PaymentView:
        return super().payment(**{"amount_minor": 125050, "currency": "BDT",
                                  "customer_phone": "01770618575", **changes})

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        created = await self.gateway.submit(ctx, payment, {})
        assert created.outcome is Outcome.PENDING and created.provider_reference
        payment_id = created.provider_reference
        at_bkash = self.sim.payment(payment_id)
        match tamper:  # what bKash would echo had the payment been altered at its end
            case "amount":
                at_bkash.amount = "1.00"
            case "currency":
                at_bkash.currency = "USD"
            case "reference":
                at_bkash.merchant_invoice_number = OTHER_TRANSACTION
        self.sim.approve(payment_id)
        claimed = replace(payment, status="processing", provider_reference=payment_id)
        executed = await self.gateway.capture(ctx, claimed)
        returned = await self.gateway.verify_return(
            ctx, claimed, {"paymentID": payment_id, "status": "success"})
        asked = await self.gateway.query_status(ctx, claimed)
        return [executed, returned, asked]

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        assert payment.provider_reference
        refunded = sum((r.amount_value for r in self.sim.payment(payment.provider_reference)
                        .refunds), Decimal(0))
        return int(refunded * 100)


HARNESS = BkashHarness
