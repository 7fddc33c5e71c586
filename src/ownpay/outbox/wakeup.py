"""Wake the background worker the moment an outbox event commits, instead of at its next poll.

Without this, a ``payment.completed`` waits up to ``OWNPAY_WORKER_INTERVAL`` (1 s) before the
worker even looks at the outbox.  Two signals, both best-effort (the poll stays as the
safety net, so a lost signal only costs latency, never an event):

* **In-process** (the worker embedded in ``ownpay serve``, and SQLite installations): every
  session made by :class:`~ownpay.context.AppContext` carries the context's
  ``asyncio.Event`` in ``session.info``; :func:`note_outbox_write` marks the session and the
  ``after_commit`` listener below sets the event once the transaction is durable.
* **Across processes** (PostgreSQL, separate ``ownpay worker`` processes): the writing
  transaction also runs ``pg_notify('ownpay_outbox', '')``; PostgreSQL delivers it only if
  and when that transaction commits.  :func:`listen` keeps a dedicated connection that
  LISTENs on the channel and sets the worker's event.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import structlog
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ownpay.context import WAKEUP_KEY

log = structlog.get_logger("ownpay.webhooks")

CHANNEL = "ownpay_outbox"
_WRITTEN_KEY = "outbox_written"  # session.info: this transaction wrote outbox events


async def note_outbox_write(session: AsyncSession) -> None:
    """Call after inserting outbox rows; once per transaction it arranges the wake-ups."""
    info = session.info
    if info.get(_WRITTEN_KEY):
        return
    info[_WRITTEN_KEY] = True
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, "")))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WRITTEN_KEY, False):
        wake = session.info.get(WAKEUP_KEY)
        if isinstance(wake, asyncio.Event):
            wake.set()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN_KEY, None)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def listen(dsn: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """LISTEN on the outbox channel until ``stop``; reconnects after a lost connection."""
    backoff = 1.0
    while not stop.is_set():
        conn: Any = None
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
            await conn.add_listener(CHANNEL, lambda *_args: wake.set())
            backoff = 1.0
            wake.set()  # events may have committed while we were not listening
            while not stop.is_set() and not conn.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("outbox_listen_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 30.0)
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=5)
