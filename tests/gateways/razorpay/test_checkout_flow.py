"""A customer pays with Razorpay through our real checkout routes against the stand-in: the
Payment Link, the hosted page, the signed callback (checked, then re-fetched), the webhook
(verified, then re-fetched), tampered and forged answers, and a second link only once the
first can no longer take money."""

from __future__ import annotations

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome
from ownpay.gateways.razorpay.adapter import ADAPTER
from ownpay.payments.service import mismatch
from tests.gateways.razorpay.conftest import (
    SimServer,
    adapter_view,
    api_payment,
    link_of,
    local,
    new_payment,
    query_of,
    stored,
    to_razorpay,
)
from tests.support.factories import MerchantKeys
from tests.support.records import outbox_types


def _webhook_url(shop: MerchantKeys) -> str:
    return f"/gateways/razorpay/webhooks/{shop.slug}/test"


async def test_checkout_creates_a_payment_link_and_redirects_to_it(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_razorpay(customer, txn)
    assert page.startswith(f"{sim_server.url}/i/")
    (_, sent), = [c for c in sim_server.sim.calls if c[0] == "create_link"]
    assert (sent["amount"], sent["currency"], sent["reference_id"]) == (125050, "INR", txn)
    assert sent["accept_partial"] is False and sent["callback_method"] == "get"
    assert sent["callback_url"] == f"http://pay.test/gateways/razorpay/callback/{txn}"
    assert sent["notes"]["ownpay_transaction_id"] == txn
    got = await api_payment(customer, shop, txn)
    assert got["provider_reference"] == link_of(sim_server.sim, page)
    assert got["status"] == "pending"
    # the page opened again: the same link, not a second one
    assert await to_razorpay(customer, txn) == page
    assert [c[0] for c in sim_server.sim.calls].count("create_link") == 1


async def test_the_signed_callback_completes_the_payment_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    rzp_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop, return_url="https://shop.example/done?ref=7")
    link_id = link_of(sim, await to_razorpay(customer, txn))
    callback = sim.pay(link_id)
    assert callback is not None
    done = await customer.get(local(callback))
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("https://shop.example/done")
    assert "status=completed" in done.headers["location"]
    got = await api_payment(customer, shop, txn)
    payment = sim.link(link_id).payments[0]
    assert got["status"] == "completed" and got["provider_transaction_id"] == payment.id
    assert got["amount"] == 1250.5 and got["currency"] == "INR"
    assert [c[0] for c in sim.calls][-2:] == ["fetch_link", "payment"]  # re-fetched
    again = await customer.get(local(callback))  # a reload: no second completion
    assert again.status_code == 303
    assert (await outbox_types(rzp_ctx, txn)).count("payment.completed") == 1


