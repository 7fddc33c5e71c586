"""A private, freshly migrated database (and our app on it) for tests whose assertions need
that no other process acts on their payments.

The session's ``live_server`` (a real ``ownpay serve``) runs its embedded worker on the
shared test database, so any overdue payment there may be swept by it too.  Expiry tests
that check *when* a provider is asked, or that a payment stays pending, use this instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.migrate import upgrade
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database, make_settings


@dataclass
class Isolated:
    database_url: str
    data_dir: Path
    ctx: AppContext
    app: Any

    def context(self, **settings: Any) -> AppContext:
        """Another process's context on the same private database (close it yourself)."""
        return AppContext.create(make_settings(self.database_url, self.data_dir, **settings))


@asynccontextmanager
async def isolated(backend: str, workdir: Path, **settings: Any) -> AsyncIterator[Isolated]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'isolated.db'}"
    else:
        url = await _create_pg_database(PG_URL)
    ctx = AppContext.create(make_settings(url, workdir, **settings))
    try:
        await upgrade(ctx.engine)
        yield Isolated(url, workdir, ctx, create_app(ctx.settings, ctx=ctx))
    finally:
        await ctx.close()
        if backend != "sqlite":
            await _drop_pg_database(PG_URL, url)
