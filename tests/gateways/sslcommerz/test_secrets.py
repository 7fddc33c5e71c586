"""The store password (``store_passwd``, which SSLCommerz takes as a plain request field on
every call) never reaches a log line, an error, an API answer or a page: not on the happy
path, not when SSLCommerz's answers are lost (when the executor logs the redacted request
and answer), not when the configuration is refused.  The suite-wide leak detector also
watches for it (``tests/support/leaks.py``)."""

from __future__ import annotations

import httpx
import pytest
from structlog.testing import capture_logs

from ownpay.gateways.base import ConfigInvalid, GatewayError
from tests.contract.harnesses.sslcommerz import SslcommerzHarness
from tests.simulators.sslcommerz import STORE_PASSWD
from tests.support.factories import MerchantKeys
from tests.support.faults import on_standin
from tests.support.leaks import CANARIES
from tests.support.sslcommerz import (
    at_provider,
    new_payment,
    session_key_of,
    to_provider,
)
from tests.support.standins import SimServer, api_payment


def _leaks(text: str) -> bool:
    return STORE_PASSWD in text


@pytest.fixture
async def harness(sim_server: SimServer) -> SslcommerzHarness:
    return on_standin(SslcommerzHarness, sim_server)


def test_the_store_password_is_a_leak_canary() -> None:
    assert STORE_PASSWD in CANARIES.values()


async def test_no_store_password_in_logs_or_errors_when_sslcommerz_fails(
    harness: SslcommerzHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    errors: list[str] = []
    with capture_logs() as logs:
        async with httpx.AsyncClient() as http:
            ctx = harness.context(http)
            sim.drop = {"session"}
            with pytest.raises(GatewayError) as caught:
                await harness.gateway.start_checkout(ctx, harness.payment())
            errors.append(str(caught.value))
            sim.drop = set()
            paid = await harness.paid_payment(ctx)
            sim.drop = {"query"}
            with pytest.raises(GatewayError) as lost:
                await harness.gateway.query_status(ctx, paid)
            errors.append(str(lost.value))
            sim.drop = {"refund"}
            lost_refund = await harness.gateway.refund(ctx, paid, amount_minor=100,
                                                       refund_id="rf_leak", reason="x")
            errors.append(lost_refund.reason or "")
            sim.drop = set()
    calls = [line for line in logs if line["event"] == "provider_call"]
    assert {"session", "validation", "query"} <= {c for c, _ in sim.calls}
    assert len(calls) >= 4, "every call to SSLCommerz is logged"
    warned = [line for line in logs if line.get("log_level") == "warning"]
    assert warned, "the failures above are logged with their redacted bodies"
    assert "[redacted]" in repr(warned)
    assert not _leaks(repr(logs))
    assert not _leaks(" ".join(errors))


def test_a_refused_configuration_does_not_repeat_the_password() -> None:
    from ownpay.gateways.sslcommerz.adapter import ADAPTER

    for wrong in ({"store_id": ""}, {"surprise": "1"}):
        with pytest.raises(ConfigInvalid) as caught:
            ADAPTER.validate_config({"store_id": "testbox", "store_passwd": STORE_PASSWD,
                                     **wrong}, {})
        assert not _leaks(str(caught.value)) and not _leaks(repr(caught.value.errors))


async def test_no_store_password_on_the_pages_or_in_api_answers(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    target, posted = await at_provider(browser_http, page)
    posted.pop("return_token")
    done = await customer.post(target.removeprefix("http://pay.test"), data=posted)
    status = await customer.get(f"/checkout/{txn}")
    failed = await new_payment(customer, shop)
    target, posted = await at_provider(browser_http, await to_provider(customer, failed),
                                       "fail")
    posted.pop("return_token")
    failure = await customer.post(target.removeprefix("http://pay.test"), data=posted,
                                  follow_redirects=True)
    assert "Payment failed" in failure.text
    unavailable_txn = await new_payment(customer, shop)
    sim_server.sim.drop = {"session"}
    unavailable = await customer.get(f"/checkout/{unavailable_txn}")
    assert unavailable.status_code == 503
    sim_server.sim.drop = set()
    (ipn,) = await sim_server.sim.send_ipn(session_key_of(page), customer)  # our IPN route
    assert ipn.status_code == 200, ipn.text
    for r in (done, status, failure, unavailable, ipn):
        assert not _leaks(r.text) and not _leaks(str(r.headers)), r.url
    for paid in (txn, failed):
        assert not _leaks(repr(await api_payment(customer, shop, paid)))
