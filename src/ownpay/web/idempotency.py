"""``Idempotency-Key``: the one helper every creating POST uses (intents, refunds, and every
creating route from now on).

The first request's answer is stored **in the same transaction** as what it created; the
same key with the same body within 48 h gets that answer again (``Idempotent-Replayed:
true``); the same key with another body, or on another operation, is ``409
IDEMPOTENCY_KEY_REUSED``.  Of two concurrent first requests, the loser's transaction fails
on the key's primary key, rolls back everything it did, and answers with the winner's
answer.  Keys are scoped to the API key's merchant and mode.

A route calls :func:`create_once` with

* ``begin`` -- the unit of work (a session or a Core connection in a transaction);
* ``create`` -- the service call that writes, inside that unit;
* ``answer`` -- the presenter that turns the created thing into the stored answer;
* ``replayed`` (optional) -- how a stored answer is shown again (refunds show the refund as
  it stands now rather than as it was created);
* ``prepare`` (optional) -- reads that need a connection of their own (SQLite has one per
  process), run after the replay check and before the unit of work opens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.context import AppContext
from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.errors import IdempotencyKeyReused
from ownpay.tenancy import TenantScope

TTL = timedelta(hours=48)
T = TypeVar("T")
Unit = TypeVar("Unit", AsyncSession, AsyncConnection)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(4), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as stored for replays."""

    status_code: int
    body: bytes


@dataclass(frozen=True)
class Idempotency:
    """One request's claim on an ``Idempotency-Key``."""

    scope: TenantScope
    key: str
    request_hash: str
    operation: str

    @classmethod
    def of(cls, scope: TenantScope, key: str | None, raw_body: bytes, *,
           operation: str) -> Idempotency | None:
        """None when the request sent no key (or an empty one)."""
        if not key:
            return None
        return cls(scope, key, hashlib.sha256(raw_body).hexdigest(), operation)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    answer: Answer
    replayed: bool
    created: T | None = None  # what ``create`` returned (None on a replay)


async def stored_answer(ctx: AppContext, idem: Idempotency) -> Answer | None:
    """The first request's answer, None if there is none (or it is older than 48 h);
    409 when the key was used with another body or on another operation."""
    async with ctx.sessions() as session:
        record = await session.get(
            IdempotencyRecord, (idem.scope.merchant_id, idem.scope.mode, idem.key))
    if record is None or record.created_at < utcnow() - TTL:
        return None
    if record.request_hash != idem.request_hash or record.endpoint != idem.operation:
        raise IdempotencyKeyReused()
    return Answer(record.status_code, record.response_body)


async def remember(unit: AsyncSession | AsyncConnection, idem: Idempotency, answer: Answer,
                   *, now: datetime) -> None:
    """Store ``answer`` for the key in the caller's transaction (IntegrityError: taken)."""
    await unit.execute(insert(IdempotencyRecord).values(
        merchant_id=idem.scope.merchant_id, mode=idem.scope.mode, key=idem.key,
        endpoint=idem.operation, request_hash=idem.request_hash,
        status_code=answer.status_code, response_body=answer.body, created_at=now,
    ))


async def _same(answer: Answer) -> Answer:
    return answer


async def create_once(
    ctx: AppContext,
    idem: Idempotency | None,
    *,
    begin: Callable[[], AbstractAsyncContextManager[Unit]],
    create: Callable[[Unit], Awaitable[T]],
    answer: Callable[[T], Answer],
    replayed: Callable[[Answer], Awaitable[Answer]] = _same,
    prepare: Callable[[], Awaitable[object]] | None = None,
) -> Outcome[T]:
    """Run ``create`` once per key (see the module docstring)."""
    if idem is not None:
        previous = await stored_answer(ctx, idem)
        if previous is not None:
            return Outcome(await replayed(previous), replayed=True)
    if prepare is not None:
        await prepare()
    try:
        async with begin() as unit:
            created = await create(unit)
            first = answer(created)
            if idem is not None:
                await remember(unit, idem, first, now=utcnow())
    except IntegrityError:
        if idem is None:
            raise
        previous = await stored_answer(ctx, idem)  # a concurrent request with this key won
        if previous is None:
            raise
        return Outcome(await replayed(previous), replayed=True)
    return Outcome(first, replayed=False, created=created)


def replay_headers(outcome: Outcome[Any]) -> dict[str, str] | None:
    return {"Idempotent-Replayed": "true"} if outcome.replayed else None


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Forget keys older than 48 h (the worker's housekeeping)."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - TTL))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
