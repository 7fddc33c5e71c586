"""Shared fixtures: every database-backed test runs on SQLite and, when
``OWNPAY_TEST_DATABASE_URL`` is set (CI always sets it), on PostgreSQL too.

Each backend gets a fresh database migrated by Alembic once per session; tests isolate
themselves by creating their own merchant (tenant isolation is a product invariant, so
sharing a database between tests is itself a check of it).  The helpers these fixtures use,
and that tests import, are in ``tests/support/``.

Folders are domains (payments, checkout, refunds, ledger, webhooks, transactions, gateways,
platform, cli, hardening); the layer of a test is a marker (``unit``, ``api``, ``browser``,
``e2e``, plus ``slow`` and ``postgres``), derived here from the fixtures it uses where that
tells (``tests/support/markers.py``) and set by the module otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.migrate import upgrade
from tests.support import markers
from tests.support.artifacts import OUTPUT, SCREENSHOTS, artifact_name
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_FOUND, ShopSite, new_page
from tests.support.databases import BACKENDS, throwaway_database
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.processes import ServerProcess, server_env, start_server
from tests.support.settings import make_settings
from tests.support.stripe import StandIn

# Always on: fails the run when a secret reaches a log line (tests/support/leaks.py).
pytest_plugins = ["tests.support.leak_plugin"]


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
    OUTPUT.mkdir(exist_ok=True)  # by every worker: exist_ok


# ---- the browser (tests/support/browser.py) -----------------------------------------------


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium per session, driven by Playwright."""
    from playwright.async_api import async_playwright

    if not CHROMIUM_FOUND:
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make install-system`")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh context and page (desktop viewport)."""
    context, pg = await new_page(browser, viewport={"width": 1280, "height": 900})
    try:
        yield pg
    finally:
        await context.close()


@pytest.fixture
async def phone_page(browser: Any) -> AsyncIterator[Any]:
    """A fresh context and page: a small phone viewport with touch."""
    context, pg = await new_page(
        browser,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        yield pg
    finally:
        await context.close()


@pytest.fixture(scope="session")
def shop_site() -> Iterator[str]:
    """The merchant's website on loopback; its base URL."""
    site = ShopSite()
    try:
        yield site.url
    finally:
        site.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Awaitable[Path]]:
    """``await shot(page, name)`` saves a full-page screenshot under
    ``test-output/screenshots/``, named after the test's node id (unique in a run, so two
    pytest-xdist workers never write one file) and ``name``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = artifact_name(request.node.nodeid)

    async def take(pg: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{test_name}--{name}.png"
        await pg.screenshot(path=str(path), full_page=True)
        return path

    return take


# ---- markers -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _processes_only_in_e2e(request: pytest.FixtureRequest) -> Iterator[None]:
    """The helpers that start a process refuse to in a test not marked ``e2e``."""
    markers.allow_processes(request.node.get_closest_marker("e2e") is not None)
    yield
    markers.allow_processes(True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for name in sorted(markers.derived(item)):
            item.add_marker(name)

