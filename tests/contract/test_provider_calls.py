"""Every provider call goes through the provider executor, and every failure reaches the
core classified: ``may_have_acted`` False when the request cannot have reached the
provider, True when it may have -- never a completion, and a call that may have acted is
never repeated behind the core's back."""

from __future__ import annotations

import secrets
from collections import Counter

import httpx
import pytest
from structlog.testing import capture_logs

from ownpay.gateways.base import GatewayError, Outcome
from tests.contract.harnesses.base import Harness
from tests.contract.soundness import assert_sound
from tests.simulators.loopback import free_port
from tests.support.contract import ProviderTraffic, provider_client

pytestmark = pytest.mark.contract

# (what the network does, may the provider have acted)
FAILURES: list[tuple[str, bool]] = [
    ("connection refused", False),
    ("connect timeout", False),
    ("read timeout", True),
    ("connection dropped mid-answer", True),
    ("HTTP 503", True),
]


def _failing(what: str) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        match what:
            case "connection refused":
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            case "connect timeout":
                raise httpx.ConnectTimeout("timed out", request=request)
            case "read timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            case "connection dropped mid-answer":
                raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return httpx.Response(503, json={"message": "Service Unavailable"})

    return httpx.MockTransport(answer)


async def test_every_provider_call_goes_through_the_executor(
    harness: Harness, http: httpx.AsyncClient, traffic: ProviderTraffic,
) -> None:
    gateway = harness.gateway
    ctx = harness.context(http)
    with capture_logs() as logs:
        payment = await harness.paid_payment(ctx)
        if gateway.supports_refunds:
            await gateway.refund(ctx, payment, amount_minor=100,
                                 refund_id="rf_" + secrets.token_hex(8), reason=None)
        if gateway.supports_status_query:
            await gateway.query_status(ctx, payment)
    calls = [line for line in logs if line["event"] == "provider_call"]
    assert traffic.bypassing == []
    assert len(calls) == len(traffic.requests)
    assert {c["gateway"] for c in calls} <= {gateway.slug}
    if not harness.talks_http:
        assert traffic.requests == []
    else:
        assert traffic.requests, "a provider-backed gateway that never called its provider"
        for line in calls:
            assert {"operation", "method", "host", "path", "status", "outcome",
                    "duration_ms"} <= set(line)
            assert "?" not in line["path"]


async def test_an_unreachable_provider_cannot_have_acted(
    harness: Harness, traffic: ProviderTraffic,
) -> None:
    """The provider's address is a closed loopback port (a real connection refusal)."""
    closed = harness.unreachable_credentials(free_port())
    if closed is None:
        assert not harness.talks_http
        return
    async with provider_client(traffic) as http:
        ctx = harness.context(http, credentials=closed)
        payment = harness.payment(provider_reference="battery_ref")
        with pytest.raises(GatewayError) as caught:
            result = await harness.gateway.query_status(ctx, payment)
            assert_sound(payment, result)
            pytest.fail(f"answered {result} without its provider")
    assert caught.value.may_have_acted is False
    assert traffic.bypassing == []


@pytest.mark.parametrize(("failure", "acted"), FAILURES, ids=[f for f, _ in FAILURES])
async def test_failures_are_classified_and_never_complete(
    harness: Harness, traffic: ProviderTraffic, failure: str, acted: bool,
) -> None:
    if not harness.talks_http:
        return  # no provider between the adapter and the answer
    async with provider_client(traffic, transport=_failing(failure)) as http:
        ctx = harness.context(http)
        payment = harness.payment(provider_reference="battery_ref", status="processing")
        try:
            result = await harness.gateway.query_status(ctx, payment)
        except GatewayError as exc:
            assert exc.may_have_acted is acted, (failure, exc)
        else:
            assert_sound(payment, result)
            assert result.outcome is Outcome.UNKNOWN, (failure, result)
    assert traffic.bypassing == []
    sent = Counter((r.method, str(r.url)) for r in traffic.requests)
    if acted and failure != "HTTP 503":
        # A request that may have been carried out is asked about, never sent again.
        assert max(sent.values()) == 1, sent
    else:  # at most one more try of what cannot have arrived (or a 5xx the SDK retries)
        assert max(sent.values()) <= 2, sent
