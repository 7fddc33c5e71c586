"""Helpers the benchmark scripts share: a free loopback port and throw-away PostgreSQL
databases created beside the one named."""

from __future__ import annotations

import secrets
import socket

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ownpay.config import normalize_database_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def admin_sql(base_url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on ``base_url``."""
    admin = create_async_engine(normalize_database_url(base_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(sql))
    await admin.dispose()


async def create_database(base_url: str, prefix: str = "ownpay_bench") -> str:
    """A new, empty database on ``base_url``'s server; returns its async-driver URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    await admin_sql(base_url, f'CREATE DATABASE "{name}"')
    return normalize_database_url(base_url).rsplit("/", 1)[0] + "/" + name


async def drop_database(base_url: str, url: str) -> None:
    await admin_sql(base_url, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
