"""Webhook fixtures: a database of their own per backend (so no other test's server or worker
drains these deliveries), contexts with a compressed retry schedule, and a receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.db import create_engine
from ownpay.migrate import upgrade
from tests.support.databases import throwaway_database
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.receivers import Receiver
from tests.support.webhooks import Contexts, drop_endpoints


@pytest.fixture(scope="session")
async def wh_database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with throwaway_database(backend, tmp_path_factory.mktemp("wh-sqlite"),
                                  "webhooks.db") as url:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url


@pytest.fixture(scope="session")
def wh_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wh-data")


@pytest.fixture(scope="session")
async def contexts(wh_database_url: str, wh_data_dir: Path) -> AsyncIterator[Contexts]:
    made = Contexts(wh_database_url, wh_data_dir)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture(scope="session")
def wctx(contexts: Contexts) -> AppContext:
    return contexts()


@pytest.fixture
async def wclient(wctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(wctx.settings, ctx=wctx)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pay.test"
    ) as c:
        yield c


@pytest.fixture
async def shop(wctx: AppContext) -> AsyncIterator[MerchantKeys]:
    """A fresh merchant; afterwards its endpoints are deleted so that no delivery of this
    test is left for a later test's worker step to pick up."""
    merchant = await create_merchant(wctx)
    yield merchant
    await drop_endpoints(wctx, merchant.id)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()
