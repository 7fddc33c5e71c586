"""PayPal refunds against the stand-in, on payments completed through our real checkout:
partial refunds on the capture, PayPal's refusals, pending then completed, a lost answer
found by our id and sent again with the same PayPal-Request-Id (money moves once), the
refund listing, and the refund webhook."""

from __future__ import annotations

import httpx

from ownpay.context import AppContext
from ownpay.gateways.base import GatewayContext, Outcome, PaymentView
from ownpay.gateways.executor import ProviderMayHaveActed
from ownpay.gateways.paypal.adapter import ADAPTER, refund_request_id
from tests.support.factories import MerchantKeys
from tests.support.paypal import (
    new_payment,
    order_of,
    to_paypal,
    webhook_url,
)
from tests.support.standins import SimServer, api_payment, completed_view, local


async def paid(customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
               gateway_ctx: AppContext) -> tuple[GatewayContext, PaymentView]:
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    assert (await customer.get(local(sim_server.sim.approve(order_id)))).status_code == 303
    return await completed_view(customer, shop, gateway_ctx, txn)


async def test_partial_refunds_then_paypal_refuses_more_than_is_left(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    assert view.provider_txn_id in sim.captures
    first = await ADAPTER.refund(gctx, view, amount_minor=2000, refund_id="rf_one",
                                 reason="damaged  item")
    assert first.outcome is Outcome.SUCCEEDED and first.provider_refund_id
    (_, sent), = [c for c in sim.calls if c[0] == "refund"]
    assert sent["amount"] == {"currency_code": "USD", "value": "20.00"}
    assert sent["capture_id"] == view.provider_txn_id
    assert (sent["invoice_id"], sent["custom_id"]) == ("rf_one", view.transaction_id)
    assert sent["note_to_payer"] == "damaged item"
    assert sent["key"] == refund_request_id("rf_one")
    assert sim.refunded(view.provider_txn_id or "") == 2000
    second = await ADAPTER.refund(gctx, view, amount_minor=2995, refund_id="rf_two",
                                  reason=None)
    assert second.outcome is Outcome.SUCCEEDED
    over = await ADAPTER.refund(gctx, view, amount_minor=1, refund_id="rf_three", reason=None)
    assert over.outcome is Outcome.FAILED
    assert "CAPTURE_FULLY_REFUNDED" in (over.reason or "")
    listed = await ADAPTER.list_refunds(gctx, view)
    assert [r.refund_id for r in listed] == ["rf_two", "rf_one"]
    assert [r.amount_minor for r in listed] == [2995, 2000]


async def test_a_refund_above_the_capture_is_refused(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    over = await ADAPTER.refund(gctx, view, amount_minor=5000, refund_id="rf_big", reason=None)
    assert over.outcome is Outcome.FAILED and "REFUND_AMOUNT_EXCEEDED" in (over.reason or "")
    assert sim_server.sim.refunded(view.provider_txn_id or "") == 0


async def test_a_pending_refund_is_asked_about_until_completed(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    sim.refund_status = "PENDING"
    first = await ADAPTER.refund(gctx, view, amount_minor=1000, refund_id="rf_p", reason=None)
    assert first.outcome is Outcome.PROCESSING and "ECHECK" in (first.reason or "")
    asked = await ADAPTER.query_refund(gctx, view, refund_id="rf_p",
                                       provider_refund_id=first.provider_refund_id)
    assert asked.outcome is Outcome.PROCESSING
    sim.settle_refunds()
    asked = await ADAPTER.query_refund(gctx, view, refund_id="rf_p",
                                       provider_refund_id=first.provider_refund_id)
    assert asked.outcome is Outcome.SUCCEEDED


async def test_a_lost_refund_answer_is_found_by_our_id_and_resent_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    sim.drop = {"refund"}
    try:
        await ADAPTER.refund(gctx, view, amount_minor=1500, refund_id="rf_lost", reason=None)
    except ProviderMayHaveActed:
        pass
    else:
        raise AssertionError("a dropped answer must be ambiguous")
    sim.drop = set()
    found = await ADAPTER.query_refund(gctx, view, refund_id="rf_lost", provider_refund_id=None)
    assert found.outcome is Outcome.SUCCEEDED and found.provider_refund_id
    again = await ADAPTER.refund(gctx, view, amount_minor=1500, refund_id="rf_lost",
                                 reason=None)
    assert again.provider_refund_id == found.provider_refund_id
    assert sim.refunded(view.provider_txn_id or "") == 1500
    unknown = await ADAPTER.query_refund(gctx, view, refund_id="rf_never",
                                         provider_refund_id=None)
    assert unknown.outcome is Outcome.UNKNOWN


async def test_the_refund_webhook_is_recorded_for_the_payment(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, shop, sim_server, gateway_ctx)
    done = await ADAPTER.refund(gctx, view, amount_minor=1000, refund_id="rf_w", reason=None)
    headers, body = sim.refund_event(done.provider_refund_id or "")
    event = await ADAPTER.parse_webhook(gctx, headers, body)
    assert event.kind.value == "refund" and event.reference == view.transaction_id
    assert event.details["amount_minor"] == 1000
    r = (await sim.send(webhook_url(shop), customer, (headers, body)))[0]
    assert r.status_code < 300, r.text
    # made outside OwnPay's refund flow (here: by the adapter directly, as PayPal's
    # dashboard would): the event brings it to our books through the refund listing
    got = await api_payment(customer, shop, view.transaction_id)
    assert got["status"] == "partially_refunded", got
