"""A customer pays with PayPal through our real checkout routes against the stand-in: the
order, the approve page, the return (GET order + capture on the server, never the
redirect's word), the cancel URL, the webhook (verified by PayPal's API, then re-fetched),
tampered and forged answers, and an order approved but never brought back."""

from __future__ import annotations

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome
from ownpay.gateways.paypal.adapter import ADAPTER, capture_request_id
from ownpay.payments.service import mismatch
from tests.support.factories import MerchantKeys
from tests.support.paypal import (
    new_payment,
    order_of,
    to_paypal,
    webhook_url,
)
from tests.support.records import outbox_types
from tests.support.standins import SimServer, adapter_view, api_payment, local, query_of, stored


async def test_checkout_creates_an_order_and_redirects_to_its_approve_link(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_paypal(customer, txn)
    assert page.startswith(f"{sim_server.url}/checkoutnow?token=")
    (_, sent), = [c for c in sim_server.sim.calls if c[0] == "create"]
    unit = sent["purchase_units"][0]
    assert sent["intent"] == "CAPTURE"
    assert unit["amount"] == {"currency_code": "USD", "value": "49.95"}
    assert unit["custom_id"] == unit["invoice_id"] == txn
    context = sent["payment_source"]["paypal"]["experience_context"]
    assert context["return_url"] == f"http://pay.test/gateways/paypal/callback/{txn}"
    assert context["cancel_url"] == f"http://pay.test/gateways/paypal/callback/{txn}?cancelled=1"
    assert context["user_action"] == "PAY_NOW"
    got = await api_payment(customer, shop, txn)
    assert got["provider_reference"] == order_of(page) and got["status"] == "pending"
    # the page opened again: the same order, not a second one
    assert await to_paypal(customer, txn) == page
    assert [c[0] for c in sim_server.sim.calls].count("create") == 1


async def test_the_return_captures_on_the_server_and_completes_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop, return_url="https://shop.example/done?ref=7")
    order_id = order_of(await to_paypal(customer, txn))
    back = sim.approve(order_id)
    done = await customer.get(local(back))
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("https://shop.example/done")
    assert "status=completed" in done.headers["location"]
    got = await api_payment(customer, shop, txn)
    capture = sim.order(order_id).capture
    assert capture is not None
    assert got["status"] == "completed" and got["provider_transaction_id"] == capture.id
    assert got["amount"] == 49.95 and got["currency"] == "USD"
    names = [c[0] for c in sim.calls]
    assert names[-2:] == ["get", "capture"]  # asked, then captured by us
    (_, captured), = [c for c in sim.calls if c[0] == "capture"]
    assert captured["key"] == capture_request_id(order_id)
    again = await customer.get(local(back))  # a reload: no second capture or completion
    assert again.status_code == 303
    assert [c[0] for c in sim.calls].count("capture") == 1
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1


