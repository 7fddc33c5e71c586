"""A customer pays with bKash through our real checkout routes against the simulator."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx

from ownpay.context import AppContext
from tests.simulators.bkash import CREATE, PREFIX
from tests.support.bkash import (
    CREDENTIALS,
    CSRF,
    SimServer,
    api_payment,
    at_bkash,
    callback_location,
    events,
    history,
    new_payment,
    open_checkout,
    pay_through,
    pay_with_bkash,
    payment_id_of,
)
from tests.support.factories import MerchantKeys


async def test_happy_path(
    customer: httpx.AsyncClient,
    wallet: httpx.AsyncClient,
    shop: MerchantKeys,
    sim_server: SimServer,
    bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop, return_url="https://shop.example/done?ref=7")

    page, _ = await open_checkout(customer, txn)
    assert "Pay with bKash" in page.text and "1,250.50" in page.text
    csp = page.headers["content-security-policy"]
    form_action = next(d for d in csp.split("; ") if d.startswith("form-action"))
    # the form is answered with a redirect to bKash's page: the CSP must allow it
    assert sim_server.url in form_action.split() and "https://*.bkash.com" in form_action
    for secret in CREDENTIALS.values():
        assert secret not in page.text

    bkash_url = await pay_with_bkash(customer, txn)
    payment_id = payment_id_of(bkash_url)
    assert bkash_url == f"{sim_server.url}{PREFIX}/checkout/{payment_id}"
    create = [r for r in sim.requests if r.path == CREATE]
    assert len(create) == 1
    callback = create[0].body.pop("callbackURL")
    # our callback path, with the attempt's token only bKash learns (32 hex digits)
    assert re.fullmatch(rf"http://pay\.test/gateways/bkash/callback/{txn}/[0-9a-f]{{32}}",
                        callback), callback
    assert create[0].body == {
        "mode": "0011",
        "payerReference": "01770618575",
        "amount": "1250.50",
        "currency": "BDT",
        "intent": "sale",
        "merchantInvoiceNumber": txn,
    }
    token = sim.requests[0]  # the grant
    assert token.path.endswith("/token/grant") and "authorization" not in token.headers
    issued = next(iter(sim.tokens))
    assert create[0].headers["authorization"] == issued  # bare id_token, no "Bearer"
    assert create[0].headers["x-app-key"] == CREDENTIALS["app_key"]
    assert (await api_payment(customer, shop, txn))["provider_reference"] == payment_id

    back = await at_bkash(wallet, bkash_url)
    done = await customer.get(callback_location(back))
    assert done.status_code == 303
    target = urlsplit(done.headers["location"])
    assert (target.netloc, target.path) == ("shop.example", "/done")
    assert parse_qs(target.query) == {
        "ref": ["7"], "transaction_id": [txn], "order_id": [parse_qs(target.query)["order_id"][0]],
        "status": ["completed"],
    }

    got = await api_payment(customer, shop, txn)
    trx_id = sim.payment(payment_id).trx_id
    assert got["status"] == "completed" and got["paid_at"]
    assert got["provider_transaction_id"] == trx_id and trx_id
    assert got["provider_reference"] == payment_id
    assert got["amount"] == 1250.5 and got["currency"] == "BDT"
    rows = await history(bkash_ctx, txn)
    assert [(f, t) for f, t, _ in rows] == [("pending", "processing"), ("processing", "completed")]
    assert payment_id in rows[0][2] and trx_id in rows[1][2]
    assert [to for _, to, _ in rows].count("completed") == 1
    assert (await events(bkash_ctx, txn)).count("payment.completed") == 1
    assert sim.execute_calls[payment_id] == 1 and sim.execute_attempts[payment_id] == 1
    assert sim.grant_calls == 1

    # the checkout page now says paid, and nothing can start a second bKash payment
    assert "Payment received" in (await customer.get(f"/checkout/{txn}")).text
    assert sim.calls[CREATE] == 1


async def test_cancel_at_bkash_then_pay_with_a_fresh_bkash_payment(
    customer: httpx.AsyncClient,
    wallet: httpx.AsyncClient,
    shop: MerchantKeys,
    sim_server: SimServer,
    bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    first, page = await pay_through(customer, wallet, txn, action="cancel")
    assert page.status_code == 200  # back on our page, payable again
    assert "You cancelled the bKash payment" in page.text and "Pay with bKash" in page.text
    assert sim.payment(first).state == "cancelled"
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "pending" and await history(bkash_ctx, txn) == []

    second, done = await pay_through(customer, wallet, txn)
    assert second != first
    assert done.status_code == 303 and "status=completed" in done.headers["location"]
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed" and got["provider_reference"] == second
    assert sim.execute_attempts == {second: 1}
    # a late callback for the abandoned bKash payment changes nothing
    late = await customer.get(
        f"/gateways/bkash/callback/{txn}?paymentID={first}&status=success"
    )
    assert late.status_code == 303
    assert sim.execute_attempts == {second: 1}


async def test_failure_at_bkash_then_retry(
    customer: httpx.AsyncClient,
    wallet: httpx.AsyncClient,
    shop: MerchantKeys,
    sim_server: SimServer,
    bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    first = payment_id_of(bkash_url)
    for _ in range(2):  # wrong PIN: bKash's page says so and lets the customer try again
        again = await at_bkash(wallet, bkash_url, pin="99999")
        assert again.status_code == 200 and "Wrong PIN" in again.text
    failed = await customer.get(callback_location(await at_bkash(wallet, bkash_url, pin="99999")))
    assert failed.status_code == 303 and failed.headers["location"] == f"/checkout/{txn}"
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "failed"
    assert "bKash status Failed" in got["failure_reason"] and "failure" in got["failure_reason"]
    page = await customer.get(f"/checkout/{txn}")
    assert "Payment failed" in page.text and "did not go through" in page.text
    assert "Try again" in page.text
    assert sim.execute_attempts[first] == 0

    token = _csrf(page.text)
    retried = await customer.post(f"/checkout/{txn}/retry", data={"csrf_token": token})
    assert retried.status_code == 303
    second, done = await pay_through(customer, wallet, txn)
    assert second != first and "status=completed" in done.headers["location"]
    assert [t for _, t, _ in await history(bkash_ctx, txn)] == [
        "failed", "pending", "processing", "completed"
    ]


async def test_insufficient_balance_at_the_wallet(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    sim_server.sim.wallets["01911000001"] = 100
    txn = await new_payment(customer, shop)
    payment_id, back = await pay_through(customer, wallet, txn, msisdn="01911000001")
    assert back.headers["location"] == f"/checkout/{txn}"
    assert sim_server.sim.payment(payment_id).failure_code == "2023"
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "failed" and "bKash status Failed" in got["failure_reason"]
    assert sim_server.sim.execute_attempts[payment_id] == 0
    assert sim_server.sim.balance("01911000001") == 100


async def test_insufficient_balance_found_at_execute(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    sim.wallets["01911000002"] = 5000
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    back = await at_bkash(wallet, bkash_url, msisdn="01911000002")
    sim.wallets["01911000002"] = 10  # spent elsewhere before the callback arrived
    answer = await customer.get(callback_location(back))
    assert answer.headers["location"] == f"/checkout/{txn}"
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "failed"
    assert got["failure_reason"] == "bKash 2023 Insufficient Balance (execute)"
    page = (await customer.get(f"/checkout/{txn}")).text
    assert "does not have enough balance" in page
    assert [t for _, t, _ in await history(bkash_ctx, txn)] == ["processing", "failed"]


async def test_wrong_otp_then_right_one(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    wrong = await at_bkash(wallet, bkash_url, otp="000000")
    assert wrong.status_code == 200 and "Wrong verification code" in wrong.text
    done = await customer.get(callback_location(await at_bkash(wallet, bkash_url)))
    assert "status=completed" in done.headers["location"]


async def test_wrong_otp_three_times_fails_the_attempt(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    for _ in range(2):
        assert (await at_bkash(wallet, bkash_url, otp="1")).status_code == 200
    answer = await customer.get(callback_location(await at_bkash(wallet, bkash_url, otp="1")))
    assert answer.headers["location"] == f"/checkout/{txn}"
    assert sim_server.sim.payment(payment_id_of(bkash_url)).failure_code == "2017"
    assert (await api_payment(customer, shop, txn))["status"] == "failed"


async def test_a_forged_success_callback_executes_nothing_and_fails_nothing(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    bkash_ctx: AppContext,
) -> None:
    """Someone who knows the paymentID (it is in the bKash page's URL) calls our callback
    claiming success for a payment the customer has not approved yet.  The callback does not
    carry the token of the URL we gave bKash, so it triggers no execute (bKash would refuse
    it and the customer's real attempt would fail): bKash is asked, says the payment is
    still initiated, and the payment stays payable."""
    txn = await new_payment(customer, shop)
    payment_id = payment_id_of(await pay_with_bkash(customer, txn))
    for forged in (f"/gateways/bkash/callback/{txn}?paymentID={payment_id}&status=success",
                   f"/gateways/bkash/callback/{txn}/{'0' * 32}?paymentID={payment_id}"
                   "&status=success"):
        r = await customer.get(forged)
        assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "pending" and got["failure_reason"] is None
    assert sim_server.sim.execute_calls.get(payment_id, 0) == 0


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found
    return found.group(1)

