"""Every ``pay_status`` / ``status_code`` aamarPay's search API answers, made by the
stand-in and read back through the status query: each has its outcome, its customer
sentence and its history words (aamarPay's own title kept verbatim); an unlisted code or
status is never a completion.  aamarPay publishes no wider list of codes or error messages
(docs/gateways.md, "Errors")."""

from __future__ import annotations

import httpx
import pytest

from ownpay.gateways.aamarpay import mapping
from ownpay.gateways.aamarpay.mapping import CODE_TEXT, STATUS_TEXT, PayStatus, StatusCode
from ownpay.gateways.aamarpay.messages import DECLINED
from ownpay.gateways.base import Outcome, provider_status
from tests.contract.harnesses.aamarpay import AamarpayHarness
from tests.support.faults import on_standin
from tests.support.standins import SimServer


@pytest.fixture
async def harness(sim_server: SimServer) -> AamarpayHarness:
    return on_standin(AamarpayHarness, sim_server)


def test_the_tables_cover_every_value() -> None:
    assert set(STATUS_TEXT) == set(PayStatus)
    assert set(CODE_TEXT) == set(StatusCode)
    assert mapping.code_words("2") == "successful" and mapping.code_words(7) == "failed"
    assert mapping.code_words("9") == "unlisted status_code '9'"


@pytest.mark.parametrize(("status", "code", "outcome"), [
    ("Failed", "7", Outcome.FAILED), ("Pending", "0", Outcome.PENDING),
    ("Successful", "9", Outcome.UNKNOWN),  # contradictory: never trusted
    ("OnHold", "3", Outcome.UNKNOWN),  # unknown status: never a completion
])
async def test_each_status_from_the_standin(
    harness: AamarpayHarness, sim_server: SimServer, status: str, code: str,
    outcome: Outcome,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        payment = harness.payment()
        await harness.gateway.start_checkout(ctx, payment)
        txn = sim.transactions[payment.transaction_id]
        txn.pay_status, txn.status_code, txn.pg_txnid = status, code, "AAM1"
        result = await harness.gateway.query_status(ctx, payment)
    assert result.outcome is outcome
    known = provider_status(PayStatus, status)
    if outcome is Outcome.FAILED:
        assert known is not None and result.customer_message == STATUS_TEXT[known][0]
        assert result.customer_message == DECLINED
        assert "status_code 7, Transaction Failed" in (result.reason or "")
        assert harness.gateway.describe_failure(result.reason) == DECLINED
    elif outcome is Outcome.UNKNOWN:
        assert result.customer_message is None and status in (result.reason or "")
