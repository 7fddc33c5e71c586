"""Gateway accounts as the request path and the worker need them: cached, decrypted lazily,
and turned into the :class:`~ownpay.gateways.base.GatewayContext` an adapter gets.

The cache (``AppContext.gateway_accounts``, ``OWNPAY_AUTH_CACHE_TTL`` seconds) makes the
create-intent hot path and every checkout page skip the account query; disabling a gateway
clears the cache of the process that did it and reaches the others within the TTL.  An
account carries its merchant's slug and base URL, so building a context needs nothing but
scalars: no payment row, no second query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.context import AppContext
from ownpay.errors import GatewayNotFound
from ownpay.gateways.base import GatewayContext
from ownpay.gateways.state import DbStateStore
from ownpay.merchants.models import PRIMARY_DOMAIN, GatewayAccount, Merchant
from ownpay.security import Keyring
from ownpay.tenancy import TenantScope


def credentials_context(merchant_id: int, mode: str, gateway: str) -> bytes:
    """Associated data binding an account's encrypted credentials to its identity."""
    return f"gateway:{merchant_id}:{mode}:{gateway}".encode()


@dataclass(frozen=True)
class ActiveGateway:
    """An active gateway account with what its merchant contributes to a provider call."""

    id: int
    merchant_id: int
    mode: str
    gateway: str
    display_name: str
    settings: dict[str, Any]
    credentials_enc: bytes | None
    merchant_slug: str
    merchant_base_url: str | None

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.merchant_id, self.mode)

    def credentials(self, keyring: Keyring) -> dict[str, str]:
        if not self.credentials_enc:
            return {}
        raw = keyring.decrypt(
            self.credentials_enc,
            context=credentials_context(self.merchant_id, self.mode, self.gateway),
        )
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise RuntimeError("stored gateway credentials are corrupt")
        return {str(k): str(v) for k, v in data.items()}


async def find_active_gateway(
    session: AsyncSession, scope: TenantScope, gateway: str
) -> ActiveGateway | None:
    row = (await session.execute(
        select(GatewayAccount, Merchant.slug, Merchant.base_url,
               PRIMARY_DOMAIN.label("primary_domain"))
        .join(Merchant, Merchant.id == GatewayAccount.merchant_id)
        .where(
            GatewayAccount.merchant_id == scope.merchant_id,
            GatewayAccount.mode == scope.mode,
            GatewayAccount.gateway == gateway,
            GatewayAccount.active.is_(True),
        )
    )).first()
    if row is None:
        return None
    account, slug, base_url, primary_domain = row
    if primary_domain:
        base_url = f"https://{primary_domain}"
    return ActiveGateway(
        id=account.id, merchant_id=account.merchant_id, mode=account.mode,
        gateway=account.gateway, display_name=account.display_name,
        settings=dict(account.settings or {}), credentials_enc=account.credentials_enc,
        merchant_slug=slug, merchant_base_url=base_url,
    )


async def active_gateway(ctx: AppContext, scope: TenantScope, gateway: str) -> ActiveGateway | None:
    """The scope's active account for ``gateway`` (cached briefly), None if there is none."""
    key = (scope.merchant_id, scope.mode, gateway)
    cached = ctx.gateway_accounts.get(key)
    if cached is not None:
        return cached if isinstance(cached, ActiveGateway) else None
    async with ctx.sessions() as session:
        account = await find_active_gateway(session, scope, gateway)
    ctx.gateway_accounts.put(key, account if account is not None else False)
    return account


async def require_active_gateway(
    ctx: AppContext, scope: TenantScope, gateway: str
) -> ActiveGateway:
    account = await active_gateway(ctx, scope, gateway)
    if account is None:
        raise GatewayNotFound(f"Gateway '{gateway}' is not configured or inactive.")
    return account


def public_base_url(ctx: AppContext, merchant_base_url: str | None) -> str:
    """The root of our public URLs for a merchant (its own base URL, else the install's)."""
    return (merchant_base_url or ctx.settings.base_url).rstrip("/")


def checkout_url(base_url: str, transaction_id: str) -> str:
    """The hosted checkout page of a payment (its ``payment_url``)."""
    return f"{base_url}/checkout/{transaction_id}"


def context_for(ctx: AppContext, account: ActiveGateway, *,
                transaction_id: str | None = None) -> GatewayContext:
    """The adapter's view of one call: decrypted config, the shared client, our URLs."""
    base = public_base_url(ctx, account.merchant_base_url)
    return GatewayContext(
        mode=account.mode,
        credentials=account.credentials(ctx.keyring),
        settings=account.settings,
        http=ctx.http,
        public_base_url=base,
        checkout_url=checkout_url(base, transaction_id) if transaction_id else "",
        store=DbStateStore(ctx, account.id),
    )


async def gateway_context(
    ctx: AppContext, scope: TenantScope, gateway: str, *, transaction_id: str | None = None
) -> tuple[GatewayContext, ActiveGateway]:
    """Context and account for a call about ``transaction_id`` (GatewayNotFound if the
    scope has no active account for the gateway)."""
    account = await require_active_gateway(ctx, scope, gateway)
    return context_for(ctx, account, transaction_id=transaction_id), account
