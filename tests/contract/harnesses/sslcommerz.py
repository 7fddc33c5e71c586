"""``sslcommerz`` against the SSLCommerz stand-in (``tests/simulators/sslcommerz.py``),
served on loopback in the test's event loop so the harness can make "SSLCommerz" say what
each check needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx

from ownpay.gateways.base import (
    GatewayContext,
    MemoryStateStore,
    Outcome,
    PaymentView,
    StateStore,
    VerifiedResult,
    provider_status,
)
from ownpay.gateways.sslcommerz.mapping import (
    AmountNotRepresentable,
    RefundReply,
    RefundState,
    TransactionStatus,
    from_sslcommerz_amount,
    map_transaction,
    refund_reply_outcome,
    refund_state_outcome,
    to_sslcommerz_amount,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Harness, Probe, Webhook
from tests.simulators.loopback import Loopback
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


def _refund_reply(raw: str) -> Outcome:
    return refund_reply_outcome(provider_status(RefundReply, raw))


def _refund_state(raw: str) -> Outcome:
    return refund_state_outcome(provider_status(RefundState, raw))


class SslcommerzHarness(Harness):
    slug = "sslcommerz"
    probes = (
        Probe(TransactionStatus, _transaction_status,
              frozenset({TransactionStatus.VALID, TransactionStatus.VALIDATED})),
        Probe(RefundReply, _refund_reply),  # accepted, not yet paid back
        Probe(RefundState, _refund_state, frozenset({RefundState.REFUNDED})),
    )
    amounts = AmountRule(to_sslcommerz_amount, from_sslcommerz_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    def __init__(self) -> None:
        self.app = create_app()
        self.server = Loopback(self.app)

    @property
    def sim(self) -> SslcommerzSimulator:
        sim: SslcommerzSimulator = self.app.state.sim
        return sim

    async def start(self) -> None:
        await self.server.__aenter__()
        self.sim.base_url = self.server.url

    async def stop(self) -> None:
        await self.server.__aexit__()

    def credentials(self) -> dict[str, str]:
        return dict(CREDENTIALS)

    def settings(self) -> dict[str, Any]:
        return {"base_url": self.server.url}

    def context(self, http: httpx.AsyncClient, *, store: StateStore | None = None,
                credentials: Mapping[str, str] | None = None) -> GatewayContext:
        """As the base does; a ``base_url`` among ``credentials`` (a closed port) wins over
        the stand-in's, as a merchant's own setting would."""
        settings = self.settings()
        if credentials is not None and "base_url" in credentials:
            settings["base_url"] = credentials["base_url"]
            credentials = {k: v for k, v in credentials.items() if k != "base_url"}
        creds, normalised = self.gateway.validate_config(
            dict(credentials if credentials is not None else self.credentials()), settings)
        return GatewayContext(
            mode="test", credentials=creds, settings=normalised, http=http,
            public_base_url="http://pay.test",
            checkout_url="http://pay.test/checkout/txn_0123456789abcdef",
            store=store if store is not None else MemoryStateStore(),
        )

    def unreachable_credentials(self, port: int) -> dict[str, str] | None:
        return {**CREDENTIALS, "base_url": f"http://127.0.0.1:{port}"}

    def payment(self, **changes: Any) -> PaymentView:
        return super().payment(**{"amount_minor": 125050, "currency": "BDT",
                                  "customer_phone": "01770618575", **changes})

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
