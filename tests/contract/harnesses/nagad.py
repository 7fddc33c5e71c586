"""``nagad`` against the Nagad stand-in (``tests/simulators/nagad.py``), served on loopback
in the test's event loop so the harness can make "Nagad" say what each check needs."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

from ownpay.gateways.base import (
    GatewayContext,
    Outcome,
    PaymentView,
    VerifiedResult,
)
from ownpay.gateways.nagad.mapping import (
    STATUS_TEXT,
    AmountNotRepresentable,
    PaymentStatus,
    RefundStatus,
    from_nagad_amount,
    map_refund,
    map_verify,
    order_id,
    to_nagad_amount,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Probe
from tests.contract.harnesses.common import BDT_PAYMENT, StandinHarness
from tests.simulators.nagad import CREDENTIALS, MERCHANT_ID, NagadSimulator, create_app

_PERFECT = {"merchantId": MERCHANT_ID, "orderId": "0123456789abcdef0a0b",
            "paymentRefId": "MjAyNjEyMDIx", "amount": "99.99", "issuerPaymentRefNo": "7A1B2C3D",
            "statusCode": "00_0000_000"}


def _payment_status(raw: str) -> Outcome:
    return map_verify({**_PERFECT, "status": raw}, operation="probe").outcome


def _refund_status(raw: str) -> Outcome:
    return map_refund({"status": raw, "cancelAmount": "10.00", "cancelTrxId": "C1"},
                      amount="10.00").outcome


def callback_params(url: str) -> dict[str, str]:
    """What our return route hands ``verify_return`` for Nagad's redirect to ``url``."""
    parts = urlsplit(url)
    return {**dict(parse_qsl(parts.query)), "return_token": parts.path.rsplit("/", 1)[-1]}


class NagadHarness(StandinHarness[NagadSimulator]):
    slug = "nagad"
    failure_reasons = (
        *(f"Nagad status {s} (statusCode 00_1010_002) (verify)" for s in PaymentStatus),
        *(f"Nagad status {s}: {STATUS_TEXT[s][1]} (statusCode 00_1010_002) (verify)"
          for s in PaymentStatus),
        "Nagad refused the initialize: InvalidMerchant Invalid merchant",
        "Nagad return Aborted; Nagad status Ready (statusCode none) (verify)",
        "nothing to cancel: Nagad status Aborted (statusCode 00_1013_001) (verify)",
    )
    probes = (
        Probe(PaymentStatus, _payment_status, frozenset({PaymentStatus.SUCCESS})),
        Probe(RefundStatus, _refund_status, frozenset(RefundStatus)),
    )
    amounts = AmountRule(to_nagad_amount, from_nagad_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    new_app = staticmethod(create_app)
    standin_credentials = CREDENTIALS
    payment_defaults = BDT_PAYMENT

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        view = await self.gateway.start_checkout(ctx, payment)
        assert view.redirect_url and view.provider_reference
        back = self.sim.act(view.provider_reference, "success")
        match tamper:  # what Nagad would report had the payment been altered at its end
            case "amount":
                self.sim.tamper = {"amount": "1.00"}
            case "currency":
                self.sim.tamper = {"currencyCode": "840"}
            case "reference":
                self.sim.tamper = {"orderId": order_id(OTHER_TRANSACTION, "0000")}
        try:
            current = replace(payment, provider_reference=view.provider_reference)
            returned = await self.gateway.verify_return(ctx, current, callback_params(back))
            asked = await self.gateway.query_status(ctx, current)
        finally:
            self.sim.tamper = {}
        return [returned, asked]

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        assert payment.provider_reference
        return int(self.sim.refunded(payment.provider_reference) * 100)


HARNESS = NagadHarness
