"""A customer pays with Razorpay through our real checkout routes against the stand-in: the
Order, Checkout.js on our page (its CSP), the handler's signed fields posted back (checked,
then re-fetched), the webhook (verified, then re-fetched), tampered, forged and borrowed
answers, an authorised payment captured, an order that may have taken money never
replaced, and a closed (dismissed) form that leaves the payment payable until it expires."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome
from ownpay.gateways.razorpay.adapter import ADAPTER, CHECKOUT_JS_URL, script_origins
from ownpay.payments import expiry
from ownpay.payments.service import mismatch
from tests.simulators.razorpay import KEY_ID, RazorpaySimulator
from tests.support.factories import MerchantKeys
from tests.support.razorpay import (
    callback,
    new_payment,
    open_checkout,
    order_on,
    post_handler,
    to_razorpay,
)
from tests.support.records import outbox_types, status_history
from tests.support.standins import SimServer, adapter_view, api_payment, stored


def _webhook_url(shop: MerchantKeys) -> str:
    return f"/gateways/razorpay/webhooks/{shop.slug}/test"


async def test_checkout_creates_an_order_and_renders_checkout_js(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    page = await open_checkout(customer, txn)
    order_id = order_on(page)
    (_, sent), = [c for c in sim_server.sim.calls if c[0] == "create_order"]
    assert (sent["amount"], sent["currency"], sent["receipt"]) == (125050, "INR", txn)
    assert sent["payment_capture"] == 1
    assert sent["notes"]["ownpay_transaction_id"] == txn
    html = page.text
    assert f'data-key="{KEY_ID}"' in html and 'data-amount="125050"' in html
    assert 'data-currency="INR"' in html and 'data-prefill-email="gaurav.kumar@example.com"' in html
    assert 'data-prefill-contact="+919000090000"' in html
    assert f'action="{callback(txn)}"' in html
    assert f'src="{sim_server.url}/v1/checkout.js"' in html
    assert "needs JavaScript" in html  # the <noscript> explanation
    csp = page.headers["content-security-policy"]
    assert sim_server.url in csp and "checkout.razorpay.com" not in csp
    got = await api_payment(customer, shop, txn)
    assert got["provider_reference"] == order_id and got["status"] == "pending"
    # the page opened again: the same order, not a second one
    assert await to_razorpay(customer, txn) == order_id
    assert [c[0] for c in sim_server.sim.calls].count("create_order") == 1


def test_the_default_checkout_js_allows_razorpays_origins_only() -> None:
    assert script_origins(CHECKOUT_JS_URL) == (
        "https://checkout.razorpay.com", "https://api.razorpay.com")
    assert script_origins("http://127.0.0.1:9/v1/checkout.js") == ("http://127.0.0.1:9",)


async def test_the_signed_handler_fields_complete_the_payment_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop, return_url="https://shop.example/done?ref=7")
    order_id = await to_razorpay(customer, txn)
    fields = sim.pay(order_id)
    done = await post_handler(customer, txn, fields)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("https://shop.example/done")
    assert "status=completed" in done.headers["location"]
    got = await api_payment(customer, shop, txn)
    payment = sim.order(order_id).payments[0]
    assert got["status"] == "completed" and got["provider_transaction_id"] == payment.id
    assert got["amount"] == 1250.5 and got["currency"] == "INR"
    assert [c[0] for c in sim.calls][-2:] == ["fetch_order", "payment"]  # re-fetched
    again = await post_handler(customer, txn, fields)  # the handler twice: one completion
    assert again.status_code == 303
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1


async def test_a_tampered_or_forged_signature_is_refused(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = await to_razorpay(customer, txn)
    gctx, view = await adapter_view(gateway_ctx, txn)
    forged = {"razorpay_payment_id": "pay_Forged0000001", "razorpay_order_id": order_id,
              "razorpay_signature": "0" * 64}
    r = await post_handler(customer, txn, forged)
    assert r.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    assert (await ADAPTER.verify_return(gctx, view, forged)).outcome is Outcome.PENDING
    # a real payment, its signature altered by one character: refused, only asked about
    fields = dict(sim.pay(order_id) or {})
    fields["razorpay_signature"] = fields["razorpay_signature"][:-1] + (
        "0" if fields["razorpay_signature"][-1] != "0" else "1")
    before = len(sim.calls)
    result = await ADAPTER.verify_return(gctx, view, fields)
    # the order was paid (Razorpay says so, not the browser): only then it completes
    assert result.outcome is Outcome.SUCCEEDED
    assert "payment" not in [c[0] for c in sim.calls[before:]]  # the named id never fetched
    assert sim.handler_fields(order_id, "pay_X", secret="guess")["razorpay_signature"] \
        != RazorpaySimulator.handler_fields(order_id, "pay_X")["razorpay_signature"]


async def test_another_payments_signed_fields_are_not_borrowed(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    await to_razorpay(customer, txn)
    other = await new_payment(customer, shop)
    signed = sim.pay(await to_razorpay(customer, other))
    r = await post_handler(customer, txn, signed)
    assert r.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    gctx, view = await adapter_view(gateway_ctx, txn)
    assert (await ADAPTER.verify_return(gctx, view, signed or {})).outcome is Outcome.PENDING


async def test_webhook_completes_the_payment_once_even_when_sent_twice(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = await to_razorpay(customer, txn)
    fields = sim.pay(order_id) or {}  # paid; the customer closed the tab before the post
    answers = await sim.send_webhook(_webhook_url(shop), customer, "payment.captured",
                                     times=2, payment_id=fields["razorpay_payment_id"])
    assert all(a.status_code < 300 for a in answers), [a.text for a in answers]
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed", got
    more = await sim.send_webhook(_webhook_url(shop), customer, "order.paid",
                                  order_id=order_id, payment_id=fields["razorpay_payment_id"])
    assert more[0].status_code < 300
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1


async def test_a_failed_payment_webhook_leaves_the_order_payable(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = await to_razorpay(customer, txn)
    assert sim.pay(order_id, "fail") is None  # Checkout keeps the customer in its form
    failed = sim.order(order_id).payments[0].id
    r = await sim.send_webhook(_webhook_url(shop), customer, "payment.failed",
                               payment_id=failed)
    assert r[0].status_code < 300, r[0].text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    gctx, view = await adapter_view(gateway_ctx, txn)
    result = await ADAPTER.query_status(gctx, view)
    assert result.outcome is Outcome.PENDING and "'failed'" in (result.reason or "")
    fields = sim.pay(order_id)  # the second try pays the same order
    assert (await post_handler(customer, txn, fields)).status_code == 303
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_badly_signed_webhook_is_refused_and_changes_nothing(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    fields = sim.pay(await to_razorpay(customer, txn)) or {}
    headers, body = sim.webhook("payment.captured", payment_id=fields["razorpay_payment_id"],
                                secret="not-the-secret")
    r = await customer.post(_webhook_url(shop), content=body, headers=headers)
    assert r.status_code >= 400, r.text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


@pytest.mark.parametrize("tamper", [{"amount": 100}, {"currency": "USD"},
                                    {"receipt": "txn_ffffffffffffffff"}],
                         ids=["amount", "currency", "reference"])
async def test_tampered_answers_never_complete(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext, tamper: dict[str, object],
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    fields = sim.pay(await to_razorpay(customer, txn)) or {}
    sim.tamper = tamper
    await post_handler(customer, txn, fields)  # correctly signed, Razorpay says otherwise
    await sim.send_webhook(_webhook_url(shop), customer, "payment.captured",
                           payment_id=fields["razorpay_payment_id"])
    assert (await api_payment(customer, shop, txn))["status"] != "completed"
    gctx, view = await adapter_view(gateway_ctx, txn)
    result = await ADAPTER.verify_return(gctx, view, fields)
    assert result.outcome is not Outcome.SUCCEEDED or mismatch(await stored(gateway_ctx, txn),
                                                               result)
    assert "payment.completed" not in await outbox_types(gateway_ctx, txn)


async def test_an_authorised_payment_is_captured_for_the_orders_amount(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    sim.auto_capture = False  # an account that captures manually
    txn = await new_payment(customer, shop)
    order_id = await to_razorpay(customer, txn)
    fields = sim.pay(order_id)
    assert sim.order(order_id).payments[0].status == "authorized"
    done = await post_handler(customer, txn, fields)
    assert done.status_code == 303, done.text
    (_, captured), = [c for c in sim.calls if c[0] == "capture"]
    assert captured["amount"] == 125050 and captured["currency"] == "INR"
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_a_lost_create_answer_only_leaves_an_unused_order(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    sim.drop = {"create_order"}
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 503  # "temporarily unavailable", never a 500
    sim.drop = set()
    (lost,) = sim.orders  # Razorpay made it; nobody has its id, so it can take nothing
    order_id = await to_razorpay(customer, txn)
    assert order_id != lost and len(sim.orders) == 2
    assert (await post_handler(customer, txn, sim.pay(order_id))).status_code == 303
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_a_paid_order_is_never_replaced_the_page_offers_to_check_it(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    sim.pay(await to_razorpay(customer, txn))  # paid; the handler's post never arrived
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 200, page.text
    assert "Check the Razorpay payment" in page.text
    assert f'href="http://pay.test{callback(txn)}"' in page.text
    assert len(sim.orders) == 1
    done = await customer.get(callback(txn))
    assert done.status_code == 303
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_odd_signatures_are_refused_not_crashed_on(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = await to_razorpay(customer, txn)
    gctx, view = await adapter_view(gateway_ctx, txn)
    odd = {"razorpay_order_id": order_id, "razorpay_payment_id": "pay_X",
           "razorpay_signature": "é" * 64}
    assert (await ADAPTER.verify_return(gctx, view, odd)).outcome is Outcome.PENDING
    fields = sim.pay(order_id) or {}
    headers, body = sim.webhook("payment.captured", payment_id=fields["razorpay_payment_id"])
    raw = [(k.encode(), v.encode()) for k, v in headers.items()
           if k != "X-Razorpay-Signature"] + [(b"X-Razorpay-Signature", b"\xfc" * 64)]
    r = await customer.post(_webhook_url(shop), content=body, headers=raw)
    assert 400 <= r.status_code < 500, r.text


async def test_a_closed_form_leaves_the_payment_payable_until_its_expiry_closes_it(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    gateway_ctx: AppContext,
) -> None:
    """The customer closes Checkout.js's form (``modal.ondismiss``): our script only says so
    and offers the button again (docs/gateways.md, "razorpay", step 2) -- nothing reaches
    our server and nothing is tried at Razorpay, whose orders cannot be cancelled.  The
    payment stays pending on the same order; asked, Razorpay says nothing was paid; at the
    payment's expiry OwnPay asks once more and expires it ("Razorpay order left unpaid")."""
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = await to_razorpay(customer, txn)  # the form opened, then closed: no payment
    assert sim.order(order_id).payments == [] and sim.order(order_id).status == "created"
    assert await to_razorpay(customer, txn) == order_id  # the page again: the same order
    assert [c[0] for c in sim.calls].count("create_order") == 1
    back = await customer.get(callback(txn))  # a reload of the return, no handler fields
    assert back.status_code == 303 and back.headers["location"] == f"/checkout/{txn}"
    got = await api_payment(customer, shop, txn)
    assert (got["status"], got["provider_reference"]) == ("pending", order_id)
    gctx, view = await adapter_view(gateway_ctx, txn)
    assert (await ADAPTER.query_status(gctx, view)).outcome is Outcome.PENDING
    intent = await stored(gateway_ctx, txn)
    after = await expiry.expire_overdue(gateway_ctx, intent, actor="worker:expiry",
                                        now=intent.expires_at + timedelta(seconds=1))
    assert after.status == "expired"
    last = (await status_history(gateway_ctx, txn))[-1]
    assert last.to_status == "expired" and "Razorpay order left unpaid" in (last.reason or "")
    assert sim.order(order_id).payments == []  # nothing was ever charged
