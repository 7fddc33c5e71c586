"""Stripe gateway tests run against localstripe (``simulators/stripe.py``), one per session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.stripe.helpers import StandIn, standin  # noqa: F401 - the session fixture


@pytest.fixture(autouse=True)
async def _standin_reset(standin: StandIn) -> AsyncIterator[None]:  # noqa: F811
    """Every test starts with the stand-in up, no provider webhooks, settlements flowing."""
    if not standin.running:
        standin.start()
    await standin.send_webhooks_to()
    await standin.release_settlements()
    yield
