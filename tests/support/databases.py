"""The engines under test and throw-away databases.

Every database-backed test runs on SQLite and, when ``OWNPAY_TEST_DATABASE_URL`` is set (CI
always sets it), on PostgreSQL too.  A PostgreSQL database made here has a random name
(with the creating process's id), so pytest-xdist workers and reruns never share one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ownpay.app import create_app
from ownpay.config import normalize_database_url
from ownpay.context import AppContext
from ownpay.migrate import alembic_config, upgrade
from tests.support.settings import make_settings

PG_URL = os.environ.get("OWNPAY_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


async def create_pg_database(base_url: str = PG_URL) -> str:
    """A fresh database on the test server, so reruns never see old rows; its URL."""
    url = normalize_database_url(base_url)
    name = f"ownpay_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(db_url: str, base_url: str = PG_URL) -> None:
    admin = create_async_engine(normalize_database_url(base_url), isolation_level="AUTOCOMMIT")
    name = db_url.rsplit("/", 1)[1]
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@asynccontextmanager
async def throwaway_database(backend: str, workdir: Path,
                             name: str = "ownpay.db") -> AsyncIterator[str]:
    """An empty database of ``backend``: a SQLite file in ``workdir`` or a new PostgreSQL
    database (dropped afterwards); its URL."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / name}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


# ---- a private database with our app on it ----------------------------------------------


Migrate = Callable[[Any, str, bool], None]


@asynccontextmanager
async def migration_engine(backend: str,
                           workdir: Path) -> AsyncIterator[tuple[AsyncEngine, Migrate]]:
    """An empty database of ``backend`` (dropped afterwards) and ``run``, which moves it up
    or down to an Alembic revision on a connection: ``await conn.run_sync(run, "0015",
    True)`` -- so a test can seed rows at one revision and check them after the next."""
    from alembic import command

    url = (f"sqlite+aiosqlite:///{workdir / 'migrations.db'}" if backend == "sqlite"
           else await create_pg_database(PG_URL))
    engine = create_async_engine(url)

    def run(connection: Any, target: str, up: bool) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        (command.upgrade if up else command.downgrade)(cfg, target)

    try:
        yield engine, run
    finally:
        await engine.dispose()
        if backend != "sqlite":
            await drop_pg_database(url)


async def seed_old_payment(conn: Any) -> None:
    """Merchant 1 and one pending payment ``txn_0000000000000001``, in raw SQL (the columns
    every revision since 0012 has): what a migration test upgrades from."""
    await conn.execute(text(
        "INSERT INTO merchants (id, slug, name, status, created_at) "
        "VALUES (1, 'old', 'Old shop', 'active', CURRENT_TIMESTAMP)"))
    await conn.execute(text(
        "INSERT INTO payment_intents (id, public_id, merchant_id, mode, gateway, "
        "status, amount_minor, currency, order_id, customer_name, customer_email, "
        "return_url, created_at, updated_at, expires_at, attempts) VALUES "
        "('txn_0000000000000001', 'u-1', 1, 'test', 'sandbox', 'pending', 100, "
        "'BDT', 'O-1', 'A', 'a@example.com', 'https://x.example/', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"))


@dataclass
class Isolated:
    """A private, freshly migrated database (and our app on it) for tests whose assertions
    need that no other process acts on their payments.

    The session's ``live_server`` (a real ``ownpay serve``) runs its embedded worker on the
    shared test database, so any overdue payment there may be swept by it too.  Expiry
    tests that check *when* a provider is asked, or that a payment stays pending, use this.
    """

    database_url: str
    data_dir: Path
    ctx: AppContext
    app: Any

    def context(self, **settings: Any) -> AppContext:
        """Another process's context on the same private database (close it yourself)."""
        return AppContext.create(make_settings(self.database_url, self.data_dir, **settings))


@asynccontextmanager
async def isolated(backend: str, workdir: Path, **settings: Any) -> AsyncIterator[Isolated]:
    async with throwaway_database(backend, workdir, "isolated.db") as url:
        ctx = AppContext.create(make_settings(url, workdir, **settings))
        try:
            await upgrade(ctx.engine)
            yield Isolated(url, workdir, ctx, create_app(ctx.settings, ctx=ctx))
        finally:
            await ctx.close()
