"""Fixtures every gateway's end-to-end tests use: our real app on the test database with a
short provider timeout (``PROVIDER_TIMEOUT``: fault tests wait for it), an in-process
customer, a plain client for a stand-in's hosted pages, and a browser tab at each window
size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from tests.support.browser import new_page
from tests.support.live_checkout import SIZES
from tests.support.settings import PROVIDER_TIMEOUT, make_settings


@pytest.fixture(scope="session")
async def gateway_ctx(ctx: AppContext, database_url: str, data_dir: Path
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
def gateway_app(gateway_ctx: AppContext) -> Any:
    return create_app(gateway_ctx.settings, ctx=gateway_ctx)


@pytest.fixture
async def customer(gateway_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway_app),
                                 base_url="http://pay.test") as client:
        yield client


@pytest.fixture
async def browser_http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain client for a stand-in's hosted page (redirects not followed)."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture(params=sorted(SIZES))
async def tab(request: pytest.FixtureRequest, browser: Any) -> AsyncIterator[Any]:
    """A fresh browser page, once at each of ``SIZES`` (desktop, phone)."""
    context, page = await new_page(browser, **SIZES[request.param])
    try:
        yield page
    finally:
        await context.close()
