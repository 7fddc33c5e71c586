"""Edges of the PayPal adapter against the stand-in: rate limits and conflicts, answers that
are no JSON, webhooks without a configured id or of other kinds, refunds it cannot send,
and payments without an order."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from ownpay.gateways.base import Outcome, ProviderEventKind, WebhookRejected
from ownpay.gateways.executor import ProviderDidNotAct, ProviderMayHaveActed
from tests.contract.harnesses.paypal import CREDENTIALS, PayPalHarness
from tests.support.faults import on_standin
from tests.support.standins import SimServer


@pytest.fixture
async def harness(sim_server: SimServer) -> PayPalHarness:
    return on_standin(PayPalHarness, sim_server)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2) as client:
        yield client


@pytest.mark.parametrize(("operation", "code", "raised"), [
    ("get", 429, ProviderDidNotAct), ("capture", 409, ProviderMayHaveActed),
    ("capture", 429, ProviderDidNotAct),
])
async def test_rate_limits_and_conflicts(
    harness: PayPalHarness, sim_server: SimServer, http: httpx.AsyncClient,
    operation: str, code: int, raised: type[Exception],
) -> None:
    sim = sim_server.sim
    ctx = harness.context(http)
    payment = harness.payment()
    view = await harness.gateway.start_checkout(ctx, payment)
    sim.approve(view.provider_reference or "")
    sim.status = {operation: code}
    with pytest.raises(raised):
        await harness.gateway.query_status(
            ctx, replace(payment, provider_reference=view.provider_reference))
    assert sim.captures == {}


@pytest.mark.parametrize(("operation", "raised"), [("get", ProviderDidNotAct),
                                                   ("capture", ProviderMayHaveActed),
                                                   ("token", ProviderDidNotAct)])
async def test_an_answer_that_is_no_json(
    harness: PayPalHarness, sim_server: SimServer, http: httpx.AsyncClient,
    operation: str, raised: type[Exception],
) -> None:
    sim = sim_server.sim
    ctx = harness.context(http)
    payment = harness.payment()
    view = await harness.gateway.start_checkout(ctx, payment)
    sim.approve(view.provider_reference or "")
    sim.garbage = {operation}
    if operation == "token":
        ctx = harness.context(http)  # a fresh store: a token must be fetched
    with pytest.raises(raised):
        await harness.gateway.query_status(
            ctx, replace(payment, provider_reference=view.provider_reference))


async def test_payments_without_an_order(
    harness: PayPalHarness, http: httpx.AsyncClient,
) -> None:
    ctx = harness.context(http)
    fresh = harness.payment()
    assert (await harness.gateway.query_status(ctx, fresh)).outcome is Outcome.PENDING
    gone = replace(fresh, provider_reference="NOSUCHORDER0001")
    result = await harness.gateway.query_status(ctx, gone)
    assert result.outcome is Outcome.PENDING and "no longer has" in (result.reason or "")
    assert await harness.gateway.list_refunds(ctx, fresh) == []
    lost = await harness.gateway.query_refund(ctx, fresh, refund_id="rf",
                                              provider_refund_id=None)
    assert lost.outcome is Outcome.UNKNOWN
    refund = await harness.gateway.refund(ctx, fresh, amount_minor=100, refund_id="rf",
                                          reason=None)
    assert refund.outcome is Outcome.FAILED and "capture" in (refund.reason or "")
    # an order PayPal no longer has: the checkout makes a new one
    view = await harness.gateway.start_checkout(ctx, gone)
    assert view.provider_reference and view.provider_reference != gone.provider_reference


async def test_a_refund_paypal_cannot_be_sent(
    harness: PayPalHarness, http: httpx.AsyncClient,
) -> None:
    ctx = harness.context(http)
    paid = await harness.paid_payment(ctx)
    huf = replace(paid, currency="HUF")
    result = await harness.gateway.refund(ctx, huf, amount_minor=1234, refund_id="rf_h",
                                          reason=None)
    assert result.outcome is Outcome.FAILED and "without decimals" in (result.reason or "")


async def test_webhooks_without_an_id_or_of_other_kinds(
    harness: PayPalHarness, sim_server: SimServer, http: httpx.AsyncClient,
) -> None:
    sim = sim_server.sim
    no_id = harness.context(http, credentials={k: v for k, v in CREDENTIALS.items()
                                               if k != "webhook_id"})
    body = sim.event("CUSTOMER.DISPUTE.CREATED", {"id": "PP-D-1"}, "dispute")
    headers = sim.sign(body)
    with pytest.raises(WebhookRejected, match="no PayPal webhook id"):
        await harness.gateway.parse_webhook(no_id, headers, body)
    ctx = harness.context(http)
    event = await harness.gateway.parse_webhook(ctx, headers, body)
    assert event.kind is ProviderEventKind.IGNORED and event.type == "CUSTOMER.DISPUTE.CREATED"
    anonymous = json.dumps({"event_type": "X"}).encode()
    with pytest.raises(WebhookRejected, match="not an event object"):
        await harness.gateway.parse_webhook(ctx, sim.sign(anonymous), anonymous)
    sim.down = {"verify"}  # PayPal cannot be asked: not verified
    with pytest.raises(WebhookRejected):
        await harness.gateway.parse_webhook(ctx, headers, body)
