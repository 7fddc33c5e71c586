"""``aamarpay`` against the aamarPay stand-in (``tests/simulators/aamarpay.py``), served on
loopback in the test's event loop so the harness can make "aamarPay" say what each check
needs."""

from __future__ import annotations

from ownpay.gateways.aamarpay.adapter import return_token
from ownpay.gateways.aamarpay.mapping import (
    AmountNotRepresentable,
    PayStatus,
    ReturnKind,
    StatusCode,
    from_aamarpay_amount,
    map_verify,
    return_hint,
    to_aamarpay_amount,
)
from ownpay.gateways.base import (
    GatewayContext,
    Outcome,
    PaymentView,
    VerifiedResult,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Probe
from tests.contract.harnesses.common import BDT_PAYMENT, StandinHarness
from tests.simulators.aamarpay import SIGNATURE_KEY, STORE_ID, AamarpaySimulator, create_app

CREDENTIALS = {"store_id": STORE_ID, "signature_key": SIGNATURE_KEY}
_PERFECT = {"pg_txnid": "AAM1", "mer_txnid": "txn_0123456789abcdef", "amount": "99.99",
            "amount_original": "99.99", "currency_merchant": "BDT", "currency": "BDT"}


def _pay_status(raw: str) -> Outcome:
    return map_verify({**_PERFECT, "pay_status": raw, "status_code": "2"},
                      operation="probe").outcome


def _status_code(raw: str) -> Outcome:
    return map_verify({**_PERFECT, "pay_status": "Successful", "status_code": raw},
                      operation="probe").outcome


class AamarpayHarness(StandinHarness[AamarpaySimulator]):
    slug = "aamarpay"
    failure_reasons = (
        "aamarPay status Failed (status_code 7, Transaction Failed) (search)",
        "aamarPay status Failed (status_code None) (search)",
    )
    probes = (
        Probe(PayStatus, _pay_status, frozenset({PayStatus.SUCCESSFUL})),
        Probe(StatusCode, _status_code, frozenset({StatusCode.SUCCESSFUL})),
        Probe(ReturnKind, return_hint),  # which URL the browser came back to: a hint only
    )
    amounts = AmountRule(to_aamarpay_amount, from_aamarpay_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    new_app = staticmethod(create_app)
    standin_credentials = CREDENTIALS
    payment_defaults = BDT_PAYMENT
    tells_standin_its_url = False

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        view = await self.gateway.start_checkout(ctx, payment)
        assert view.redirect_url and view.provider_reference
        self.sim.act(payment.transaction_id, "success")
        match tamper:  # what aamarPay would report had the payment been altered at its end
            case "amount":
                self.sim.tamper[payment.transaction_id] = {"amount": "1.00",
                                                           "amount_original": "1.00"}
            case "currency":
                self.sim.tamper[payment.transaction_id] = {"currency": "USD",
                                                           "currency_merchant": "USD"}
            case "reference":
                self.sim.tamper[payment.transaction_id] = {"mer_txnid": OTHER_TRANSACTION}
        returned = await self.gateway.verify_return(
            ctx, payment, {"return_token": return_token(ctx, payment, ReturnKind.SUCCESS),
                           "pay_status": "Successful"})
        asked = await self.gateway.query_status(ctx, payment)
        return [returned, asked]


HARNESS = AamarpayHarness
