"""The SSLCommerz adapter's refund initiate and refund query against the stand-in, on
payments completed through our real checkout (IPN)."""

from __future__ import annotations

from typing import Any

import httpx

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome, PaymentView
from ownpay.gateways.registry import get as get_gateway
from tests.support.factories import MerchantKeys
from tests.support.sslcommerz import at_provider, new_payment, session_key_of, to_provider
from tests.support.standins import SimServer, completed_view


async def paid(customer: httpx.AsyncClient, browser_http: httpx.AsyncClient,
               shop: MerchantKeys, sim_server: SimServer, gateway_ctx: AppContext,
               ) -> tuple[Any, PaymentView]:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    await at_provider(browser_http, page)
    await sim_server.sim.send_ipn(session_key_of(page), customer)
    return await completed_view(customer, shop, gateway_ctx, txn)


async def test_refund_is_accepted_then_paid_back(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, browser_http, shop, sim_server, gateway_ctx)
    adapter = get_gateway("sslcommerz")
    assert adapter is not None and view.provider_txn_id
    first = await adapter.refund(gctx, view, amount_minor=50000, refund_id="rf_one",
                                 reason="damaged  item")
    assert first.outcome is Outcome.PROCESSING and first.provider_refund_id
    sent = [q for op, q in sim.calls if op == "refund"][-1]
    assert sent["bank_tran_id"] == view.provider_txn_id
    assert (sent["refund_amount"], sent["refund_remarks"], sent["refe_id"]) == (
        "500.00", "damaged item", "rf_one")
    asked = await adapter.query_refund(gctx, view, refund_id="rf_one", provider_refund_id=None)
    assert asked.outcome is Outcome.PROCESSING
    assert asked.provider_refund_id == first.provider_refund_id
    sim.settle_refunds()
    done = await adapter.query_refund(gctx, view, refund_id="rf_one",
                                      provider_refund_id=first.provider_refund_id)
    assert done.outcome is Outcome.SUCCEEDED
    assert sim.refunded(view.provider_reference or "") == 500
    # more than what is left is refused by SSLCommerz
    over = await adapter.refund(gctx, view, amount_minor=100000, refund_id="rf_two",
                                reason=None)
    assert over.outcome is Outcome.FAILED and "exceeds" in (over.reason or "")


async def test_refund_cancelled_at_sslcommerz_is_failed(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    gctx, view = await paid(customer, browser_http, shop, sim_server, gateway_ctx)
    adapter = get_gateway("sslcommerz")
    assert adapter is not None
    first = await adapter.refund(gctx, view, amount_minor=125050, refund_id="rf_c",
                                 reason="x")
    sim_server.sim.settle_refunds("cancelled")
    later = await adapter.query_refund(gctx, view, refund_id="rf_c",
                                       provider_refund_id=first.provider_refund_id)
    assert later.outcome is Outcome.FAILED


async def test_refund_whose_answer_is_lost_is_unknown_never_resent(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, browser_http, shop, sim_server, gateway_ctx)
    adapter = get_gateway("sslcommerz")
    assert adapter is not None
    sim.drop = {"refund"}
    lost = await adapter.refund(gctx, view, amount_minor=1000, refund_id="rf_lost",
                                reason="x")
    assert lost.outcome is Outcome.UNKNOWN
    assert [op for op, _ in sim.calls].count("refund") == 1
    session = sim.session(view.provider_reference or "")
    assert len(session.refunds) == 1  # it did arrive: never sent again blindly
    sim.drop = set()
    asked = await adapter.query_refund(gctx, view, refund_id="rf_lost", provider_refund_id=None)
    assert asked.outcome is Outcome.UNKNOWN  # no refund_ref_id came back: cannot tell
