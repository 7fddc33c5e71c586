"""Every status SSLCommerz documents for its validation and transaction-query APIs, and
every ``APIConnect`` value, made by the stand-in and read back through the status query:
each has its customer sentence (where the payment ended) and its history words; an unknown
status is the generic sentence, never a completion, its word kept in the history."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from ownpay.gateways.base import Outcome, VerifiedResult
from ownpay.gateways.sslcommerz import mapping
from ownpay.gateways.sslcommerz.mapping import (
    API_CONNECT_TEXT,
    STATUS_TEXT,
    ApiConnect,
    TransactionStatus,
)
from tests.contract.harnesses.sslcommerz import SslcommerzHarness
from tests.support.faults import on_standin
from tests.support.standins import SimServer

OUTCOMES = {
    TransactionStatus.PENDING: Outcome.PENDING,
    TransactionStatus.UNATTEMPTED: Outcome.PENDING,
    TransactionStatus.FAILED: Outcome.FAILED,
    TransactionStatus.INVALID_TRANSACTION: Outcome.FAILED,
    TransactionStatus.CANCELLED: Outcome.CANCELLED,
    TransactionStatus.EXPIRED: Outcome.FAILED,
}


@pytest.fixture
async def harness(sim_server: SimServer) -> SslcommerzHarness:
    return on_standin(SslcommerzHarness, sim_server)


async def _asked(harness: SslcommerzHarness, sim_server: SimServer, status: str
                 ) -> VerifiedResult:
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        payment = replace(payment, provider_reference=view.provider_reference)
        sim_server.sim.set_status(view.provider_reference or "", status)
        return await harness.gateway.query_status(ctx, payment)


def test_the_tables_cover_every_documented_value() -> None:
    assert set(STATUS_TEXT) == set(TransactionStatus)
    assert set(API_CONNECT_TEXT) == set(ApiConnect)
    assert set(OUTCOMES) | {TransactionStatus.VALID, TransactionStatus.VALIDATED} == set(
        TransactionStatus)


@pytest.mark.parametrize("status", sorted(OUTCOMES))
async def test_each_unpaid_status_has_its_outcome_sentence_and_history_words(
    harness: SslcommerzHarness, sim_server: SimServer, status: TransactionStatus,
) -> None:
    message, words = STATUS_TEXT[status]
    result = await _asked(harness, sim_server, status.value)
    assert result.outcome is OUTCOMES[status]
    assert result.customer_message == message
    said = result.reason or ""
    assert f"SSLCommerz status {status}: {words}" in said, said
    if message is not None:  # an ended session: the status page says the same sentence
        assert harness.gateway.describe_failure(said) == message


async def test_an_unknown_status_is_unknown_generic_and_kept(
    harness: SslcommerzHarness, sim_server: SimServer,
) -> None:
    result = await _asked(harness, sim_server, "ON_HOLD_NEW")
    assert result.outcome is Outcome.UNKNOWN
    assert "unmapped SSLCommerz status 'ON_HOLD_NEW'" in (result.reason or "")
    assert harness.gateway.describe_failure(result.reason) == mapping.GENERIC


@pytest.mark.parametrize("value", [a for a in ApiConnect if a is not ApiConnect.DONE])
async def test_each_api_connect_refusal_is_unknown_with_its_words(
    harness: SslcommerzHarness, sim_server: SimServer, value: ApiConnect,
) -> None:
    sim_server.sim.api_connect = value.value
    result = await _asked(harness, sim_server, "PENDING")
    assert result.outcome is Outcome.UNKNOWN  # never decided on an unanswered call
    assert f"APIConnect {value.value!r} ({API_CONNECT_TEXT[value]}" in (result.reason or "")
    assert harness.gateway.describe_failure(result.reason) == mapping.GENERIC


def test_risk_levels() -> None:
    assert mapping.risk_note({"risk_level": "0"}) == ""
    assert mapping.risk_note({}) == ""
    assert "risk_level 1 (Risky): SSLCommerz advises" in mapping.risk_note(
        {"risk_level": "1", "risk_title": "Risky"})
    assert "unknown risk_level '7'" in mapping.risk_note({"risk_level": "7"})
    assert set(mapping.RISK_LEVELS) == {"0", "1"}
    assert mapping.api_connect_reason("SOMETHING") == "unknown APIConnect"
