"""A customer pays with aamarPay through our real checkout routes against the stand-in.

aamarPay sends the browser back with a POST (``test_return_by_post_over_http``); the other
tests come back through the same URL with GET: the adapter never reads the posted fields,
only the URL's token, so the verification path is the same."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from tests.gateways.aamarpay.support import (
    CREDENTIALS,
    act_at_aamarpay,
    local,
    new_payment,
    to_aamarpay,
)
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.records import ledger_journal_kinds, outbox_types, status_history
from tests.support.settings import SLOWER_THAN_TIMEOUT
from tests.support.standins import SimServer, api_payment, enable

RETURN = r"http://pay\.test/gateways/aamarpay/callback/{txn}/{kind}-[0-9a-f]{{32}}"


async def test_happy_path(customer: httpx.AsyncClient, browser_http: httpx.AsyncClient,
                          shop: MerchantKeys, sim_server: SimServer) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop, return_url="https://shop.example/done?ref=7")
    payment_url = await to_aamarpay(customer, txn)
    assert re.fullmatch(re.escape(sim_server.url) + r"/paynow\.php\?track=AAM[0-9A-F]{16}",
                        payment_url)
    (request,) = [r for r in sim.requests if r.path == "/jsonpost.php"]
    body = dict(request.body)
    for kind in ("success", "fail", "cancel"):
        assert re.fullmatch(RETURN.format(txn=txn, kind=kind), body.pop(f"{kind}_url"))
    assert body.pop("desc")
    assert body == {
        **CREDENTIALS, "tran_id": txn, "amount": "1250.50", "currency": "BDT",
        "cus_name": "Rahim Uddin", "cus_email": "rahim@example.com",
        "cus_phone": "01770618575", "type": "json",
    }
    track = payment_url.split("track=")[1]
    assert (await api_payment(customer, shop, txn))["provider_reference"] == track

    target, posted = await act_at_aamarpay(browser_http, payment_url, "success")
    assert posted["pay_status"] == "Successful" and posted["mer_txnid"] == txn
    done = await customer.get(local(target))
    assert done.status_code == 303
    location = urlsplit(done.headers["location"])
    assert (location.netloc, location.path) == ("shop.example", "/done")
    assert parse_qs(location.query)["status"] == ["completed"]

    got = await api_payment(customer, shop, txn)
    pg_txnid = sim.transactions[txn].pg_txnid
    assert got["status"] == "completed" and pg_txnid
    assert got["provider_transaction_id"] == pg_txnid
    assert got["amount"] == 1250.5 and got["currency"] == "BDT"
    searches = [r for r in sim.requests if r.path.startswith("/api/v1/trxcheck")]
    assert searches and all(r.body == {"request_id": txn, "type": "json"} for r in searches)
    assert "Payment received" in (await customer.get(f"/checkout/{txn}")).text


async def test_usd_is_sent_with_two_decimals(customer: httpx.AsyncClient,
                                             browser_http: httpx.AsyncClient,
                                             shop: MerchantKeys, sim_server: SimServer) -> None:
    txn = await new_payment(customer, shop, currency="USD", amount="10")
    payment_url = await to_aamarpay(customer, txn)
    (request,) = [r for r in sim_server.sim.requests if r.path == "/jsonpost.php"]
    assert (request.body["amount"], request.body["currency"]) == ("10.00", "USD")
    target, _ = await act_at_aamarpay(browser_http, payment_url, "success")
    await customer.get(local(target))
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_declined_at_aamarpay(customer: httpx.AsyncClient,
                                    browser_http: httpx.AsyncClient,
                                    shop: MerchantKeys, sim_server: SimServer) -> None:
    txn = await new_payment(customer, shop)
    target, _ = await act_at_aamarpay(browser_http, await to_aamarpay(customer, txn), "fail")
    assert "/fail-" in target
    await customer.get(local(target))
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "failed"
    page = await customer.get(f"/checkout/{txn}")
    assert "declined at aamarPay" in page.text


async def test_cancel_then_pay(customer: httpx.AsyncClient, browser_http: httpx.AsyncClient,
                               shop: MerchantKeys, sim_server: SimServer) -> None:
    txn = await new_payment(customer, shop)
    first = await to_aamarpay(customer, txn)
    target, _ = await act_at_aamarpay(browser_http, first, "cancel")
    assert "/cancel-" in target
    page = await customer.get(local(target))
    assert page.status_code == 200
    assert "You cancelled the aamarPay payment" in page.text
    assert "Continue to aamarPay" in page.text
    assert CREDENTIALS["signature_key"] not in page.text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"

    second = await to_aamarpay(customer, txn)
    assert second != first
    target, _ = await act_at_aamarpay(browser_http, second, "success")
    await customer.get(local(target))
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


@pytest.mark.parametrize("tamper", [
    {"amount": "1.00", "amount_original": "1.00"},
    {"currency": "USD", "currency_merchant": "USD"},
    {"mer_txnid": "txn_ffffffffffffffff"},
])
async def test_tampered_answers_never_complete(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, tamper: dict[str, str],
) -> None:
    txn = await new_payment(customer, shop)
    target, _ = await act_at_aamarpay(browser_http, await to_aamarpay(customer, txn),
                                      "success")
    sim_server.sim.tamper[txn] = tamper
    await customer.get(local(target))
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


async def test_posted_fields_and_forged_returns_are_never_trusted(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    payment_url = await to_aamarpay(customer, txn)
    assert payment_url
    # the customer never paid; a made-up return claims success with every posted field
    forged = (f"/gateways/aamarpay/callback/{txn}/success-{'0' * 32}"
              f"?pay_status=Successful&status_code=2&mer_txnid={txn}&amount=1250.50")
    r = await customer.get(forged)
    assert r.status_code in (200, 303)
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    (request,) = [r for r in sim_server.sim.requests if r.path == "/jsonpost.php"]
    genuine = request.body["success_url"]
    await customer.get(local(genuine) + "?pay_status=Successful&status_code=2")
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


async def test_provider_down_shows_a_clear_page(customer: httpx.AsyncClient,
                                                browser_http: httpx.AsyncClient,
                                                shop: MerchantKeys,
                                                sim_server: SimServer) -> None:
    txn = await new_payment(customer, shop)
    sim_server.sim.down = True
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 503
    assert "temporarily unavailable" in page.text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"

    sim_server.sim.down = False
    target, _ = await act_at_aamarpay(browser_http, await to_aamarpay(customer, txn),
                                      "success")
    sim_server.sim.down = True
    back = await customer.get(local(target))
    assert back.status_code == 503
    assert "could not confirm your payment" in back.text
    assert (await api_payment(customer, shop, txn))["status"] == "pending"

    sim_server.sim.down = False  # the customer (or reconciliation) asks again: paid
    await customer.get(local(target))
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


async def test_search_timing_out_after_acting_never_completes(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    target, _ = await act_at_aamarpay(browser_http, await to_aamarpay(customer, txn),
                                      "success")
    sim_server.sim.delay_search = SLOWER_THAN_TIMEOUT  # longer than the app's provider timeout
    back = await customer.get(local(target))
    assert back.status_code == 503
    assert (await api_payment(customer, shop, txn))["status"] == "pending"


async def test_payment_request_timing_out_after_acting(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    sim_server.sim.delay_request = SLOWER_THAN_TIMEOUT
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 503
    assert txn in sim_server.sim.transactions  # aamarPay registered it; we did not see it
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    sim_server.sim.delay_request = 0.0
    assert (await to_aamarpay(customer, txn)).startswith(sim_server.url)


async def test_refused_credentials_show_a_clear_page(
    customer: httpx.AsyncClient, gateway_ctx: AppContext, sim_server: SimServer,
) -> None:
    merchant = await create_merchant(gateway_ctx, gateways=())
    await enable(gateway_ctx, merchant, "aamarpay", store_id="wrong", signature_key="nope",
                          base_url=sim_server.url)
    txn = await new_payment(customer, merchant)
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 200
    assert "aamarPay is not available for this shop right now" in page.text
    assert "Continue to aamarPay" not in page.text
    assert (await api_payment(customer, merchant, txn))["status"] == "pending"


async def test_a_payment_without_phone_is_explained(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop, customer_phone=None)
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 200
    assert "needs the customer&#39;s phone number" in page.text or (
        "needs the customer's phone number" in page.text)
    assert not [r for r in sim_server.sim.requests if r.path == "/jsonpost.php"]


async def test_return_by_post_over_http(customer: httpx.AsyncClient,
                                        browser_http: httpx.AsyncClient,
                                        shop: MerchantKeys, sim_server: SimServer) -> None:
    """aamarPay's page posts the browser back (form body, no CSRF token)."""
    txn = await new_payment(customer, shop)
    target, posted = await act_at_aamarpay(browser_http, await to_aamarpay(customer, txn),
                                           "success")
    done = await customer.post(local(target), data=posted)
    assert done.status_code == 303
    assert "status=completed" in done.headers["location"]
    assert (await api_payment(customer, shop, txn))["status"] == "completed"


