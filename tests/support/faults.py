"""Provider faults for the gateways' failure tests: a contract harness driving the test's
own stand-in, a fault injected into one stand-in operation (slow, dropped, down) and
healed again, and the checks several gateways make alike -- refused credentials, a status
answer lost after the provider acted, the checkout page while the provider is failing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import httpx
import pytest

from ownpay.gateways.base import GatewayError, Outcome
from ownpay.gateways.executor import ProviderMayHaveActed
from tests.contract.harnesses.base import Harness
from tests.support.factories import MerchantKeys
from tests.support.settings import SLOWER_THAN_TIMEOUT
from tests.support.standins import SimServer

H = TypeVar("H", bound=Harness)


def on_standin(harness_class: type[H], server: SimServer) -> H:
    """A harness whose adapter calls go to ``server`` (the test's stand-in)."""
    harness = harness_class()
    harness.app, harness.server = server.app, server.loopback  # type: ignore[attr-defined]
    return harness


def inject(sim: Any, fault: str, operation: str, *, delay: float) -> None:
    """``slow``: ``operation`` answers after ``delay`` seconds; ``drop``: it acts and its
    answer is lost; ``down``: it answers a server error."""
    match fault:
        case "slow":
            sim.delay = {operation: delay}
        case "drop":
            sim.drop = {operation}
        case "down":
            sim.down = {operation}
        case _:
            raise ValueError(f"unknown fault {fault!r}")


def impatient_client() -> httpx.AsyncClient:
    """A client that gives up after 0.5 s, for the one call a fault test expects to time out
    (a stand-in ``slow`` by 2 s): the test's other calls use a patient one, since a loaded
    machine can make an ordinary call take longer than that."""
    return httpx.AsyncClient(timeout=0.5)


def heal(sim: Any) -> None:
    """Every injected fault gone."""
    sim.delay, sim.drop = {}, set()
    if hasattr(sim, "down"):
        sim.down = set()


async def assert_checkout_unavailable(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim: Any,
    new_payment: Callable[[httpx.AsyncClient, MerchantKeys], Awaitable[str]],
    fault: str, operation: str,
) -> None:
    """With the provider's ``operation`` failing, our checkout page is a 503 saying so."""
    txn = await new_payment(customer, shop)
    inject(sim, fault, operation, delay=SLOWER_THAN_TIMEOUT)
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 503, r.text
    assert "temporarily unavailable" in r.text.lower() or "try again" in r.text.lower()


async def assert_refused_credentials(harness: Harness, credentials: Mapping[str, str],
                                     said: str) -> None:
    """Starting a checkout with credentials the provider refuses is a GatewayError that did
    not act, carrying what the provider said."""
    async with httpx.AsyncClient() as http:
        ctx = harness.context(http, credentials=credentials)
        with pytest.raises(GatewayError) as caught:
            await harness.gateway.start_checkout(ctx, harness.payment())
    assert caught.value.may_have_acted is False
    assert said in str(caught.value)


async def assert_lost_status_answer_is_asked_again(
    harness: Harness, sim: Any, fault: str, operation: str, pay: Callable[[str], object],
) -> None:
    """A payment paid at the provider (``pay`` with its provider reference); with
    ``operation`` failing the status query may have acted (never a completion), and once
    healed it is asked again and completes, for this payment."""
    async with httpx.AsyncClient() as http, impatient_client() as impatient:
        ctx = harness.context(http)
        payment = harness.payment()
        view = await harness.gateway.start_checkout(ctx, payment)
        current = replace(payment, provider_reference=view.provider_reference)
        pay(view.provider_reference or "")
        inject(sim, fault, operation, delay=2.0)
        with pytest.raises(ProviderMayHaveActed):
            await harness.gateway.query_status(harness.context(impatient), current)
        heal(sim)
        again = await harness.gateway.query_status(ctx, current)
        assert again.outcome is Outcome.SUCCEEDED
        assert again.reference == payment.transaction_id
