"""Razorpay failing: refused orders, 5xx, slow and dropped answers -- never a 500 to the
customer, never a completion -- expiry, every SDK call through the executor, and secrets
kept out of every log line."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from structlog.testing import capture_logs

from ownpay.gateways.base import GatewayError, Outcome
from ownpay.gateways.executor import ProviderMayHaveActed
from tests.contract.harnesses.razorpay import CREDENTIALS, RazorpayHarness
from tests.support.factories import MerchantKeys
from tests.support.faults import (
    assert_checkout_unavailable,
    assert_lost_status_answer_is_asked_again,
    assert_refused_credentials,
    on_standin,
)
from tests.support.razorpay import new_payment
from tests.support.standins import SimServer


@pytest.fixture
async def harness(sim_server: SimServer) -> RazorpayHarness:
    return on_standin(RazorpayHarness, sim_server)


async def test_refused_credentials_are_a_gateway_error(harness: RazorpayHarness) -> None:
    await assert_refused_credentials(harness, {**CREDENTIALS, "key_secret": "wrong"},
                                     "The api key provided is invalid")


@pytest.mark.parametrize("fault", ["down", "slow", "drop"])
async def test_checkout_page_says_temporarily_unavailable_never_500(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer, fault: str,
) -> None:
    await assert_checkout_unavailable(customer, shop, sim_server.sim, new_payment, fault,
                                      "create_order")


@pytest.mark.parametrize("fault", ["slow", "drop", "down"])
async def test_status_query_failures_may_have_acted_and_never_complete(
    harness: RazorpayHarness, sim_server: SimServer, fault: str,
) -> None:
    sim = sim_server.sim
    await assert_lost_status_answer_is_asked_again(harness, sim, fault, "order_payments",
                                                   sim.pay)


async def test_at_expiry_an_unpaid_order_is_closed_a_paid_one_reported(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    """Razorpay orders cannot be cancelled: the order is asked once more."""
    sim = sim_server.sim
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        unpaid = harness.payment()
        view = await harness.gateway.start_checkout(ctx, unpaid)
        assert view.context["timeout"] >= 3500  # Checkout.js closes at the payment's expiry
        unpaid = replace(unpaid, provider_reference=view.provider_reference)
        closed = await harness.gateway.cancel_provider_payment(ctx, unpaid)
        assert closed.outcome is Outcome.CANCELLED
        paid = harness.payment()
        view = await harness.gateway.start_checkout(ctx, paid)
        paid = replace(paid, provider_reference=view.provider_reference)
        sim.pay(view.provider_reference or "")
        taken = await harness.gateway.cancel_provider_payment(ctx, paid)
        assert taken.outcome is Outcome.SUCCEEDED and taken.reference == paid.transaction_id
        sim.down = {"fetch_order"}  # Razorpay cannot be asked: the payment waits
        with pytest.raises(GatewayError):
            await harness.gateway.cancel_provider_payment(ctx, unpaid)


async def test_without_a_stored_order_the_status_is_found_by_receipt(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)  # its answer "lost"
        assert (await harness.gateway.query_status(ctx, payment)).outcome is Outcome.PENDING
        sim.pay(view.provider_reference or "")
        found = await harness.gateway.query_status(ctx, payment)
        assert found.outcome is Outcome.SUCCEEDED
        assert found.provider_reference == view.provider_reference
        assert ("orders", {"receipt": payment.transaction_id}) in sim.calls


async def test_a_capture_lost_after_acting_is_asked_about_never_repeated(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    sim.auto_capture = False
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        current = replace(payment, provider_reference=view.provider_reference)
        fields = sim.pay(view.provider_reference or "") or {}
        sim.drop = {"capture"}  # captured, the answer lost
        with pytest.raises(ProviderMayHaveActed):
            await harness.gateway.verify_return(ctx, current, fields)
        sim.drop = set()
        again = await harness.gateway.query_status(ctx, current)
        assert again.outcome is Outcome.SUCCEEDED
        assert [c[0] for c in sim.calls].count("capture") == 1


async def test_every_sdk_call_goes_through_the_executor(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    seen: list[bool] = []

    async def record(request: httpx.Request) -> None:
        seen.append(bool(request.extensions.get("ownpay_executor")))

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        fields = sim_server.sim.pay(view.provider_reference or "") or {}
        current = replace(payment, provider_reference=view.provider_reference)
        done = await harness.gateway.verify_return(ctx, current, fields)
        assert done.outcome is Outcome.SUCCEEDED
        refund = await harness.gateway.refund(
            ctx, replace(current, provider_txn_id=done.provider_txn_id), amount_minor=100,
            refund_id="rf_exec", reason=None)
        assert refund.outcome is Outcome.SUCCEEDED
    assert len(seen) == 4 and all(seen)  # create, fetch order, fetch payment, refund


async def test_the_key_secret_never_reaches_a_log_line(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    with capture_logs() as logs:
        async with httpx.AsyncClient() as http:
            ctx = harness.context(http)
            payment = harness.payment()
            view = await harness.gateway.start_checkout(ctx, payment)
            sim.down = {"fetch_order", "create_order"}  # failing calls log request and answer
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
