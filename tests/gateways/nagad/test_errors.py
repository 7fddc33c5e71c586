"""Nagad failing: refusals, answers that are not Nagad's, slow and dropped answers, Nagad
down while the customer waits -- never a 500, never a completion."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from ownpay.gateways.base import GatewayError, Outcome
from ownpay.gateways.executor import ProviderDidNotAct, ProviderMayHaveActed
from ownpay.gateways.nagad.client import NagadAnswerUntrusted, NagadRefused
from tests.contract.harnesses.nagad import NagadHarness, callback_params
from tests.simulators.loopback import free_port
from tests.simulators.nagad import CREDENTIALS, OTHER_KEY, private_pem
from tests.support.factories import MerchantKeys
from tests.support.faults import heal, impatient_client, inject, on_standin
from tests.support.nagad import new_payment
from tests.support.standins import SimServer, api_payment


@pytest.fixture
async def harness(sim_server: SimServer) -> NagadHarness:
    return on_standin(NagadHarness, sim_server)


async def test_a_request_signed_with_another_key_is_refused(harness: NagadHarness) -> None:
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http, credentials={
            **CREDENTIALS, "merchant_private_key": private_pem(OTHER_KEY)})
        with pytest.raises(NagadRefused) as caught:
            await harness.gateway.start_checkout(ctx, harness.payment())
    assert caught.value.may_have_acted is False
    assert "SignatureVerificationFailed" in str(caught.value)


@pytest.mark.parametrize("operation", ["initialize", "complete"])
async def test_refusals_are_gateway_errors_that_did_not_act(
    harness: NagadHarness, sim_server: SimServer, operation: str,
) -> None:
    sim_server.sim.refuse = {operation: ("InvalidMerchant", "Merchant is inactive")}
    async with httpx.AsyncClient() as http:
        with pytest.raises(GatewayError) as caught:
            await harness.gateway.start_checkout(harness.context(http), harness.payment())
    assert caught.value.may_have_acted is False and "Merchant is inactive" in str(caught.value)


async def test_an_initialize_answer_not_signed_by_nagad_is_not_believed(
    harness: NagadHarness, sim_server: SimServer,
) -> None:
    sim_server.sim.forge = {"initialize"}
    async with httpx.AsyncClient() as http:
        with pytest.raises(NagadAnswerUntrusted) as caught:
            await harness.gateway.start_checkout(harness.context(http), harness.payment())
    assert caught.value.may_have_acted is True
    assert [c[0] for c in sim_server.sim.calls] == ["initialize"]  # never completed


@pytest.mark.parametrize("fault", ["slow", "drop"])
async def test_a_verify_answer_lost_may_have_acted_then_asked_again(
    harness: NagadHarness, sim_server: SimServer, fault: str,
) -> None:
    sim = sim_server.sim
    async with httpx.AsyncClient() as http, impatient_client() as impatient:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        back = sim.act(view.provider_reference or "", "success")
        inject(sim, fault, "verify", delay=2.0)
        current = replace(payment, provider_reference=view.provider_reference)
        with pytest.raises(ProviderMayHaveActed):
            await harness.gateway.verify_return(harness.context(impatient), current,
                                                callback_params(back))
        heal(sim)
        again = await harness.gateway.verify_return(ctx, current, callback_params(back))
        assert again.outcome is Outcome.SUCCEEDED and again.reference == payment.transaction_id


async def test_nagad_down_at_checkout_is_a_503_page_not_a_500(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    await sim_server.loopback.__aexit__()  # Nagad goes away
    try:
        r = await customer.get(f"/checkout/{txn}")
        assert r.status_code == 503, r.text
        assert "temporarily" in r.text.lower() or "try again" in r.text.lower()
        back = await customer.get(f"/gateways/nagad/callback/{txn}/{'0' * 32}",
                                  params={"payment_ref_id": "MDEyMzQ1Njc4", "status": "Success"})
        assert back.status_code < 500
        assert (await api_payment(customer, shop, txn))["status"] == "pending"
    finally:
        await sim_server.loopback.__aenter__()


async def test_nagad_unreachable_cannot_have_acted(harness: NagadHarness) -> None:
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http, credentials=harness.unreachable_credentials(free_port()))
        with pytest.raises(ProviderDidNotAct):
            await harness.gateway.start_checkout(ctx, harness.payment())


async def test_before_expiry_an_unpaid_session_stays_undecided_and_a_paid_one_is_reported(
    harness: NagadHarness, sim_server: SimServer,
) -> None:
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http)
        open_ = harness.payment()
        view = await harness.gateway.start_checkout(ctx, open_)
        open_ = replace(open_, provider_reference=view.provider_reference)
        undecided = await harness.gateway.cancel_provider_payment(ctx, open_)
        assert undecided.outcome is Outcome.UNKNOWN  # Nagad cannot close a session
        sim_server.sim.act(view.provider_reference or "", "cancel")
        ended = await harness.gateway.cancel_provider_payment(ctx, open_)
        assert ended.outcome is Outcome.CANCELLED
        paid = harness.payment()
        view = await harness.gateway.start_checkout(ctx, paid)
        paid = replace(paid, provider_reference=view.provider_reference)
        sim_server.sim.act(view.provider_reference or "", "success")
        taken = await harness.gateway.cancel_provider_payment(ctx, paid)
        assert taken.outcome is Outcome.SUCCEEDED and taken.reference == paid.transaction_id
