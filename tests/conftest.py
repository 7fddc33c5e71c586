"""Shared fixtures: every database-backed test runs on SQLite and, when
``OWNPAY_TEST_DATABASE_URL`` is set (CI always sets it), on PostgreSQL too.

Each backend gets a fresh database migrated by Alembic once per session; tests isolate
themselves by creating their own merchant (tenant isolation is a product invariant, so
sharing a database between tests is itself a check of it).  The helpers these fixtures use,
and that tests import, are in ``tests/support/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.migrate import upgrade
from tests.support.artifacts import OUTPUT
from tests.support.databases import BACKENDS, throwaway_database
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.processes import ServerProcess, server_env, start_server
from tests.support.settings import make_settings
from tests.support.stripe import StandIn


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ownpay-data")


@pytest.fixture(scope="session")
async def database_url(backend: str,
                       tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with throwaway_database(backend, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@pytest.fixture(scope="session")
async def ctx(database_url: str, data_dir: Path) -> AsyncIterator[AppContext]:
    context = AppContext.create(make_settings(database_url, data_dir))
    await upgrade(context.engine)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def app(ctx: AppContext) -> Any:
    return create_app(ctx.settings, ctx=ctx)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        yield c


@pytest.fixture
async def merchant(ctx: AppContext) -> MerchantKeys:
    return await create_merchant(ctx)


# ---- real processes ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(database_url: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `ownpay serve` process per backend, sharing the test database."""
    data = tmp_path_factory.mktemp("server-data")
    env = server_env(database_url, data)
    server = start_server(env, data / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """localstripe (Stripe's stand-in), one process per session on a free port."""
    server = StandIn(tmp_path_factory.mktemp("localstripe"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _output_dir() -> None:
    OUTPUT.mkdir(exist_ok=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.browser)
