"""``nagad`` against the Nagad stand-in (``tests/simulators/nagad.py``), served on loopback
in the test's event loop so the harness can make "Nagad" say what each check needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from ownpay.gateways.base import (
    GatewayContext,
    Outcome,
    PaymentView,
    StateStore,
    VerifiedResult,
)
from ownpay.gateways.nagad.mapping import (
    AmountNotRepresentable,
    PaymentStatus,
    RefundStatus,
    from_nagad_amount,
    map_refund,
    map_verify,
    order_id,
    to_nagad_amount,
)
from tests.contract.harnesses.base import OTHER_TRANSACTION, AmountRule, Harness, Probe
from tests.simulators.loopback import Loopback
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


class NagadHarness(Harness):
    slug = "nagad"
    probes = (
        Probe(PaymentStatus, _payment_status, frozenset({PaymentStatus.SUCCESS})),
        Probe(RefundStatus, _refund_status, frozenset(RefundStatus)),
    )
    amounts = AmountRule(to_nagad_amount, from_nagad_amount, AmountNotRepresentable)
    tamperings = ("amount", "currency", "reference")

    def __init__(self) -> None:
        self.app = create_app()
        self.server = Loopback(self.app)

    @property
    def sim(self) -> NagadSimulator:
        sim: NagadSimulator = self.app.state.sim
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
        # An unreachable base URL travels with the credentials (``base_url`` is a setting).
        creds = dict(credentials if credentials is not None else self.credentials())
        base = creds.pop("base_url", None)
        ctx = super().context(http, store=store, credentials=creds)
        if base is None:
            return ctx
        return replace(ctx, settings={**ctx.settings, "base_url": base})

    def unreachable_credentials(self, port: int) -> dict[str, str] | None:
        return {**CREDENTIALS, "base_url": f"http://127.0.0.1:{port}"}

    def payment(self, **changes: Any) -> PaymentView:
        return super().payment(**{"amount_minor": 125050, "currency": "BDT",
                                  "customer_phone": "01770618575", **changes})

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
