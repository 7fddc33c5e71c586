"""Every bKash status code gives the customer a readable message and the status history a
precise reason; nothing is retried blindly."""

from __future__ import annotations

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.bkash.adapter import CUSTOMER_MESSAGES, GENERIC, BkashGateway
from tests.simulators.bkash import CREATE, EXECUTE, MESSAGES
from tests.support.bkash import (
    SimServer,
    api_payment,
    at_bkash,
    callback_location,
    history,
    new_payment,
    open_checkout,
    pay_with_bkash,
    payment_id_of,
)
from tests.support.checkout import refused
from tests.support.factories import MerchantKeys

PUBLISHED = [str(c) for c in (*range(2001, 2070), *range(2116, 2120), 9999)]


def test_every_published_code_has_a_customer_message() -> None:
    adapter = BkashGateway()
    assert set(MESSAGES) - {"0000"} <= set(PUBLISHED)  # the simulator speaks the same table
    for code in PUBLISHED:
        message = CUSTOMER_MESSAGES[code]
        assert message.endswith(".") and code not in message
        assert adapter.describe_failure(f"bKash {code} Something (execute)") == message
    assert adapter.describe_failure("bKash 1234 unheard of (execute)") == GENERIC
    assert adapter.describe_failure("bKash status Failed (status query)")
    assert adapter.describe_failure("sandbox: card declined") is None


@pytest.mark.parametrize("code", ["2014", "2023", "2037", "2056", "2069"])
async def test_execute_refusals_reach_the_page_and_the_history(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, code: str,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    back = await at_bkash(wallet, bkash_url)
    text = MESSAGES.get(code, "Transaction has already been cancelled")
    sim.fail_next["execute"] = {"statusCode": code, "statusMessage": text}
    answer = await customer.get(callback_location(back))
    assert answer.headers["location"] == f"/checkout/{txn}"
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "failed"
    assert got["failure_reason"] == f"bKash {code} {text} (execute)"
    assert (await history(bkash_ctx, txn))[-1][2] == got["failure_reason"]
    page = (await customer.get(f"/checkout/{txn}")).text
    assert CUSTOMER_MESSAGES[code].replace("'", "&#39;") in page
    assert sim.calls[EXECUTE] == 1  # refused means refused: not sent again
    assert sim.execute_attempts[payment_id_of(bkash_url)] == 0


async def test_error_code_envelope_is_understood(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    """Some bKash endpoints answer ``errorCode``/``errorMessage`` instead of statusCode."""
    sim = sim_server.sim
    sim.wallets["01911000003"] = 2000
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    back = await at_bkash(wallet, bkash_url, msisdn="01911000003")
    sim.wallets["01911000003"] = 1
    sim.error_envelope = "errorCode"
    await customer.get(callback_location(back))
    got = await api_payment(customer, shop, txn)
    assert got["failure_reason"] == "bKash 2023 Insufficient Balance (execute)"


@pytest.mark.parametrize(
    ("code", "shown"),
    [("2029", "A payment like this was just made"), ("2007", "(BDT) only"),
     ("2065", "bKash is not available for this shop"), ("9999", "temporarily unavailable")],
)
async def test_create_refusals_are_shown_on_our_page(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    bkash_ctx: AppContext, code: str, shown: str,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    _, token = await open_checkout(customer, txn)
    sim.fail_next["create"] = {"statusCode": code, "statusMessage": MESSAGES.get(code, "x")}
    r = await refused(customer, await customer.post(f"/checkout/{txn}/pay",
                                                    data={"csrf_token": token}), txn)
    assert shown in r.text and "Pay with bKash" in r.text
    assert sim.calls[CREATE] == 1
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "pending" and got["provider_reference"] is None
    assert await history(bkash_ctx, txn) == []


async def test_bkash_down_at_create_is_a_temporary_error(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer
) -> None:
    txn = await new_payment(customer, shop)
    _, token = await open_checkout(customer, txn)
    sim_server.sim.fail_next["create"] = 500
    r = await customer.post(f"/checkout/{txn}/pay", data={"csrf_token": token})
    assert r.status_code == 503 and "Nothing was charged" in r.text
    assert sim_server.sim.calls[CREATE] == 1  # not retried behind the customer's back
    assert (await api_payment(customer, shop, txn))["status"] == "pending"
    r = await customer.post(f"/checkout/{txn}/pay", data={"csrf_token": token})
    assert r.status_code == 303  # the customer's own retry works
