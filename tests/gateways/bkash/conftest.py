"""bKash end-to-end fixtures (the helpers they use are in ``tests/support/bkash.py``).

* ``sim_server`` -- the bKash simulator on a free loopback port inside the test's event loop.
* ``bkash_ctx`` / ``bkash_app`` -- our real application on the test database (SQLite and,
  when configured, PostgreSQL) with a short provider timeout, so "execute timed out" takes
  a second instead of fifteen.
* ``shop`` -- a merchant whose ``bkash`` gateway (test mode) points at the simulator.
* ``customer`` -- an httpx client on our app (ASGI transport) that keeps cookies like a
  browser; ``wallet`` -- a plain client for the simulator's hosted page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from tests.support.bkash import CREDENTIALS, SimServer, enable_bkash, running_simulator
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.settings import PROVIDER_TIMEOUT, make_settings


@pytest.fixture
async def sim_server() -> AsyncIterator[SimServer]:
    async with running_simulator() as running:
        yield running


@pytest.fixture(scope="session")
async def bkash_ctx(
    ctx: AppContext, database_url: str, data_dir: Path
) -> AsyncIterator[AppContext]:
    """Our app's context on the test database (``ctx`` migrated it), a short provider
    timeout (``PROVIDER_TIMEOUT``)."""
    context = AppContext.create(make_settings(database_url, data_dir,
                                              gateway_timeout=PROVIDER_TIMEOUT))
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def bkash_app(bkash_ctx: AppContext) -> Any:
    return create_app(bkash_ctx.settings, ctx=bkash_ctx)


@pytest.fixture
async def customer(bkash_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bkash_app), base_url="http://pay.test"
    ) as client:
        yield client


@pytest.fixture
async def wallet() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def shop(bkash_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
    merchant = await create_merchant(bkash_ctx, gateways=(("test", "sandbox"),))
    await enable_bkash(bkash_ctx, merchant, **CREDENTIALS, base_url=sim_server.base_url)
    return merchant
