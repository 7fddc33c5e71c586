"""Engine and session factory for both engines, plus the declarative base.

SQLite: WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction,
so that two writers queue on the lock instead of failing with SQLITE_BUSY when a
read transaction tries to upgrade.  One pooled connection per process (SQLite allows one
writer anyway and a bigger pool only adds lock contention).
PostgreSQL: asyncpg with a fixed pool (``OWNPAY_DATABASE_POOL_SIZE``, no overflow); behind a
transaction-pooling proxy (``OWNPAY_DATABASE_POOLER=transaction``, e.g. PgBouncer) without
server-side statement caches.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on both engines; always hands back aware UTC datetimes."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite raw text, e.g. from a literal default
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# PostgreSQL connections one process keeps open.  A fixed pool without overflow: overflow
# connections are opened for a burst and closed right after it (a PostgreSQL backend fork
# and authentication each time), which was most of the create-intent p99 under load
# (docs/benchmarks.md).  A request beyond the pool waits for a free connection.
DEFAULT_POOL_SIZE = 20


def create_engine(url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE,
                  pooler: str = "none") -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            connect_args={"timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args=_POOLED if pooler == "transaction" else {},
    )


def _statement_name() -> str:
    return f"__ownpay_{uuid.uuid4().hex}__"


# Behind a transaction pooler each transaction may run on another server connection, so a
# statement prepared on one is unknown (or, by name, already taken) on the next: no
# statement caches, and a unique name for the statements asyncpg still prepares.
_POOLED: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _statement_name,
}


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(
    engine: AsyncEngine, *, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """``info`` is copied into every session's ``Session.info`` (e.g. the outbox wake-up)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info or {})


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any exception."""
    async with factory() as session, session.begin():
        yield session
