"""Encrypted per-gateway-account state shared by every process (e.g. provider tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ForeignKey, LargeBinary, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.context import AppContext
from ownpay.db import Base, UTCDateTime, utcnow


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
