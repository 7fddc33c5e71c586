"""Razorpay refunds against the stand-in, on payments completed through our real checkout:
partial refunds, Razorpay's refusal, pending then processed, a lost answer sent again with
the same idempotency key (money moves once), and the refund listing."""

from __future__ import annotations

import httpx

from ownpay.context import AppContext
from ownpay.gateways.base import GatewayContext, Outcome, PaymentView
from ownpay.gateways.razorpay.adapter import ADAPTER
from tests.support.factories import MerchantKeys
from tests.support.razorpay import new_payment, post_handler, to_razorpay
from tests.support.standins import SimServer, completed_view


async def paid(customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
               gateway_ctx: AppContext) -> tuple[GatewayContext, PaymentView]:
    txn = await new_payment(customer, shop)
    fields = sim_server.sim.pay(await to_razorpay(customer, txn))
    assert (await post_handler(customer, txn, fields)).status_code == 303
    return await completed_view(customer, shop, gateway_ctx, txn)


async def test_partial_refunds_then_razorpay_refuses_more_than_is_left(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    assert view.provider_txn_id and view.provider_txn_id.startswith("pay_")
    first = await ADAPTER.refund(gctx, view, amount_minor=50000, refund_id="rf_one",
                                 reason="damaged  item")
    assert first.outcome is Outcome.SUCCEEDED and first.provider_refund_id
    (_, sent), = [c for c in sim.calls if c[0] == "refund"]
    assert (sent["amount"], sent["speed"], sent["payment_id"]) == (
        50000, "normal", view.provider_txn_id)
    assert sent["notes"]["ownpay_refund_id"] == "rf_one"
    assert sent["notes"]["reason"] == "damaged item"
    assert sent["key"] == "ownpay-rf_one"
    assert sim.refunded(view.provider_txn_id) == 50000
    over = await ADAPTER.refund(gctx, view, amount_minor=100000, refund_id="rf_two",
                                reason=None)
    assert over.outcome is Outcome.FAILED
    assert "greater than amount captured" in (over.reason or "")
    assert sim.refunded(view.provider_txn_id) == 50000
    tiny = await ADAPTER.refund(gctx, view, amount_minor=50, refund_id="rf_tiny", reason=None)
    assert tiny.outcome is Outcome.FAILED and "at least 1.00 INR" in (tiny.reason or "")
    listed = await ADAPTER.list_refunds(gctx, view)
    assert [(r.refund_id, r.amount_minor, r.currency, r.outcome) for r in listed] == [
        ("rf_one", 50000, "INR", Outcome.SUCCEEDED)]


async def test_a_pending_refund_is_processing_until_razorpay_processes_it(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    sim.refund_status = "pending"
    first = await ADAPTER.refund(gctx, view, amount_minor=125050, refund_id="rf_full",
                                 reason="x")
    assert first.outcome is Outcome.PROCESSING
    by_ours = await ADAPTER.query_refund(gctx, view, refund_id="rf_full",
                                         provider_refund_id=None)
    assert (by_ours.outcome, by_ours.provider_refund_id) == (
        Outcome.PROCESSING, first.provider_refund_id)
    sim.settle_refunds("failed")
    later = await ADAPTER.query_refund(gctx, view, refund_id="rf_full",
                                       provider_refund_id=first.provider_refund_id)
    assert later.outcome is Outcome.FAILED


async def test_a_lost_refund_answer_is_unknown_and_resending_moves_money_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    assert view.provider_txn_id
    sim.drop = {"refund"}
    lost = await ADAPTER.refund(gctx, view, amount_minor=10000, refund_id="rf_lost",
                                reason="x")
    assert lost.outcome is Outcome.UNKNOWN
    sim.drop = set()
    asked = await ADAPTER.query_refund(gctx, view, refund_id="rf_lost",
                                       provider_refund_id=None)
    assert asked.outcome is Outcome.SUCCEEDED  # it did arrive: found by our refund id
    again = await ADAPTER.refund(gctx, view, amount_minor=10000, refund_id="rf_lost",
                                 reason="x")
    assert again.outcome is Outcome.SUCCEEDED
    assert again.provider_refund_id == asked.provider_refund_id
    assert sim.refunded(view.provider_txn_id) == 10000
    assert len(sim.refunds) == 1
    never = await ADAPTER.query_refund(gctx, view, refund_id="rf_never",
                                       provider_refund_id=None)
    assert never.outcome is Outcome.UNKNOWN


async def test_refund_webhooks_name_the_payment_and_the_refund(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    done = await ADAPTER.refund(gctx, view, amount_minor=20000, refund_id="rf_hook",
                                reason=None)
    assert done.provider_refund_id
    for event in ("refund.processed", "refund.failed"):
        headers, body = sim.webhook(event, refund_id=done.provider_refund_id)
        parsed = await ADAPTER.parse_webhook(gctx, headers, body)
        assert parsed.kind.value == "refund" and parsed.reference == view.transaction_id
        assert parsed.provider_reference == view.provider_reference
        assert parsed.details["refund_id"] == done.provider_refund_id
        assert (parsed.details["amount_minor"], parsed.details["currency"]) == (20000, "INR")
    answer = await sim.send_webhook(f"/gateways/razorpay/webhooks/{shop.slug}/test",
                                    customer, "refund.processed",
                                    refund_id=done.provider_refund_id)
    assert answer[0].status_code < 300, answer[0].text
