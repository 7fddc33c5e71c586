"""Encrypted per-gateway-account state shared by every process (e.g. provider tokens)."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import structlog
from sqlalchemy import ForeignKey, LargeBinary, String, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.context import AppContext
from ownpay.db import Base, UTCDateTime, utcnow

log = structlog.get_logger("ownpay.gateways")

_LOCK_POLL = 0.02  # seconds between attempts to take a held lock


class GatewayState(Base):
    __tablename__ = "gateway_state"

    account_id: Mapped[int] = mapped_column(ForeignKey("gateway_accounts.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DbStateStore:
    """:class:`~ownpay.gateways.base.StateStore` backed by ``gateway_state``, AES-GCM sealed."""

    def __init__(self, ctx: AppContext, account_id: int) -> None:
        self.ctx = ctx
        self.account_id = account_id

    def _context(self, key: str) -> bytes:
        return f"gateway-state:{self.account_id}:{key}".encode()

    async def get(self, key: str) -> dict[str, Any] | None:
        async with self.ctx.sessions() as session:
            blob = await session.scalar(
                select(GatewayState.value_enc).where(
                    GatewayState.account_id == self.account_id, GatewayState.key == key
                )
            )
        if blob is None:
            return None
        try:
            value = orjson.loads(self.ctx.keyring.decrypt(blob, context=self._context(key)))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def put(self, key: str, value: dict[str, Any]) -> None:
        blob = self.ctx.keyring.encrypt(orjson.dumps(value), context=self._context(key))
        now = utcnow()
        async with self.ctx.sessions() as session, session.begin():
            result = await session.execute(
                update(GatewayState)
                .where(GatewayState.account_id == self.account_id, GatewayState.key == key)
                .values(value_enc=blob, updated_at=now)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return
            try:
                async with session.begin_nested():
                    session.add(GatewayState(account_id=self.account_id, key=key, value_enc=blob,
                                             updated_at=now))
            except IntegrityError:  # another process inserted it first: last writer wins
                await session.execute(
                    update(GatewayState)
                    .where(GatewayState.account_id == self.account_id, GatewayState.key == key)
                    .values(value_enc=blob, updated_at=now)
                )

    # ---- one process at a time ---------------------------------------------------------
    #
    # PostgreSQL (many processes, maybe many hosts): a transaction-scoped advisory lock in a
    # transaction of its own, on a connection of its own.  SQLite (one host): flock() on a
    # file under the data dir.  Both are released by the operating system / the server if
    # the holder dies.  Taking the lock polls without blocking, so a cancelled request stops
    # waiting at once; the wait is
    # bounded (the holder only makes provider calls bounded by OWNPAY_GATEWAY_TIMEOUT), and
    # past the bound the caller proceeds unlocked, which at worst repeats the holder's work.

    def _lock_name(self, key: str) -> bytes:
        return hashlib.sha256(f"gateway-state:{self.account_id}:{key}".encode()).digest()

    def _lock_deadline(self) -> float:
        return time.monotonic() + 2 * self.ctx.settings.gateway_timeout + 1

    @asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        if self.ctx.engine.dialect.name == "postgresql":
            async with self._pg_lock(key):
                yield
        else:
            async with self._file_lock(key):
                yield

    @asynccontextmanager
    async def _pg_lock(self, key: str) -> AsyncIterator[None]:
        # A transaction-scoped lock held by a transaction left open for the block: released
        # by its commit (or by the server if this process dies), and the same server
        # connection throughout even behind a transaction pooler (PgBouncer), where a
        # session lock would stay on whichever server connection the pooler gave next.
        lock_id = int.from_bytes(self._lock_name(key)[:8], "big", signed=True)
        deadline = self._lock_deadline()
        async with self.ctx.engine.connect() as conn:
            held = False
            while True:
                held = bool(await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"),
                                              {"id": lock_id}))
                if held:
                    break
                await conn.rollback()  # a waiter holds no transaction (nor a pooled server
                if time.monotonic() >= deadline:  # connection) between its attempts
                    break
                await asyncio.sleep(_LOCK_POLL)
            if not held:
                log.warning("gateway_state_lock_timeout", account_id=self.account_id, key=key)
            try:
                yield
            finally:
                if held:
                    try:
                        await conn.commit()
                    except BaseException:
                        await conn.invalidate()  # never pool a connection holding the lock
                        raise

    @asynccontextmanager
    async def _file_lock(self, key: str) -> AsyncIterator[None]:
        path = Path(self.ctx.settings.data_dir) / "locks" / f"{self._lock_name(key).hex()[:32]}"
        fd = await asyncio.to_thread(_open_lock_file, path)
        deadline = self._lock_deadline()
        try:
            held = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = True
                except BlockingIOError:
                    if time.monotonic() < deadline:
                        await asyncio.sleep(_LOCK_POLL)
                        continue
                    log.warning("gateway_state_lock_timeout", account_id=self.account_id,
                                key=key)
                break
            try:
                yield
            finally:
                if held:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _open_lock_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