async def test_a_forged_or_unsigned_callback_is_not_believed(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    rzp_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    link_id = link_of(sim, await to_razorpay(customer, txn))
    forged = {"razorpay_payment_id": "pay_Forged0000001", "razorpay_payment_link_id": link_id,
              "razorpay_payment_link_reference_id": txn,
              "razorpay_payment_link_status": "paid", "razorpay_signature": "0" * 64}
    r = await customer.get(f"/gateways/razorpay/callback/{txn}", params=forged)
    assert r.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    gctx, view = await adapter_view(rzp_ctx, txn)
    result = await ADAPTER.verify_return(gctx, view, forged)
    assert result.outcome is Outcome.PENDING
    # another payment's correctly signed callback, brought to this payment's URL
    other = await new_payment(customer, shop)
    other_link = link_of(sim, await to_razorpay(customer, other))
    signed = query_of(sim.pay(other_link) or "")
    borrowed = await ADAPTER.verify_return(gctx, view, signed)
    assert borrowed.outcome is Outcome.PENDING
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


async def test_webhook_completes_the_payment_once_even_when_sent_twice(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    rzp_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    link_id = link_of(sim, await to_razorpay(customer, txn))
    sim.pay(link_id)  # paid; the customer closed the tab before the redirect
    answers = await sim.send_webhook(link_id, _webhook_url(shop), customer, times=2)
    assert all(a.status_code < 300 for a in answers), [a.text for a in answers]
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed", got
    assert (await outbox_types(rzp_ctx, txn)).count("payment.completed") == 1


async def test_badly_signed_webhook_is_refused_and_changes_nothing(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    link_id = link_of(sim, await to_razorpay(customer, txn))
    sim.pay(link_id)
    headers, body = sim.webhook(link_id, secret="not-the-secret")
    r = await customer.post(_webhook_url(shop), content=body, headers=headers)
    assert r.status_code >= 400, r.text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


@pytest.mark.parametrize("tamper", [{"amount": 100}, {"currency": "USD"},
                                    {"reference_id": "txn_ffffffffffffffff"}],
                         ids=["amount", "currency", "reference"])
async def test_tampered_answers_never_complete(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    rzp_ctx: AppContext, tamper: dict[str, object],
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    link_id = link_of(sim, await to_razorpay(customer, txn))
    callback = sim.pay(link_id) or ""
    sim.tamper = tamper
    await customer.get(local(callback))  # correctly signed, Razorpay reports other figures
    await sim.send_webhook(link_id, _webhook_url(shop), customer)
    assert (await api_payment(customer, shop, txn))["status"] != "completed"
    gctx, view = await adapter_view(rzp_ctx, txn)
    result = await ADAPTER.verify_return(gctx, view, query_of(callback))
    assert result.outcome is not Outcome.SUCCEEDED or mismatch(await stored(rzp_ctx, txn),
                                                               result)
    assert "payment.completed" not in await outbox_types(rzp_ctx, txn)


async def test_a_failed_attempt_leaves_the_link_payable(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    rzp_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    link_id = link_of(sim, await to_razorpay(customer, txn))
    assert sim.pay(link_id, "fail") is None  # Razorpay keeps the customer on its page
    gctx, view = await adapter_view(rzp_ctx, txn)
    result = await ADAPTER.query_status(gctx, view)
    assert result.outcome is Outcome.PENDING and "last attempt 'failed'" in (result.reason or "")
    assert sim.pay(link_id) is not None  # the second try pays the same link
    assert (await ADAPTER.query_status(gctx, view)).outcome is Outcome.SUCCEEDED


async def test_a_new_link_only_once_the_old_one_is_closed(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    first = link_of(sim, await to_razorpay(customer, txn))
    sim.expire(first)
    second = link_of(sim, await to_razorpay(customer, txn))
    assert second != first and sim.link(second).reference_id == f"{txn}-1"
    assert (await api_payment(customer, shop, txn))["provider_reference"] == second
    callback = sim.pay(second) or ""
    assert (await customer.get(local(callback))).status_code == 303
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_a_lost_create_answer_reuses_the_link_razorpay_made(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    sim.drop = {"create_link"}
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 503  # "temporarily unavailable", never a 500
    sim.drop = set()
    assert len(sim.links) == 1  # Razorpay made it
    page = await to_razorpay(customer, txn)
    assert link_of(sim, page) == next(iter(sim.links))
    assert len(sim.links) == 1


async def test_a_paid_link_is_never_replaced_the_page_offers_to_check_it(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    link_id = link_of(sim, await to_razorpay(customer, txn))
    sim.pay(link_id)  # paid; the redirect back never happened
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 200, page.text
    assert "Check the Razorpay payment" in page.text
    assert f'href="http://pay.test/gateways/razorpay/callback/{txn}"' in page.text
    assert len(sim.links) == 1
    done = await customer.get(f"/gateways/razorpay/callback/{txn}")
    assert done.status_code == 303
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_odd_signatures_are_refused_not_crashed_on(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    rzp_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    link_id = link_of(sim, await to_razorpay(customer, txn))
    gctx, view = await adapter_view(rzp_ctx, txn)
    odd = {"razorpay_payment_link_id": link_id, "razorpay_payment_link_reference_id": txn,
           "razorpay_payment_link_status": "paid", "razorpay_signature": "é" * 64}
    assert (await ADAPTER.verify_return(gctx, view, odd)).outcome is Outcome.PENDING
    headers, body = sim.webhook(link_id)
    raw = [(k.encode(), v.encode()) for k, v in headers.items()
           if k != "X-Razorpay-Signature"] + [(b"X-Razorpay-Signature", b"\xfc" * 64)]
    r = await customer.post(f"/gateways/razorpay/webhooks/{shop.slug}/test", content=body,
                            headers=raw)
    assert 400 <= r.status_code < 500, r.text
