"""PayPal failing: refused credentials, refused captures (every documented issue mapped),
5xx, slow and dropped answers -- never a 500 to the customer, never a completion -- and
secrets (client secret, access tokens) kept out of every log line."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from structlog.testing import capture_logs

from ownpay.gateways.base import GatewayError, MemoryStateStore, Outcome
from ownpay.gateways.paypal import mapping
from tests.contract.harnesses.paypal import CREDENTIALS, PayPalHarness
from tests.support.factories import MerchantKeys
from tests.support.faults import (
    assert_checkout_unavailable,
    assert_lost_status_answer_is_asked_again,
    assert_refused_credentials,
    on_standin,
)
from tests.support.paypal import new_payment, order_of, to_paypal
from tests.support.standins import SimServer, api_payment, local


@pytest.fixture
async def harness(sim_server: SimServer) -> PayPalHarness:
    return on_standin(PayPalHarness, sim_server)


async def test_refused_credentials_are_a_gateway_error(harness: PayPalHarness) -> None:
    await assert_refused_credentials(
        harness, {**CREDENTIALS, "client_secret": "wrong-secret-0123456789"}, "invalid_client")


@pytest.mark.parametrize("fault", ["down", "slow", "drop"])
async def test_checkout_page_says_temporarily_unavailable_never_500(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer, fault: str,
) -> None:
    await assert_checkout_unavailable(customer, shop, sim_server.sim, new_payment, fault,
                                      "create")


@pytest.mark.parametrize("fault", ["slow", "drop", "down"])
async def test_a_capture_without_an_answer_may_have_acted_and_is_asked_again(
    harness: PayPalHarness, sim_server: SimServer, fault: str,
) -> None:
    sim = sim_server.sim
    await assert_lost_status_answer_is_asked_again(harness, sim, fault, "capture", sim.approve)
    assert len(sim.captures) == 1  # the money moved once


@pytest.mark.parametrize("issue", sorted(mapping.CAPTURE_ISSUES))
async def test_every_refused_capture_is_mapped(
    harness: PayPalHarness, sim_server: SimServer, issue: str,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        sim.approve(view.provider_reference or "")
        sim.capture_issue = issue
        result = await harness.gateway.query_status(
            ctx, replace(payment, provider_reference=view.provider_reference))
    expected, message = mapping.CAPTURE_ISSUES[issue]
    if expected is Outcome.UNKNOWN:  # asked again: the order is still approved
        assert result.outcome is Outcome.AUTHORIZED
        return
    assert result.outcome is expected, result
    assert issue in (result.reason or "") and result.customer_message == message
    if expected is Outcome.FAILED:
        assert harness.gateway.describe_failure(result.reason) == message


@pytest.mark.parametrize(("status", "outcome"), [("PENDING", Outcome.PROCESSING),
                                                 ("DECLINED", Outcome.FAILED)])
async def test_a_pending_or_declined_capture(
    harness: PayPalHarness, sim_server: SimServer, status: str, outcome: Outcome,
) -> None:
    sim = sim_server.sim
    sim.capture_status = status
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        sim.approve(view.provider_reference or "")
        result = await harness.gateway.query_status(
            ctx, replace(payment, provider_reference=view.provider_reference))
    assert result.outcome is outcome and status in (result.reason or "")


async def test_a_declined_instrument_fails_the_payment_with_a_readable_message(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    order_id = order_of(await to_paypal(customer, txn))
    back = sim.approve(order_id)
    sim.capture_issue = "INSTRUMENT_DECLINED"
    r = await customer.get(local(back), follow_redirects=True)
    assert r.status_code == 200, r.text
    got = await api_payment(customer, shop, txn)
    assert got["status"] == "failed", got
    assert "PayPal declined the payment method" in r.text


async def test_an_expired_token_is_forgotten_and_fetched_again(
    harness: PayPalHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    store = MemoryStateStore()
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http, store=store)
        payment = harness.payment()
        await harness.gateway.start_checkout(ctx, payment)
        assert [c[0] for c in sim.calls].count("token") == 1
        await harness.gateway.start_checkout(ctx, harness.payment())  # token reused
        assert [c[0] for c in sim.calls].count("token") == 1
        sim.tokens.clear()  # PayPal revoked it
        with pytest.raises(GatewayError):
            await harness.gateway.start_checkout(ctx, harness.payment())
        await harness.gateway.start_checkout(ctx, harness.payment())
        assert [c[0] for c in sim.calls].count("token") == 2


async def test_secrets_and_tokens_never_reach_a_log_line(
    harness: PayPalHarness, sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    with capture_logs() as logs:
        async with httpx.AsyncClient() as http:
            ctx = harness.context(http)
            payment = harness.payment()
            view = await harness.gateway.start_checkout(ctx, payment)
            sim.down = {"get", "create"}  # failing calls log request and answer
            with pytest.raises(GatewayError):
                await harness.gateway.query_status(
                    ctx, replace(payment, provider_reference=view.provider_reference))
            with pytest.raises(GatewayError):
                await harness.gateway.start_checkout(ctx, harness.payment())
            sim.down = set()
            bad = harness.context(http, credentials={**CREDENTIALS,
                                                     "client_secret": "wrong-1-0123456789"})
            with pytest.raises(GatewayError) as refused:
                await harness.gateway.start_checkout(bad, harness.payment())
    calls = [line for line in logs if line["event"] == "provider_call"]
    assert any(c["outcome"] != "ok" for c in calls)
    text = repr(logs) + str(refused.value)
    for secret in (CREDENTIALS["client_secret"], "wrong-1-0123456789", *sim.tokens):
        assert secret not in text
    assert "A21AA" not in text and "jane@example.com" not in text
