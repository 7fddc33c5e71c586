"""SSLCommerz failing: refused sessions, slow and dropped answers after acting."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import Outcome
from ownpay.gateways.executor import ProviderMayHaveActed
from ownpay.gateways.registry import get as get_gateway
from tests.contract.harnesses.sslcommerz import SslcommerzHarness
from tests.support.faults import (
    assert_refused_credentials,
    heal,
    impatient_client,
    inject,
    on_standin,
)
from tests.support.standins import SimServer


@pytest.fixture
async def harness(sim_server: SimServer) -> SslcommerzHarness:
    return on_standin(SslcommerzHarness, sim_server)


async def test_refused_session_is_a_gateway_error(harness: SslcommerzHarness) -> None:
    await assert_refused_credentials(harness, {"store_id": "testbox", "store_passwd": "wrong"},
                                     "Store Credential")


@pytest.mark.parametrize("fault", ["slow", "drop"])
async def test_validation_answer_lost_after_acting_may_have_acted(
    harness: SslcommerzHarness, sim_server: SimServer, fault: str,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient() as http, impatient_client() as impatient:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        target, posted = sim.act(view.provider_reference or "", "success")
        posted["return_token"] = target.rsplit("/", 1)[-1]
        inject(sim, fault, "validation", delay=2.0)
        current = replace(payment, provider_reference=view.provider_reference)
        with pytest.raises(ProviderMayHaveActed):
            await harness.gateway.verify_return(harness.context(impatient), current, posted)
        assert sim.session(view.provider_reference or "").validated == 1  # it acted
        heal(sim)
        # asked again: VALIDATED this time, still a completion with the same figures
        again = await harness.gateway.verify_return(ctx, current, posted)
        assert again.outcome is Outcome.SUCCEEDED and again.reference == payment.transaction_id


async def test_adapter_is_registered(gateway_ctx: AppContext) -> None:
    gateway = get_gateway("sslcommerz")
    assert gateway is not None and gateway.returns_by_post


@pytest.mark.parametrize("ended", ["FAILED", "CANCELLED", "EXPIRED"])
async def test_before_expiry_an_open_session_stays_undecided_and_a_paid_one_is_reported(
    harness: SslcommerzHarness, sim_server: SimServer, ended: str,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        unpaid = harness.payment()
        view = await harness.gateway.start_checkout(ctx, unpaid)
        key = view.provider_reference or ""
        unpaid = replace(unpaid, provider_reference=key)
        for still_open in ("PENDING", "UNATTEMPTED"):  # its page may still take the money
            sim.session(key).status = still_open
            undecided = await harness.gateway.cancel_provider_payment(ctx, unpaid)
            assert undecided.outcome is Outcome.UNKNOWN, still_open
            assert "SSLCommerz cannot close a session" in (undecided.reason or "")
        sim.session(key).status = ended  # SSLCommerz's word that it ended unpaid
        cancelled = await harness.gateway.cancel_provider_payment(ctx, unpaid)
        assert cancelled.outcome is Outcome.CANCELLED and ended in (cancelled.reason or "")
        paid = harness.payment()
        view = await harness.gateway.start_checkout(ctx, paid)
        paid = replace(paid, provider_reference=view.provider_reference)
        sim_server.sim.act(view.provider_reference or "", "success")
        taken = await harness.gateway.cancel_provider_payment(ctx, paid)
        assert taken.outcome is Outcome.SUCCEEDED and taken.reference == paid.transaction_id
