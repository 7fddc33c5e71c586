"""The bKash adapter's refunds and refund-status query against the simulator, on payments
completed through our real checkout."""

from __future__ import annotations

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import GatewayContext, Outcome, PaymentView
from ownpay.gateways.bkash.adapter import BkashGateway
from ownpay.gateways.registry import get as get_gateway
from ownpay.payments.presenters import payment_view
from tests.simulators.bkash import REFUND, BkashSimulator
from tests.support.bkash import SimServer, new_payment, pay_through, stored
from tests.support.factories import MerchantKeys
from tests.support.records import gateway_call


@pytest.fixture
def bkash() -> BkashGateway:
    adapter = get_gateway("bkash")
    assert isinstance(adapter, BkashGateway)
    return adapter


async def paid(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    bkash_ctx: AppContext, amount: str = "1250.50",
) -> tuple[GatewayContext, PaymentView]:
    txn = await new_payment(customer, shop, amount=amount)
    _, done = await pay_through(customer, wallet, txn)
    assert "status=completed" in done.headers["location"]
    intent = await stored(bkash_ctx, txn)
    gctx, slug = await gateway_call(bkash_ctx, intent)
    return gctx, payment_view(intent, slug)


def refunds_at_bkash(sim: BkashSimulator, view: PaymentView) -> list[str]:
    assert view.provider_reference
    return [r.amount for r in sim.payment(view.provider_reference).refunds]


async def test_full_refund(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, bkash: BkashGateway,
) -> None:
    sim = sim_server.sim
    sim.wallets["01770618575"] = 5000
    gctx, view = await paid(customer, wallet, shop, bkash_ctx)
    assert sim.balance("01770618575") == 5000 - 1250.5
    result = await bkash.refund(gctx, view, amount_minor=125050, refund_id="rf_full_1",
                                reason="Order cancelled")
    assert result.outcome is Outcome.SUCCEEDED
    sim_payment = sim.payment(view.provider_reference or "")
    assert result.provider_refund_id == sim_payment.refunds[0].refund_trx_id
    assert sim.balance("01770618575") == 5000
    sent = [r.body for r in sim.requests if r.path == REFUND][-1]
    assert sent == {"paymentID": view.provider_reference, "trxID": view.provider_txn_id,
                    "amount": "1250.50", "sku": "rf_full_1", "reason": "Order cancelled"}

    again = await bkash.refund(gctx, view, amount_minor=100, refund_id="rf_full_2", reason=None)
    assert again.outcome is Outcome.FAILED and again.reason
    assert again.reason.startswith("bKash 2034 ")
    assert refunds_at_bkash(sim, view) == ["1250.50"]


async def test_partial_refunds_up_to_the_paid_amount(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, bkash: BkashGateway,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, wallet, shop, bkash_ctx, amount="1000")
    first = await bkash.refund(gctx, view, amount_minor=30000, refund_id="rf_p1", reason="one")
    assert first.outcome is Outcome.SUCCEEDED

    over = await bkash.refund(gctx, view, amount_minor=70001, refund_id="rf_p2", reason="two")
    assert over.outcome is Outcome.FAILED and over.reason
    assert over.reason.startswith("bKash 2026 ")  # bKash refuses more than is left
    assert refunds_at_bkash(sim, view) == ["300.00"]

    rest = await bkash.refund(gctx, view, amount_minor=70000, refund_id="rf_p3", reason="rest")
    assert rest.outcome is Outcome.SUCCEEDED
    assert refunds_at_bkash(sim, view) == ["300.00", "700.00"]

    status = await bkash.query_refund(gctx, view, refund_id="rf_p3",
                                      provider_refund_id=rest.provider_refund_id)
    assert status.outcome is Outcome.SUCCEEDED
    assert status.provider_refund_id == rest.provider_refund_id


@pytest.mark.parametrize("amount_minor", [0, -1, 125051])
async def test_refund_outside_the_paid_amount_is_refused_before_bkash(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, bkash: BkashGateway, amount_minor: int,
) -> None:
    gctx, view = await paid(customer, wallet, shop, bkash_ctx)
    before = sim_server.sim.calls[REFUND]
    result = await bkash.refund(gctx, view, amount_minor=amount_minor, refund_id="rf_bad",
                                reason="x")
    assert result.outcome is Outcome.FAILED and "nothing sent" in (result.reason or "")
    assert sim_server.sim.calls[REFUND] == before


async def test_refund_whose_answer_was_lost_is_found_by_the_status_query(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, bkash: BkashGateway,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, wallet, shop, bkash_ctx)
    earlier = await bkash.refund(gctx, view, amount_minor=5000, refund_id="rf_l0", reason="a")
    assert earlier.outcome is Outcome.SUCCEEDED

    sim.fail_after_next["payment/refund"] = 502  # bKash refunds, the answer is lost
    lost = await bkash.refund(gctx, view, amount_minor=10000, refund_id="rf_l1", reason="b")
    assert lost.outcome is Outcome.UNKNOWN and lost.provider_refund_id is None
    found = await bkash.query_refund(gctx, view, refund_id="rf_l1", provider_refund_id=None)
    assert found.outcome is Outcome.SUCCEEDED
    assert found.provider_refund_id == sim.payment(view.provider_reference or "").refunds[-1] \
        .refund_trx_id
    assert refunds_at_bkash(sim, view) == ["50.00", "100.00"]  # and nothing was sent twice


async def test_refund_that_never_arrived_is_reported_failed(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, bkash: BkashGateway,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, wallet, shop, bkash_ctx)
    sim.fail_next["payment/refund"] = 504  # refused by bKash's gateway before acting
    lost = await bkash.refund(gctx, view, amount_minor=10000, refund_id="rf_n1", reason="b")
    assert lost.outcome is Outcome.UNKNOWN  # from here we cannot know
    checked = await bkash.query_refund(gctx, view, refund_id="rf_n1", provider_refund_id=None)
    assert checked.outcome is Outcome.FAILED and "never arrived" in (checked.reason or "")
    assert refunds_at_bkash(sim, view) == []

    unknown = await bkash.query_refund(gctx, view, refund_id="rf_never_sent",
                                       provider_refund_id=None)
    assert unknown.outcome is Outcome.UNKNOWN


async def test_refund_when_bkash_is_unreachable_is_not_sent(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, bkash: BkashGateway,
) -> None:
    gctx, view = await paid(customer, wallet, shop, bkash_ctx)
    sim_server.sim.fail_next["refund/status"] = 503  # the check before sending fails
    result = await bkash.refund(gctx, view, amount_minor=100, refund_id="rf_u1", reason="x")
    assert result.outcome is Outcome.FAILED and "refund not sent" in (result.reason or "")
    assert refunds_at_bkash(sim_server.sim, view) == []