@pytest.mark.parametrize("arrival", ["one_after_the_other", "at_once"])
async def test_the_posted_return_arriving_twice_completes_once(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, gateway_ctx: AppContext, arrival: str,
) -> None:
    """The browser's POST back arrives twice (a double submit, a reload that posts the form
    again, a retried request): both end at the shop, the payment completes once -- one
    ``completed`` in its history, one ledger posting, one ``payment.completed`` event."""
    txn = await new_payment(customer, shop)
    target, posted = await act_at_aamarpay(browser_http, await to_aamarpay(customer, txn),
                                           "success")
    if arrival == "at_once":
        answers = await asyncio.gather(*(customer.post(local(target), data=posted)
                                         for _ in range(2)))
    else:
        answers = [await customer.post(local(target), data=posted) for _ in range(2)]
    for done in answers:
        assert done.status_code == 303, done.text
        assert "status=completed" in done.headers["location"]
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "completed"
    assert got["provider_transaction_id"] == sim_server.sim.transactions[txn].pg_txnid
    history = [row.to_status for row in await status_history(gateway_ctx, txn)]
    assert history.count("completed") == 1, history
    assert await ledger_journal_kinds(gateway_ctx, txn) == ["payment"]
    assert (await outbox_types(gateway_ctx, txn)).count("payment.completed") == 1
