"""Every ``status`` Nagad's verify API answers, made by the stand-in and read back through
the status query: each has its outcome, its customer sentence (where the payment ended) and
its history words, ``statusCode`` kept verbatim; an unknown status is the generic sentence
and never a completion.  Nagad publishes no list of ``statusCode`` or refusal ``reason``
values (docs/gateways.md, "Errors"): those are kept verbatim, never interpreted."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from ownpay.gateways.base import Outcome, VerifiedResult
from ownpay.gateways.nagad.mapping import STATUS_TEXT, PaymentStatus, status_outcome
from ownpay.gateways.nagad.messages import GENERIC
from tests.contract.harnesses.nagad import NagadHarness
from tests.support.faults import on_standin
from tests.support.standins import SimServer


@pytest.fixture
async def harness(sim_server: SimServer) -> NagadHarness:
    return on_standin(NagadHarness, sim_server)


async def _asked(harness: NagadHarness, sim_server: SimServer, status: str) -> VerifiedResult:
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        payment = replace(payment, provider_reference=view.provider_reference)
        sim_server.sim.session(view.provider_reference or "").status = status
        return await harness.gateway.query_status(ctx, payment)


def test_the_table_covers_every_status() -> None:
    assert set(STATUS_TEXT) == set(PaymentStatus)
    for status, (message, _words) in STATUS_TEXT.items():
        ended = status_outcome(status) in (Outcome.FAILED, Outcome.CANCELLED)
        assert (message is not None) == ended, status


@pytest.mark.parametrize("status", [s for s in PaymentStatus if s is not PaymentStatus.SUCCESS])
async def test_each_status_has_its_outcome_sentence_and_history_words(
    harness: NagadHarness, sim_server: SimServer, status: PaymentStatus,
) -> None:
    message, words = STATUS_TEXT[status]
    result = await _asked(harness, sim_server, status.value)
    assert result.outcome is status_outcome(status)
    assert result.customer_message == message
    said = result.reason or ""
    assert f"Nagad status {status}: {words} (statusCode " in said, said
    if message is not None:
        assert harness.gateway.describe_failure(said) == message


async def test_an_unknown_status_is_unknown_and_generic(
    harness: NagadHarness, sim_server: SimServer,
) -> None:
    result = await _asked(harness, sim_server, "OnHoldNew")
    assert result.outcome is Outcome.UNKNOWN
    assert "unmapped Nagad status 'OnHoldNew'" in (result.reason or "")
    assert harness.gateway.describe_failure("Nagad status OnHoldNew (verify)") == GENERIC