async def test_a_return_without_approval_changes_nothing(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    forged = {"token": order_id, "PayerID": "FORGEDPAYER01"}
    r = await customer.get(f"/gateways/paypal/callback/{txn}", params=forged)
    assert r.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    assert "capture" not in [c[0] for c in sim_server.sim.calls]


async def test_another_payments_order_in_the_return_is_ignored(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    await to_paypal(customer, txn)
    other = await new_payment(customer, shop)
    other_order = order_of(await to_paypal(customer, other))
    borrowed = query_of(sim.approve(other_order))  # approved, but for the other payment
    gctx, view = await adapter_view(gateway_ctx, txn)
    result = await ADAPTER.verify_return(gctx, view, borrowed)
    assert result.outcome is Outcome.PENDING
    assert sim.order(other_order).status == "APPROVED"  # never captured through txn
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


async def test_the_cancel_url_cancels_the_payment(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    back = sim.cancel(order_id)
    assert "cancelled=1" in back
    r = await customer.get(local(back))
    assert r.status_code in (200, 303), r.text
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "cancelled", got


async def test_the_cancel_url_after_approval_still_captures(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    """The cancel URL's word is not believed either: PayPal says approved, so it is paid."""
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    sim.approve(order_id)
    await customer.get(local(sim.cancel(order_id)))
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_an_approved_order_never_brought_back_is_captured_by_the_webhook_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    sim.approve(order_id)  # approved; the customer closed the tab before the redirect
    answers = await sim.send(webhook_url(shop), customer, sim.order_event(order_id), times=2)
    assert all(a.status_code < 300 for a in answers), [a.text for a in answers]
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed", got
    assert [c[0] for c in sim.calls].count("verify") == 2
    assert [c[0] for c in sim.calls].count("capture") == 1
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1


async def test_a_capture_completed_webhook_is_re_fetched(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    sim.approve(order_id)
    sim.capture(order_id)  # captured by someone else (PayPal's own tools)
    capture = sim.order(order_id).capture
    assert capture is not None
    r = (await sim.send(webhook_url(shop), customer, sim.capture_event(capture.id)))[0]
    assert r.status_code < 300, r.text
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed" and got["provider_transaction_id"] == capture.id


async def test_a_webhook_paypal_does_not_verify_is_refused_and_changes_nothing(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    sim.approve(order_id)
    headers, body = sim.order_event(order_id)
    forged = {**headers, "PAYPAL-TRANSMISSION-SIG": "Zm9yZ2VkIHNpZ25hdHVyZQ=="}
    r = await customer.post(webhook_url(shop), content=body, headers=forged)
    assert r.status_code >= 400, r.text
    missing = {k: v for k, v in headers.items() if k != "PAYPAL-CERT-URL"}
    r = await customer.post(webhook_url(shop), content=body, headers=missing)
    assert r.status_code >= 400, r.text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    assert "capture" not in [c[0] for c in sim.calls]


@pytest.mark.parametrize("tamper", [{"amount": "1.00"}, {"currency": "EUR"},
                                    {"custom_id": "txn_ffffffffffffffff"}],
                         ids=["amount", "currency", "reference"])
async def test_tampered_answers_never_complete(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext, tamper: dict[str, object],
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    back = sim.approve(order_id)
    sim.tamper = tamper
    await customer.get(local(back))  # PayPal reports other figures: never captured by us
    assert "capture" not in [c[0] for c in sim.calls]
    sim.tamper = {}
    sim.capture(order_id)
    sim.tamper = tamper
    await sim.send(webhook_url(shop), customer, sim.order_event(order_id))
    assert (await api_payment(customer, shop, txn))["status"] != "completed"
    gctx, view = await adapter_view(gateway_ctx, txn)
    result = await ADAPTER.verify_return(gctx, view, query_of(back))
    assert result.outcome is not Outcome.SUCCEEDED or mismatch(await stored(gateway_ctx, txn),
                                                               result)
    assert "payment.completed" not in await outbox_types(gateway_ctx, txn)


async def test_an_approved_order_is_captured_at_expiry_rather_than_dropped(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    sim.approve(order_id)
    gctx, view = await adapter_view(gateway_ctx, txn)
    result = await ADAPTER.cancel_provider_payment(gctx, view)
    assert result.outcome is Outcome.SUCCEEDED
    assert sim.order(order_id).status == "COMPLETED"


async def test_an_unapproved_order_has_nothing_to_cancel_and_a_finished_payment_is_never_captured(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    gctx, view = await adapter_view(gateway_ctx, txn)
    assert (await ADAPTER.cancel_provider_payment(gctx, view)).outcome is Outcome.CANCELLED
    sim.approve(order_id)  # approved after our payment ended
    from dataclasses import replace
    late = await ADAPTER.query_status(gctx, replace(view, status="expired"))
    assert late.outcome is Outcome.AUTHORIZED
    assert sim.order(order_id).status == "APPROVED"


async def test_a_paid_order_is_never_replaced_the_page_offers_to_check_it(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    sim.approve(order_id)  # approved; the redirect back never happened
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 200, page.text
    assert "Check the PayPal payment" in page.text
    assert len(sim.orders) == 1
    done = await customer.get(f"/gateways/paypal/callback/{txn}")
    assert done.status_code == 303
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_a_webhook_paypal_cannot_verify_now_is_refused_for_a_redelivery(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    sim.approve(order_id)
    sim.down = {"verify"}
    (r,) = await sim.send(webhook_url(shop), customer, sim.order_event(order_id))
    assert 400 <= r.status_code < 500, r.text  # not 2xx: PayPal delivers it again later
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    sim.down = set()
    (r,) = await sim.send(webhook_url(shop), customer, sim.order_event(order_id))
    assert r.status_code < 300 and (await api_payment(customer, shop, txn))["status"] == \
        "completed"
