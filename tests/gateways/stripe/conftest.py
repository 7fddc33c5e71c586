"""Stripe gateway tests run against localstripe (``simulators/stripe.py``), one per session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.stripe import StandIn


@pytest.fixture(autouse=True)
async def _standin_reset(standin: StandIn) -> AsyncIterator[None]:
    """Every test starts with the stand-in up, no provider webhooks, settlements flowing."""
    if not standin.running:
        standin.start()
    await standin.send_webhooks_to()
    await standin.release_settlements()
    yield
