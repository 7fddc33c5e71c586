"""A customer pays with Nagad through our real checkout routes against the stand-in: the
initialize and complete calls, Nagad's page, the browser's GET back to our callback
(verified with Nagad's verify API), cancellations, failures, tampered and forged answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome, PaymentView
from ownpay.gateways.nagad.adapter import return_token
from ownpay.gateways.registry import get as get_gateway
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from ownpay.payments.service import mismatch
from tests.contract.harnesses.nagad import callback_params
from tests.simulators.nagad import open_from_merchant
from tests.support.factories import MerchantKeys
from tests.support.nagad import CALLBACK, at_provider, new_payment, ref_of, to_provider
from tests.support.records import gateway_call, outbox_types
from tests.support.standins import SimServer, api_payment


async def _stored(ctx: AppContext, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        stored = await s.get(PaymentIntent, txn)
    assert stored is not None
    return stored


async def _view(ctx: AppContext, txn: str) -> tuple[Any, PaymentView]:
    stored = await _stored(ctx, txn)
    gctx, slug = await gateway_call(ctx, stored)
    return gctx, payment_view(stored, slug)


def _adapter() -> Any:
    adapter = get_gateway("nagad")
    assert adapter is not None
    return adapter


async def test_checkout_initializes_completes_and_redirects_to_nagad(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    assert page.startswith(f"{sim_server.url}/check-out/")
    (_, init), = [c for c in sim.calls if c[0] == "initialize"]
    assert init["path"].startswith("683002007104225/" + txn.removeprefix("txn_"))
    assert init["accountNumber"] == "01711428036" and len(init["dateTime"]) == 14
    assert init["headers"]["x-km-api-version"] == "v-0.2.0"
    assert init["headers"]["x-km-client-type"] == "PC_WEB"
    inner = open_from_merchant(init["sensitiveData"], init["signature"])
    assert inner is not None and inner["datetime"] == init["dateTime"]
    (_, done), = [c for c in sim.calls if c[0] == "complete"]
    placed = open_from_merchant(done["sensitiveData"], done["signature"])
    assert placed is not None
    assert (placed["amount"], placed["currencyCode"]) == ("1250.50", "050")
    found = CALLBACK.match(done["merchantCallbackURL"])
    assert found and found.group(1) == txn
    got = await api_payment(customer, shop, txn)
    assert got["provider_reference"] == ref_of(page) and got["status"] == "pending"


async def test_the_browser_comes_back_and_the_payment_completes_once(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop, return_url="https://shop.example/done?ref=7")
    page = await to_provider(customer, txn)
    back = await at_provider(browser_http, page)
    assert back.startswith("http://pay.test/gateways/nagad/callback/")
    for _ in range(2):  # a refresh of the callback changes nothing
        done = await customer.get(back.removeprefix("http://pay.test"))
        assert done.status_code == 303, done.text
        assert done.headers["location"].startswith("https://shop.example/done")
        assert "status=completed" in done.headers["location"]
    got = await api_payment(customer, shop, txn)
    session = sim_server.sim.session(ref_of(page))
    assert got["status"] == "completed", got
    assert got["provider_transaction_id"] == session.issuer_ref
    assert got["amount"] == 1250.5 and got["currency"] == "BDT"
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1
    assert [c[0] for c in sim_server.sim.calls].count("verify") >= 1


@pytest.mark.parametrize("tamper", [{"amount": "1.00"}, {"currencyCode": "840"},
                                    {"orderId": "ffffffffffffffff0000"}],
                         ids=["amount", "currency", "reference"])
async def test_tampered_verify_answers_never_complete(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext, tamper: dict[str, str],
) -> None:
    txn = await new_payment(customer, shop)
    back = await at_provider(browser_http, await to_provider(customer, txn))
    sim_server.sim.tamper = tamper
    await customer.get(back.removeprefix("http://pay.test"))
    assert (await api_payment(customer, shop, txn))["status"] != "completed"
    gctx, view = await _view(gateway_ctx, txn)
    result = await _adapter().verify_return(gctx, view, callback_params(back))
    assert result.outcome is not Outcome.SUCCEEDED or mismatch(
        await _stored(gateway_ctx, txn), result)
    assert "payment.completed" not in await outbox_types(gateway_ctx, txn)


async def test_a_forged_callback_saying_success_is_not_believed(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)  # the customer never pays
    gctx, view = await _view(gateway_ctx, txn)
    forged = {"status": "Success", "status_code": "00_0000_000", "order_id": "x",
              "payment_ref_id": ref_of(page), "issuer_payment_ref": "FAKE1234",
              "return_token": return_token(gctx, view)}
    result = await _adapter().verify_return(gctx, view, forged)
    assert result.outcome is Outcome.PENDING
    r = await customer.get(f"/gateways/nagad/callback/{txn}/{return_token(gctx, view)}",
                           params={k: v for k, v in forged.items() if k != "return_token"})
    assert r.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


async def test_another_payments_session_named_by_the_callback_is_ignored(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    paid = await new_payment(customer, shop)
    paid_back = await at_provider(browser_http, await to_provider(customer, paid))
    unpaid = await new_payment(customer, shop)
    await to_provider(customer, unpaid)
    gctx, view = await _view(gateway_ctx, unpaid)
    borrowed = {**callback_params(paid_back), "return_token": return_token(gctx, view)}
    result = await _adapter().verify_return(gctx, view, borrowed)
    assert result.outcome is Outcome.PENDING


@pytest.mark.parametrize(("choice", "outcome"), [("fail", Outcome.FAILED),
                                                 ("cancel", Outcome.CANCELLED)])
async def test_fail_and_cancel_are_confirmed_with_nagad(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext, choice: str, outcome: Outcome,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    back = await at_provider(browser_http, page, choice)
    gctx, view = await _view(gateway_ctx, txn)
    result = await _adapter().verify_return(gctx, view, callback_params(back))
    assert result.outcome is outcome and result.customer_message
    # the callback's status alone never decides: "Aborted" for a session still open
    sim_server.sim.session(ref_of(page)).status = "Ready"
    hinted = await _adapter().verify_return(gctx, view, callback_params(back))
    assert hinted.outcome is Outcome.PENDING and hinted.customer_message


async def test_cancel_at_nagad_cancels_the_payment(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    back = await at_provider(browser_http, await to_provider(customer, txn), "cancel")
    r = await customer.get(back.removeprefix("http://pay.test"))
    assert r.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn))["status"] == "cancelled"


async def test_an_earlier_session_paid_in_another_tab_is_found(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop)
    first = await to_provider(customer, txn)
    second = await to_provider(customer, txn)  # the checkout opened again: a new session
    assert ref_of(first) != ref_of(second)
    assert len(sim_server.sim.of_transaction(txn)) == 2
    sim_server.sim.act(ref_of(first), "success")  # paid in the first tab; no callback yet
    gctx, view = await _view(gateway_ctx, txn)
    found = await _adapter().query_status(gctx, view)
    assert found.outcome is Outcome.SUCCEEDED and found.reference == txn
    assert found.provider_reference == ref_of(first)


async def test_a_callback_naming_a_session_nagad_does_not_know_changes_nothing(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop)
    await to_provider(customer, txn)
    gctx, view = await _view(gateway_ctx, txn)
    made_up = {"payment_ref_id": "MDEyMzQ1Njc4OTAxMjM0NQ==", "status": "Success",
               "return_token": return_token(gctx, view)}
    result = await _adapter().verify_return(gctx, view, made_up)
    assert result.outcome is Outcome.PENDING
    assert [c[1]["path"] for c in sim_server.sim.calls if c[0] == "verify"][0] == (
        made_up["payment_ref_id"])
