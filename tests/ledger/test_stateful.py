"""A hypothesis state machine drives random sequences of payments (card-like sandbox and
offline manual ones), failed payments, partial and full refunds, bursts of concurrent refund
attempts and operator decisions through the real API, and checks after every step that the
books balance and agree with an independent model.

It runs on its own event loop and application context (hypothesis' stateful runner is
synchronous), against the same test database as everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.ledger import verify as ledger_verify
from ownpay.payments.models import PaymentIntent
from tests.support.checkout import failed_payment, paid, refund
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.settings import make_settings

T = TypeVar("T")


@dataclass
class Paid:
    txn: str
    amount: int  # cents
    fee: int
    offline: bool
    refunded: int = 0
    reserved: int = 0

    @property
    def remaining(self) -> int:
        return self.amount - self.refunded - self.reserved

    @property
    def status(self) -> str:
        if self.refunded == self.amount:
            return "refunded"
        return "partially_refunded" if self.refunded else "completed"


@dataclass
class Runtime:
    loop: asyncio.AbstractEventLoop
    ctx: AppContext
    client: httpx.AsyncClient

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)


def expected_fee(amount: int, flat: int, percent: str) -> int:
    """The documented rule, computed independently: flat + percent rounded half up."""
    part = (Decimal(amount) * Decimal(percent) / 100).quantize(Decimal(1), ROUND_HALF_UP)
    return min(flat + int(part), amount)


class LedgerMachine(RuleBasedStateMachine):
    runtime: Runtime  # set by the test below

    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.merchant: MerchantKeys = self.runtime.run(create_merchant(self.runtime.ctx))
        self.paid: dict[str, Paid] = {}
        self.pending: list[tuple[str, str, int]] = []  # (refund id, txn, cents), offline
        self.flat = 0
        self.percent = "0"

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runtime.run(coro)

    @initialize(flat=st.sampled_from([0, 30]), percent=st.sampled_from(["0", "1.5", "2.9", "10"]))
    def fee_rule(self, flat: int, percent: str) -> None:
        self.flat, self.percent = flat, percent
        for gateway in ("sandbox", "manual"):
            r = self.call(self.runtime.client.put("/api/v1/fee-rules", headers=self.merchant.auth(),
                          json={"gateway": gateway, "currency": "USD",
                                "flat": str(Decimal(flat) / 100), "percent": percent}))
            assert r.status_code == 200, r.text

    @rule(target=payments, cents=st.integers(1, 20_000), offline=st.booleans())
    def pay(self, cents: int, offline: bool) -> str:
        gateway = "manual" if offline else "sandbox"
        txn = self.call(paid(self.runtime.client, self.merchant, str(Decimal(cents) / 100),
                             gateway=gateway))
        self.paid[txn] = Paid(txn, cents, expected_fee(cents, self.flat, self.percent), offline)
        return txn

    @rule()
    def refund_a_failed_payment(self) -> None:
        txn = self.call(failed_payment(self.runtime.client, self.merchant))
        r = self.call(refund(self.runtime.client, self.merchant, txn, "1.00"))
        assert r.status_code == 409 and r.json()["code"] == "INVALID_STATE"

    def _expect(self, p: Paid, r: httpx.Response, cents: int | None) -> None:
        want = p.remaining if cents is None else cents
        if p.status == "refunded":
            assert r.status_code == 409, r.text
            return
        if want <= 0 or want > p.remaining:
            assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", r.text
            return
        assert r.status_code == 201, r.text
        self._apply(p, r.json(), want)

    def _apply(self, p: Paid, body: dict[str, Any], cents: int) -> None:
        assert round(body["amount"] * 100) == cents
        if p.offline:
            assert body["status"] == "pending"
            p.reserved += cents
            self.pending.append((body["id"], p.txn, cents))
        else:
            assert body["status"] == "completed"
            p.refunded += cents

    @rule(txn=payments, how=st.sampled_from(["part", "part", "rest", "over"]),
          share=st.integers(1, 99))
    def refund(self, txn: str, how: str, share: int) -> None:
        p = self.paid[txn]
        cents: int | None
        if how == "rest":
            cents = None  # the API's default: everything still refundable
        elif how == "over":
            cents = max(p.remaining, 0) + share
        else:
            cents = max(1, max(p.remaining, 0) * share // 100)
        amount = None if cents is None else str(Decimal(cents) / 100)
        r = self.call(refund(self.runtime.client, self.merchant, txn, amount))
        self._expect(p, r, cents)

    @rule(txn=payments, attempts=st.integers(2, 6), share=st.integers(10, 60))
    def concurrent_refunds(self, txn: str, attempts: int, share: int) -> None:
        p = self.paid[txn]
        cents = max(1, max(p.remaining, 0) * share // 100)
        amount = str(Decimal(cents) / 100)

        async def burst() -> list[httpx.Response]:
            return list(await asyncio.gather(*[
                refund(self.runtime.client, self.merchant, txn, amount) for _ in range(attempts)]))

        answers = self.call(burst())
        won = [a for a in answers if a.status_code == 201]
        if p.status == "refunded":
            assert {a.status_code for a in answers} == {409}
            return
        # Reservations are atomic: exactly as many win as fit in what is left.
        assert len(won) == min(attempts, max(p.remaining, 0) // cents), [
            a.status_code for a in answers]
        assert {a.status_code for a in answers} - {201} <= {400, 409}
        for answer in won:
            self._apply(p, answer.json(), cents)

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data(), confirm=st.booleans())
    def operator_decides(self, data: st.DataObject, confirm: bool) -> None:
        refund_id, txn, cents = self.pending.pop(
            data.draw(st.integers(0, len(self.pending) - 1)))
        action = "confirm" if confirm else "fail"
        r = self.call(self.runtime.client.post(f"/api/v1/refunds/{refund_id}/{action}",
                                               headers=self.merchant.auth()))
        assert r.status_code == 200 and r.json()["status"] == (
            "completed" if confirm else "failed"), r.text
        p = self.paid[txn]
        p.reserved -= cents
        if confirm:
            p.refunded += cents

    @invariant()
    def books_balance_and_match_the_model(self) -> None:
        async def check() -> None:
            ctx = self.runtime.ctx
            async with ctx.sessions() as s:
                report = await ledger_verify.operator_verify(s, merchant_id=self.merchant.id)
                rows = {r.id: r for r in await s.scalars(select(PaymentIntent).where(
                    PaymentIntent.merchant_id == self.merchant.id,
                    PaymentIntent.status.in_(["completed", "partially_refunded", "refunded"])))}
            assert report.ok, report.as_dict()["problems"]
            assert set(rows) == set(self.paid)
            for txn, p in self.paid.items():
                row = rows[txn]
                assert (row.status, row.refunded_minor, row.refund_reserved_minor,
                        row.fee_minor) == (p.status, p.refunded, p.reserved, p.fee), txn
            r = await self.runtime.client.get("/api/v1/ledger/balances",
                                              headers=self.merchant.auth())
            data = r.json()["data"]
            if not self.paid:
                assert data == []
                return
            (usd,) = data
            cents = {k: round(v["balance"] * 100) for k, v in usd["accounts"].items()}
            amount = sum(p.amount for p in self.paid.values())
            refunded = sum(p.refunded for p in self.paid.values())
            fees = sum(p.fee for p in self.paid.values())
            assert cents == {"gateway_clearing": amount - refunded,
                             "merchant_payable": amount - fees, "fee_income": fees,
                             "refunds": refunded}

        self.call(check())


@pytest.mark.api
def test_random_payments_and_refunds_keep_the_books(
    ctx: AppContext, database_url: str, tmp_path: Path
) -> None:
    del ctx  # requested so the session's database is migrated; this test has its own context
    loop = asyncio.new_event_loop()
    own = AppContext.create(make_settings(database_url, tmp_path / "data"))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(own.settings, ctx=own)),
                               base_url="http://pay.test")
    LedgerMachine.runtime = Runtime(loop=loop, ctx=own, client=client)
    try:
        run_state_machine_as_test(LedgerMachine, settings=settings(
            max_examples=8, stateful_step_count=12, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ))
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(own.close())
        loop.close()
