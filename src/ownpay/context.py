"""Process-wide resources shared by the API, the pages, the worker and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ownpay.cache import TTLCache
from ownpay.config import Settings
from ownpay.db import create_engine, session_factory
from ownpay.security import Keyring, load_or_create_secret_key

# ``session.info`` key of the asyncio.Event set once a transaction that wrote outbox events
# commits (``ownpay.outbox.wakeup``).
WAKEUP_KEY = "outbox_wakeup"


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    # Sessions for list, export and dashboard reads: on the replica when
    # OWNPAY_DATABASE_REPLICA_URL is set, else the primary's.  Never for a read that
    # decides money (a replica lags behind).
    read_sessions: async_sessionmaker[AsyncSession] | None = None
    replica_engine: AsyncEngine | None = None
    # Short-lived caches; see docs/operations.md for why a few seconds is safe.
    api_keys: TTLCache[str, Any] = field(default_factory=lambda: TTLCache(5.0))
    gateway_accounts: TTLCache[tuple[int, str, str], Any] = field(
        default_factory=lambda: TTLCache(5.0)
    )
    # A request's host -> the brand whose domain it is (domains/service.py brand_of_host).
    brand_hosts: TTLCache[str, Any] = field(default_factory=lambda: TTLCache(5.0))
    # When each API key's last_used_at was last written by this process (monotonic time).
    key_touches: dict[int, float] = field(default_factory=dict)
    # Set after a transaction that wrote outbox events commits (ownpay.outbox.wakeup).
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _http: httpx.AsyncClient | None = None
    _rate_limiter: Any = None
    # The worker's webhook HTTP clients (``webhooks.delivery.ClientPool``), kept across
    # passes: building an httpx client costs ~10-25 ms of CPU and each pass used to.
    webhook_clients: Any = None
    # Fire-and-forget bookkeeping (e.g. API-key last_used_at) that close() lets finish.
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def create(cls, settings: Settings, *, create_secret: bool = False) -> AppContext:
        engine = create_engine(settings.resolved_database_url,
                               pool_size=settings.database_pool_size,
                               pooler=settings.database_pooler)
        keyring = Keyring.from_master(load_or_create_secret_key(settings, create=create_secret))
        wakeup = asyncio.Event()
        ctx = cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine, info={WAKEUP_KEY: wakeup}),
            keyring=keyring,
            outbox_wakeup=wakeup,
        )
        ctx.read_sessions = ctx.sessions
        if settings.database_replica_url:
            ctx.replica_engine = create_engine(settings.database_replica_url,
                                               pool_size=settings.database_pool_size,
                                               pooler=settings.database_pooler)
            ctx.read_sessions = session_factory(ctx.replica_engine)
        ctx.api_keys = TTLCache(settings.auth_cache_ttl)
        ctx.gateway_accounts = TTLCache(settings.auth_cache_ttl)
        ctx.brand_hosts = TTLCache(settings.auth_cache_ttl)
        return ctx

    @property
    def reads(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for list, export and dashboard reads (the replica's, if configured)."""
        return self.read_sessions if self.read_sessions is not None else self.sessions

    @property
    def http(self) -> httpx.AsyncClient:
        """The one client for provider calls: bounded timeouts, no redirects.  Adapters send
        through ``ownpay.gateways.executor``, which logs and counts every call."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.gateway_timeout, connect=5.0),
                follow_redirects=False,
                headers={"User-Agent": "OwnPay/0.1"},
            )
        return self._http

    @property
    def rate_limiter(self) -> Any:
        """The installation's rate limiter (``ownpay.ratelimit.RateLimiter``)."""
        if self._rate_limiter is None:
            from ownpay.ratelimit import RateLimiter

            self._rate_limiter = RateLimiter(self.settings)
        return self._rate_limiter

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep a reference to ``task`` until it ends; ``close()`` waits for it."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self._background:  # let bookkeeping writes finish before the pool goes away
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(set(self._background), timeout=5)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self.webhook_clients is not None:
            clients, self.webhook_clients = self.webhook_clients, None
            await clients.aclose()
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
