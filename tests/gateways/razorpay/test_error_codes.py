"""Every error reason Razorpay documents for a failed payment, made by the stand-in and read
back through the status query: each has its customer sentence and its history words (the
reason word kept verbatim), and an unknown reason is the generic sentence with its word
still in the history.  The tables cover every documented code, source, step and reason."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from ownpay.gateways.base import Outcome, VerifiedResult
from ownpay.gateways.razorpay import errors, mapping
from ownpay.gateways.razorpay.errors import (
    CODES,
    REASONS,
    SOURCES,
    STEPS,
    ErrorCode,
    ErrorReason,
    ErrorSource,
    ErrorStep,
)
from tests.contract.harnesses.razorpay import RazorpayHarness
from tests.support.faults import on_standin
from tests.support.standins import SimServer


@pytest.fixture
async def harness(sim_server: SimServer) -> RazorpayHarness:
    return on_standin(RazorpayHarness, sim_server)


async def _failed_with(harness: RazorpayHarness, sim_server: SimServer, reason: str,
                       source: str = "customer", step: str = "payment_authentication",
                       ) -> VerifiedResult:
    sim = sim_server.sim
    sim.fail_reason, sim.fail_source, sim.fail_step = reason, source, step
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        payment = replace(payment, provider_reference=view.provider_reference)
        assert sim.pay(view.provider_reference or "", "fail") is None
        return await harness.gateway.query_status(ctx, payment)


def test_the_tables_cover_every_documented_value() -> None:
    assert set(REASONS) == set(ErrorReason)
    assert set(CODES) == set(ErrorCode)
    assert set(SOURCES) == set(ErrorSource)
    assert set(STEPS) == set(ErrorStep)
    assert all(message and words for message, words in REASONS.values())


@pytest.mark.parametrize("reason", list(ErrorReason))
async def test_each_documented_reason_has_its_sentence_and_history_words(
    harness: RazorpayHarness, sim_server: SimServer, reason: ErrorReason,
) -> None:
    message, words = REASONS[reason]
    result = await _failed_with(harness, sim_server, reason.value)
    assert result.outcome is Outcome.PENDING  # the order stays payable: another try
    assert result.customer_message == message
    said = result.reason or ""
    assert f"error {reason.value} ({words})" in said, said
    assert "BAD_REQUEST_ERROR (bad request)" in said
    assert "from the customer" in said and "at authentication" in said
    # the stored reason gives the same sentence back on the status page
    assert harness.gateway.describe_failure(said) == message


async def test_an_unknown_reason_is_the_generic_sentence_with_its_word_kept(
    harness: RazorpayHarness, sim_server: SimServer,
) -> None:
    result = await _failed_with(harness, sim_server, "reason_from_the_future",
                                source="somewhere_new", step="step_new")
    said = result.reason or ""
    assert result.customer_message == errors.GENERIC
    assert "error reason_from_the_future (unknown reason 'reason_from_the_future')" in said
    assert "source somewhere_new" in said and "step step_new" in said
    assert harness.gateway.describe_failure(said) == errors.GENERIC


def test_api_errors_are_described_with_reason_source_and_step() -> None:
    data = {"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed",
                      "source": "customer", "step": "payment_authentication",
                      "reason": "invalid_otp", "field": None}}
    line = mapping.error_description(data)
    assert line.startswith("error invalid_otp (incorrect OTP), BAD_REQUEST_ERROR (bad "
                           "request), from the customer, at authentication: "), line
    assert mapping.error_description({"error": {"code": "SERVER_ERROR",
                                                "description": "x"}}) == "SERVER_ERROR: x"
    assert errors.describe("NEW_CODE", "invalid_otp").endswith("NEW_CODE (unknown code)")
