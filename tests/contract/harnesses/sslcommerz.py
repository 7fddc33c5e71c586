"""``sslcommerz`` against the SSLCommerz stand-in (``tests/simulators/sslcommerz.py``),
served on loopback in the test's event loop so the harness can make "SSLCommerz" say what
each check needs."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from ownpay.gateways.base import (
    GatewayContext,
    Outcome,
    PaymentView,
    VerifiedResult,
    provider_status,
)
from ownpay.gateways.sslcommerz.mapping import (
    API_CONNECT_TEXT,
    STATUS_TEXT,
    AmountNotRepresentable,
    ApiConnect,
    RefundReply,
    RefundState,
    TransactionStatus,
    answered,
    from_sslcommerz_amount,
    map_transaction,
    refund_reply_outcome,
    refund_state_outcome,
    to_sslcommerz_amount,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Probe, Webhook
from tests.contract.harnesses.common import BDT_PAYMENT, StandinHarness
from tests.simulators.sslcommerz import (
    IPN_SIGNED,
    STORE_ID,
    STORE_PASSWD,
    SslcommerzSimulator,
    create_app,
    verify_sign,
)

CREDENTIALS = {"store_id": STORE_ID, "store_passwd": STORE_PASSWD}


def _transaction_status(raw: str) -> Outcome:
    data = {"status": raw, "tran_id": "txn_0123456789abcdef", "val_id": "V1",
            "bank_tran_id": "B1", "amount": "99.99", "currency": "BDT",
            "currency_type": "BDT", "currency_amount": "99.99", "risk_level": "0"}
    return map_transaction(data, session_key="S1", operation="probe").outcome


def _api_connect(raw: str) -> Outcome:
    data = {"APIConnect": raw, "status": "VALID", "tran_id": "txn_0123456789abcdef",
            "val_id": "V1", "bank_tran_id": "B1", "amount": "99.99", "currency": "BDT",
            "risk_level": "0"}
    return answered(data, session_key="S1", operation="probe").outcome


def _refund_reply(raw: str) -> Outcome:
    return refund_reply_outcome(provider_status(RefundReply, raw))


def _refund_state(raw: str) -> Outcome:
    return refund_state_outcome(provider_status(RefundState, raw))


class SslcommerzHarness(StandinHarness[SslcommerzSimulator]):
    slug = "sslcommerz"
    failure_reasons = (
        *(f"SSLCommerz status {s} (status query)" for s in TransactionStatus),
        *(f"SSLCommerz status {s}: {STATUS_TEXT[s][1]} (status query)"
          for s in TransactionStatus),
        *(f"SSLCommerz APIConnect {str(a)!r} ({API_CONNECT_TEXT[a]}, status query)"
          for a in ApiConnect),
        "SSLCommerz refused the session: Invalid amount",
        "capture outcome unknown: timeout",
    )
    probes = (
        Probe(TransactionStatus, _transaction_status,
              frozenset({TransactionStatus.VALID, TransactionStatus.VALIDATED})),
        Probe(ApiConnect, _api_connect, frozenset({ApiConnect.DONE})),
        Probe(RefundReply, _refund_reply),  # accepted, not yet paid back
        Probe(RefundState, _refund_state, frozenset({RefundState.REFUNDED})),
    )
    amounts = AmountRule(to_sslcommerz_amount, from_sslcommerz_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    new_app = staticmethod(create_app)
    standin_credentials = CREDENTIALS
    payment_defaults = BDT_PAYMENT

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        view = await self.gateway.start_checkout(ctx, payment)
        assert view.redirect_url and view.provider_reference
        key = view.provider_reference
        target, posted = self.sim.act(key, "success")
        match tamper:  # what SSLCommerz would report had the payment been altered there
            case "amount":
                self.sim.tamper = {"amount": "1.00"}
            case "currency":
                self.sim.tamper = {"currency": "EUR"}
            case "reference":
                self.sim.tamper = {"tran_id": OTHER_TRANSACTION}
        try:
            current = replace(payment, provider_reference=key)
            token = target.rstrip("/").rsplit("/", 1)[-1]
            returned = await self.gateway.verify_return(ctx, current,
                                                        {**posted, "return_token": token})
            asked = await self.gateway.query_status(ctx, current)
        finally:
            self.sim.tamper = {}
        return [returned, asked]

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        assert payment.provider_reference
        return int(self.sim.refunded(payment.provider_reference) * 100)

    def webhooks(self, ctx: GatewayContext, payment: PaymentView
                 ) -> tuple[Webhook, list[tuple[str, Webhook]]] | None:
        fields = {"tran_id": payment.transaction_id, "val_id": "2612021800001",
                  "status": "VALID", "amount": "1250.50", "currency": "BDT",
                  "bank_tran_id": "261202180000111", "store_id": STORE_ID}
        fields["verify_key"] = IPN_SIGNED
        fields["verify_sign"] = verify_sign(fields, IPN_SIGNED, STORE_PASSWD)
        headers = {"content-type": "application/x-www-form-urlencoded"}
        good = Webhook(headers, urlencode(fields).encode(),
                       event_id=f"ipn:{fields['val_id']}:VALID")
        wrong_secret = {**fields, "verify_sign": verify_sign(fields, IPN_SIGNED, "guess")}
        tampered = {**fields, "amount": "1.00"}
        unsigned = {k: v for k, v in fields.items() if k != "verify_sign"}
        narrow = {**fields, "verify_key": "amount"}
        narrow["verify_sign"] = verify_sign(narrow, "amount", STORE_PASSWD)
        bad = [
            ("a signature under another password", Webhook(headers, urlencode(wrong_secret)
                                                           .encode())),
            ("an altered amount", Webhook(headers, urlencode(tampered).encode())),
            ("no verify_sign", Webhook(headers, urlencode(unsigned).encode())),
            ("a verify_key leaving tran_id and status unsigned",
             Webhook(headers, urlencode(narrow).encode())),
            ("a body that is no form", Webhook(headers, b"\xff\xfe")),
        ]
        return good, bad


HARNESS = SslcommerzHarness
