"""A customer pays with SSLCommerz through our real checkout routes against the stand-in:
the session, the hosted page, the IPN (verified, then re-fetched), and the browser's POST
back (the core's POST return route, and ``verify_return`` directly)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome, PaymentView
from ownpay.gateways.registry import get as get_gateway
from ownpay.gateways.sslcommerz.adapter import return_token
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from ownpay.payments.service import mismatch
from tests.support.factories import MerchantKeys
from tests.support.records import gateway_call, outbox_types
from tests.support.sslcommerz import (
    RETURN_PATH,
    at_provider,
    new_payment,
    session_key_of,
    to_provider,
)
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


async def _ipn(customer: httpx.AsyncClient, shop: MerchantKeys, body: dict[str, str]
               ) -> httpx.Response:
    return await customer.post(
        f"/gateways/sslcommerz/webhooks/{shop.slug}/test", content=urlencode(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"})


async def test_checkout_creates_a_session_and_redirects_to_the_hosted_page(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    assert page.startswith(f"{sim_server.url}/gwprocess/v4/gw.php?")
    key = session_key_of(page)
    (name, sent), = [c for c in sim_server.sim.calls if c[0] == "session"]
    assert sent["tran_id"] == txn and sent["total_amount"] == "1250.50"
    assert sent["currency"] == "BDT" and sent["store_id"] == "testbox"
    for url in ("success_url", "fail_url", "cancel_url"):
        found = RETURN_PATH.match(sent[url])
        assert found and found.group(1) == txn, sent[url]
    assert sent["ipn_url"] == f"http://pay.test/gateways/sslcommerz/webhooks/{shop.slug}/test"
    got = await api_payment(customer, shop, txn)
    assert got["provider_reference"] == key and got["status"] == "pending"


async def test_ipn_completes_the_payment_once_even_when_sent_twice(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    await at_provider(browser_http, page)  # paid at SSLCommerz
    sim.duplicate_ipn = True
    answers = await sim.send_ipn(session_key_of(page), customer)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    got = await api_payment(customer, shop, txn)
    session = sim.session(session_key_of(page))
    assert got["status"] == "completed", got
    assert got["provider_transaction_id"] == session.bank_tran_id
    assert got["amount"] == 1250.5 and got["currency"] == "BDT"
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1


async def test_badly_signed_ipn_is_refused_and_changes_nothing(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    await at_provider(browser_http, page)
    body = sim_server.sim.ipn(session_key_of(page))
    body["verify_sign"] = "0" * 32
    r = await _ipn(customer, shop, body)
    assert r.status_code >= 400, r.text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


@pytest.mark.parametrize("tamper", [{"amount": "1.00"}, {"currency": "EUR"},
                                    {"tran_id": "txn_ffffffffffffffff"}],
                         ids=["amount", "currency", "reference"])
async def test_tampered_answers_never_complete(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext, tamper: dict[str, str],
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    _, posted = await at_provider(browser_http, page)
    sim.tamper = tamper
    await sim.send_ipn(session_key_of(page), customer)  # correctly signed, wrong figures
    assert (await api_payment(customer, shop, txn))["status"] != "completed"
    gctx, view = await _view(gateway_ctx, txn)
    adapter = get_gateway("sslcommerz")
    assert adapter is not None
    result = await adapter.verify_return(gctx, view, posted)
    assert result.outcome is not Outcome.SUCCEEDED or mismatch(await _stored(gateway_ctx, txn),
                                                               result)
    assert "payment.completed" not in await outbox_types(gateway_ctx, txn)


async def test_return_verifies_with_the_validation_api(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    target, posted = await at_provider(browser_http, page)
    assert RETURN_PATH.match(target)
    gctx, view = await _view(gateway_ctx, txn)
    adapter = get_gateway("sslcommerz")
    assert adapter is not None
    result = await adapter.verify_return(gctx, view, posted)
    assert result.outcome is Outcome.SUCCEEDED
    assert (result.amount_minor, result.currency, result.reference) == (125050, "BDT", txn)
    assert [c[0] for c in sim_server.sim.calls][-1] == "validation"
    # a forged post for an unpaid payment: "VALID" with a val_id SSLCommerz does not know
    unpaid = await new_payment(customer, shop)
    await to_provider(customer, unpaid)
    gctx2, view2 = await _view(gateway_ctx, unpaid)
    forged = await adapter.verify_return(gctx2, view2, {
        "status": "VALID", "val_id": "forged", "tran_id": unpaid, "amount": "1250.50",
        "return_token": return_token(gctx2, view2)})
    assert forged.outcome is Outcome.PENDING
    borrowed = await adapter.verify_return(gctx2, view2, {
        **posted, "tran_id": unpaid, "return_token": return_token(gctx2, view2)})
    assert borrowed.outcome is not Outcome.SUCCEEDED or mismatch(
        await _stored(gateway_ctx, unpaid), borrowed)  # another payment's val_id
    # the right val_id on a URL we never gave SSLCommerz: asked of SSLCommerz only
    unsigned = await adapter.verify_return(gctx, view, {**posted, "return_token": "0" * 32})
    assert unsigned.outcome is Outcome.SUCCEEDED and unsigned.reference == txn


@pytest.mark.parametrize(("choice", "outcome"), [("fail", Outcome.FAILED),
                                                 ("cancel", Outcome.CANCELLED)])
async def test_fail_and_cancel_are_confirmed_with_sslcommerz(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext, choice: str, outcome: Outcome,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    _, posted = await at_provider(browser_http, page, choice)
    gctx, view = await _view(gateway_ctx, txn)
    adapter = get_gateway("sslcommerz")
    assert adapter is not None
    result = await adapter.verify_return(gctx, view, posted)
    assert result.outcome is outcome and result.customer_message
    # the posted status alone never decides: a "FAILED" post for a session still open
    sim_server.sim.session(session_key_of(page)).status = "PENDING"
    hinted = await adapter.verify_return(gctx, view, posted)
    assert hinted.outcome is Outcome.PENDING


async def test_browser_posts_back_to_the_return_route_and_the_payment_completes(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext,
) -> None:
    txn = await new_payment(customer, shop, return_url="https://shop.example/done?ref=7")
    page = await to_provider(customer, txn)
    target, posted = await at_provider(browser_http, page)
    posted.pop("return_token")  # the route takes it from the path
    done = await customer.post(target.removeprefix("http://pay.test"), data=posted)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("https://shop.example/done")
    assert "status=completed" in done.headers["location"]
    assert (await api_payment(customer, shop, txn))["status"] == "completed"
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1
    # the cancel post brings the customer back to a payable page
    txn2 = await new_payment(customer, shop)
    target2, posted2 = await at_provider(browser_http, await to_provider(customer, txn2),
                                         "cancel")
    posted2.pop("return_token")
    back = await customer.post(target2.removeprefix("http://pay.test"), data=posted2)
    assert back.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn2))["status"] != "completed"


async def test_an_earlier_session_paid_in_another_tab_is_found(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    first = await to_provider(customer, txn)
    second = await to_provider(customer, txn)  # the checkout opened again: a new session
    assert session_key_of(first) != session_key_of(second)
    await at_provider(browser_http, first)  # the customer pays the first one
    await sim_server.sim.send_ipn(session_key_of(first), customer)
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed", got
    assert got["provider_transaction_id"] == sim_server.sim.session(
        session_key_of(first)).bank_tran_id
