"""Razorpay failing: refused links, 5xx, slow and dropped answers -- never a 500 to the
customer, never a completion -- expiry, and secrets kept out of every log line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from structlog.testing import capture_logs

from ownpay.gateways.base import GatewayError, Outcome
from ownpay.gateways.executor import ProviderMayHaveActed
from tests.contract.harnesses.razorpay import CREDENTIALS, RazorpayHarness
from tests.gateways.razorpay.conftest import SimServer, new_payment
from tests.support.factories import MerchantKeys


@pytest.fixture
async def harness(sim_server: SimServer) -> AsyncIterator[RazorpayHarness]:
    h = RazorpayHarness()
    h.app, h.server = sim_server.app, sim_server.loopback
    yield h


async def test_refused_credentials_are_a_gateway_error(harness: RazorpayHarness) -> None:
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http, credentials={**CREDENTIALS, "key_secret": "wrong"})
        with pytest.raises(GatewayError) as caught:
            await harness.gateway.start_checkout(ctx, harness.payment())
    assert caught.value.may_have_acted is False
    assert "The api key provided is invalid" in str(caught.value)


@pytest.mark.parametrize("fault", ["down", "slow", "drop"])
async def test_checkout_page_says_temporarily_unavailable_never_500(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer, fault: str,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    match fault:
        case "down":
            sim.down = {"create_link"}
        case "slow":
            sim.delay = {"create_link": 3.0}
        case "drop":
            sim.drop = {"create_link"}
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 503, r.text
    assert "temporarily unavailable" in r.text.lower() or "try again" in r.text.lower()


@pytest.mark.parametrize("fault", ["slow", "drop", "down"])
async def test_status_query_failures_may_have_acted_and_never_complete(
    harness: RazorpayHarness, sim_server: SimServer, fault: str,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient(timeout=0.5) as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        current = replace(payment, provider_reference=view.provider_reference)
        sim.pay(view.provider_reference or "")
        if fault == "slow":
            sim.delay = {"payment": 2.0}
        elif fault == "drop":
            sim.drop = {"payment"}
        else:
            sim.down = {"payment"}
        with pytest.raises(ProviderMayHaveActed):
            await harness.gateway.query_status(ctx, current)
        sim.delay, sim.drop, sim.down = {}, set(), set()
        again = await harness.gateway.query_status(ctx, current)
        assert again.outcome is Outcome.SUCCEEDED
        assert again.reference == payment.transaction_id


async def test_before_expiry_the_link_is_cancelled_unless_paid(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        unpaid = harness.payment()
        view = await harness.gateway.start_checkout(ctx, unpaid)
        unpaid = replace(unpaid, provider_reference=view.provider_reference)
        closed = await harness.gateway.cancel_provider_payment(ctx, unpaid)
        assert closed.outcome is Outcome.CANCELLED
        assert sim.link(view.provider_reference or "").status == "cancelled"
        assert sim.pay(view.provider_reference or "") is None  # it can take nothing now
        paid = harness.payment()
        view = await harness.gateway.start_checkout(ctx, paid)
        paid = replace(paid, provider_reference=view.provider_reference)
        sim.pay(view.provider_reference or "")
        taken = await harness.gateway.cancel_provider_payment(ctx, paid)
        assert taken.outcome is Outcome.SUCCEEDED and taken.reference == paid.transaction_id
        sim.down = {"cancel"}  # Razorpay cannot be asked to cancel: the payment waits
        waiting = harness.payment()
        view = await harness.gateway.start_checkout(ctx, waiting)
        with pytest.raises(GatewayError):
            await harness.gateway.cancel_provider_payment(
                ctx, replace(waiting, provider_reference=view.provider_reference))


async def test_the_key_secret_never_reaches_a_log_line(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    with capture_logs() as logs:
        async with httpx.AsyncClient(timeout=0.5) as http:
            ctx = harness.context(http)
            payment = harness.payment()
            view = await harness.gateway.start_checkout(ctx, payment)
            sim.down = {"fetch_link", "create_link"}  # failing calls log request and answer
            with pytest.raises(GatewayError):
                await harness.gateway.query_status(
                    ctx, replace(payment, provider_reference=view.provider_reference))
            with pytest.raises(GatewayError):
                await harness.gateway.start_checkout(ctx, harness.payment())
            sim.down = set()
            bad = harness.context(http, credentials={**CREDENTIALS, "key_secret": "wrong-1"})
            with pytest.raises(GatewayError) as refused:
                await harness.gateway.start_checkout(bad, harness.payment())
    calls = [line for line in logs if line["event"] == "provider_call"]
    assert len(calls) == 4 and all(c["outcome"] != "ok" for c in calls[1:])
    text = repr(logs) + str(refused.value)
    for secret in (CREDENTIALS["key_secret"], CREDENTIALS["webhook_secret"], "wrong-1"):
        assert secret not in text
    assert "+919000090000" not in text and "jane@example.com" not in text
