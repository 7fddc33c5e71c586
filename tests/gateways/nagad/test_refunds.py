"""Nagad refunds (purchase/cancel) against the stand-in, on payments completed through our
real checkout: partial and full, refused by Nagad, answers that are lost or not Nagad's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome, PaymentView
from ownpay.gateways.registry import get as get_gateway
from tests.simulators.nagad import open_from_merchant
from tests.support.checkout import refund
from tests.support.factories import MerchantKeys
from tests.support.nagad import at_provider, new_payment, to_provider
from tests.support.standins import SimServer, api_payment, completed_view


async def paid(customer: httpx.AsyncClient, browser_http: httpx.AsyncClient,
               shop: MerchantKeys, gateway_ctx: AppContext) -> tuple[Any, PaymentView]:
    txn = await new_payment(customer, shop)
    back = await at_provider(browser_http, await to_provider(customer, txn))
    await customer.get(back.removeprefix("http://pay.test"))
    return await completed_view(customer, shop, gateway_ctx, txn)


def _adapter() -> Any:
    adapter = get_gateway("nagad")
    assert adapter is not None
    return adapter


async def test_partial_then_full_refund(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, browser_http, shop, gateway_ctx)
    assert view.provider_reference and view.provider_txn_id
    first = await _adapter().refund(gctx, view, amount_minor=50000, refund_id="rf_one",
                                    reason="damaged   item")
    assert first.outcome is Outcome.SUCCEEDED and first.provider_refund_id
    sent = [c for op, c in sim.calls if op == "refund"][-1]
    assert sent["paymentRefId"] == view.provider_reference
    inner = open_from_merchant(sent["sensitiveDataCancelRequest"], sent["signature"])
    assert inner is not None
    assert (inner["originalAmount"], inner["cancelAmount"], inner["referenceNo"],
            inner["referenceMessage"]) == ("1250.50", "500.00", "rf_one", "damaged item")
    assert sim.refunded(view.provider_reference) == Decimal("500.00")
    assert sim.session(view.provider_reference).status == "PartialRefunded"
    rest = await _adapter().refund(gctx, view, amount_minor=75050, refund_id="rf_two",
                                   reason=None)
    assert rest.outcome is Outcome.SUCCEEDED
    assert sim.session(view.provider_reference).status == "Refunded"
    # nothing is left: the adapter's own verify says so and nothing is sent
    sent_before = [op for op, _ in sim.calls].count("refund")
    more = await _adapter().refund(gctx, view, amount_minor=100, refund_id="rf_three",
                                   reason=None)
    assert more.outcome is Outcome.FAILED and "not refundable" in (more.reason or "")
    assert [op for op, _ in sim.calls].count("refund") == sent_before


async def test_a_refund_nagad_refuses_is_failed(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    gctx, view = await paid(customer, browser_http, shop, gateway_ctx)
    sim_server.sim.refuse = {"refund": ("InvalidRequest", "Refund window closed")}
    refused = await _adapter().refund(gctx, view, amount_minor=1000, refund_id="rf_x",
                                      reason="x")
    assert refused.outcome is Outcome.FAILED and "Refund window closed" in (refused.reason or "")
    assert sim_server.sim.refunded(view.provider_reference or "") == 0
    over = await _adapter().refund(gctx, view, amount_minor=125051, refund_id="rf_y",
                                   reason=None)
    assert over.outcome is Outcome.FAILED and "nothing sent" in (over.reason or "")


async def test_a_refund_whose_answer_is_lost_or_forged_is_unknown_never_resent(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    gctx, view = await paid(customer, browser_http, shop, gateway_ctx)
    sim.drop = {"refund"}
    lost = await _adapter().refund(gctx, view, amount_minor=1000, refund_id="rf_lost",
                                   reason="x")
    assert lost.outcome is Outcome.UNKNOWN
    assert [op for op, _ in sim.calls].count("refund") == 1
    assert sim.refunded(view.provider_reference or "") == Decimal("10.00")  # it did arrive
    sim.drop = set()
    sim.forge = {"refund"}
    forged = await _adapter().refund(gctx, view, amount_minor=1000, refund_id="rf_forged",
                                     reason="x")
    assert forged.outcome is Outcome.UNKNOWN and "not trusted" in (forged.reason or "")
    asked = await _adapter().query_refund(gctx, view, refund_id="rf_lost",
                                          provider_refund_id=None)
    assert asked.outcome is Outcome.UNKNOWN  # Nagad publishes no refund query


async def test_a_long_reason_is_shortened_to_fit_one_rsa_block(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    gctx, view = await paid(customer, browser_http, shop, gateway_ctx)
    done = await _adapter().refund(gctx, view, amount_minor=1000, refund_id="rf_" + "9" * 37,
                                   reason="বই ছেঁড়া " * 40)
    assert done.outcome is Outcome.SUCCEEDED
    sent = [c for op, c in sim_server.sim.calls if op == "refund"][-1]
    inner = open_from_merchant(sent["sensitiveDataCancelRequest"], sent["signature"])
    assert inner is not None and inner["referenceMessage"].startswith("বই ছেঁড়া")


async def test_refunds_through_the_api_partial_then_the_rest(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    """``POST /api/v1/refunds`` reaches Nagad's purchase/cancel and books what it answers."""
    _, view = await paid(customer, browser_http, shop, gateway_ctx)
    txn = view.transaction_id
    r = await refund(customer, shop, txn, "250.50", reason="one book damaged")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["amount"], body["currency"]) == ("completed", 250.5, "BDT")
    assert body["provider_refund_id"]
    got = await api_payment(customer, shop, txn)
    assert (got["status"], got["refunded_amount"]) == ("partially_refunded", 250.5)
    rest = await refund(customer, shop, txn)
    assert rest.status_code == 201 and rest.json()["status"] == "completed", rest.text
    got = await api_payment(customer, shop, txn)
    assert (got["status"], got["refunded_amount"]) == ("refunded", 1250.5)
    assert sim_server.sim.session(view.provider_reference or "").status == "Refunded"
    assert sim_server.sim.refunded(view.provider_reference or "") == Decimal("1250.50")
