"""Provider faults for the gateways' failure tests: a contract harness driving the test's
own stand-in, a fault injected into one stand-in operation (slow, dropped, down) and
healed again, and the checkout page a customer sees while the provider is failing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from tests.contract.harnesses.base import Harness
from tests.support.factories import MerchantKeys
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
    inject(sim, fault, operation, delay=3.0)
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 503, r.text
    assert "temporarily unavailable" in r.text.lower() or "try again" in r.text.lower()
