"""Bearer API-key authentication and scope checks for the JSON API.

Lookups are cached for ``OWNPAY_AUTH_CACHE_TTL`` seconds (default 5): a revocation takes
effect at once in the process that performed it (it clears its cache) and within that TTL
in every other process.  ``last_used_at`` is written at most once a minute per key, off the
request's transaction, because it is bookkeeping and must not add a write to every request.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.errors import InsufficientScope, RateLimited, Unauthenticated
from ownpay.merchants.models import ApiKey, Merchant
from ownpay.merchants.service import touch_api_key
from ownpay.security import api_key_digest, api_key_mode
from ownpay.tenancy import TenantScope
from ownpay.web.client import client_ip

_TOUCH_INTERVAL = 60.0


@dataclass(frozen=True)
class Principal:
    """Who is calling: one merchant, one mode, some scopes."""

    api_key_id: int
    merchant_id: int
    merchant_slug: str
    merchant_name: str
    merchant_base_url: str | None
    merchant_intent_lifetime: int | None
    mode: str
    scopes: frozenset[str]
    revoked: bool = False
    dialect: str | None = None  # "ownpay": a key made for OwnPay's merchant-API clients

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.merchant_id, self.mode)


BEARER = "authorization"


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    return token.strip()


def presented_key(request: Request, header: str = BEARER) -> str:
    """The API key a request presents: ``Authorization: Bearer <key>`` (ours), or the whole
    value of another header (the compatibility facades': ``RT-UDDOKTAPAY-API-KEY``,
    ``mh-piprapay-api-key``)."""
    if header == BEARER:
        return _bearer(request)
    token = request.headers.get(header, "").strip()
    if not token:
        raise Unauthenticated()
    return token


async def load_principal(ctx: AppContext, token: str) -> Principal:
    mode = api_key_mode(token)
    if mode is None:
        raise Unauthenticated("The API key is malformed.")
    digest = api_key_digest(token)
    principal: Principal | None = ctx.api_keys.get(digest)
    if principal is None:
        async with ctx.sessions() as session:
            row = (
                await session.execute(
                    select(ApiKey, Merchant)
                    .join(Merchant, Merchant.id == ApiKey.merchant_id)
                    .where(ApiKey.key_hash == digest)
                )
            ).first()
        if row is None:
            raise Unauthenticated("The API key is not valid.")
        key, merchant = row
        principal = Principal(
            api_key_id=key.id,
            merchant_id=merchant.id,
            merchant_slug=merchant.slug,
            merchant_name=merchant.name,
            merchant_base_url=merchant.public_root,
            merchant_intent_lifetime=merchant.intent_lifetime,
            mode=key.mode,
            scopes=frozenset(key.scopes.split(",")),
            revoked=key.revoked_at is not None or merchant.status != "active",
            dialect=key.dialect,
        )
        ctx.api_keys.put(digest, principal)
    if principal.revoked or principal.mode != mode:
        raise Unauthenticated("The API key has been revoked.")
    _schedule_touch(ctx, principal.api_key_id)
    return principal


def _schedule_touch(ctx: AppContext, key_id: int) -> None:
    now = time.monotonic()
    if now - ctx.key_touches.get(key_id, -_TOUCH_INTERVAL) < _TOUCH_INTERVAL:
        return
    ctx.key_touches[key_id] = now

    async def touch() -> None:
        try:
            async with ctx.sessions() as session, session.begin():
                await touch_api_key(session, key_id)
        except Exception:  # noqa: BLE001,S110 - bookkeeping must never fail a request
            ctx.key_touches.pop(key_id, None)

    ctx.track(asyncio.get_running_loop().create_task(touch()))


@functools.cache
def require_scope(scope: str, header: str = BEARER) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: authenticate, then demand ``scope``.  One callable per scope
    (cached), so a route and its resource-or-404 dependency share one authentication.
    ``header`` names where the key is (default: ``Authorization: Bearer``); the same rate
    limits, key table, revocation and scopes apply whichever header carries it."""

    async def dependency(request: Request) -> Principal:
        ctx: AppContext = request.app.state.ctx
        limiter = ctx.rate_limiter
        ip = client_ip(request.scope, ctx.settings.trusted_proxies)
        refused = (await limiter.hit("api_ip", ip)
                   or await limiter.exceeded("api_auth_failures_ip", ip))
        if refused is not None:
            raise RateLimited(headers=refused.headers())
        try:
            principal = await load_principal(ctx, presented_key(request, header))
        except Unauthenticated:
            await limiter.hit("api_auth_failures_ip", ip)
            raise
        on_brand = request.scope.get("state", {}).get("brand_host")
        if on_brand is not None and on_brand != principal.merchant_id:
            # A brand's own domain (OWNPAY_API_ON_BRAND_DOMAINS): its keys only.
            await limiter.hit("api_auth_failures_ip", ip)
            raise Unauthenticated("The API key is not valid on this domain.")
        refused = await limiter.hit("api_key", str(principal.api_key_id))
        if refused is not None:
            raise RateLimited(headers=refused.headers())
        if scope not in principal.scopes:
            raise InsufficientScope(f"This API key lacks the '{scope}' scope.")
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency
