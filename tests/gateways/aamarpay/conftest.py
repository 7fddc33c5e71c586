"""aamarPay end-to-end fixtures.

* ``sim_server`` -- the aamarPay stand-in on a free loopback port inside the test's loop.
* ``ap_ctx`` / ``ap_app`` -- our real application on the test database with a short
  provider timeout (1.5 s), so "aamarPay timed out" takes a second.
* ``shop`` -- a merchant whose ``aamarpay`` gateway (test mode) points at the stand-in.
* ``customer`` -- an httpx client on our app (ASGI transport); ``browser_client`` -- a plain
  client for the stand-in's hosted page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from tests.gateways.aamarpay.support import CREDENTIALS, Stand, enable_aamarpay
from tests.simulators.aamarpay import create_app as create_simulator
from tests.support.bkash import serving
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.settings import make_settings


@pytest.fixture
async def sim_server() -> AsyncIterator[Stand]:
    app = create_simulator()
    async with serving(app) as url:
        yield Stand(app, url)


@pytest.fixture(scope="session")
async def ap_ctx(ctx: AppContext, database_url: str, data_dir: Path) -> AsyncIterator[AppContext]:
    context = AppContext.create(make_settings(database_url, data_dir, gateway_timeout=1.5))
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def ap_app(ap_ctx: AppContext) -> Any:
    return create_app(ap_ctx.settings, ctx=ap_ctx)


@pytest.fixture
async def customer(ap_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ap_app), base_url="http://pay.test"
    ) as client:
        yield client


@pytest.fixture
async def browser_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def shop(ap_ctx: AppContext, sim_server: Stand) -> MerchantKeys:
    merchant = await create_merchant(ap_ctx, gateways=(("test", "sandbox"),))
    await enable_aamarpay(ap_ctx, merchant, **CREDENTIALS, base_url=sim_server.url)
    return merchant
