"""Build a :class:`GatewayContext` for a payment: its merchant's decrypted gateway config."""

from __future__ import annotations

from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.errors import GatewayNotFound
from ownpay.gateways.base import GatewayContext
from ownpay.gateways.state import DbStateStore
from ownpay.merchants.models import Merchant
from ownpay.payments.models import PaymentIntent
from ownpay.payments.service import active_gateway


async def gateway_context_for(ctx: AppContext, intent: PaymentIntent) -> tuple[GatewayContext, str]:
    """Return the adapter context and the merchant's slug for ``intent``."""
    account = await active_gateway(
        ctx, merchant_id=intent.merchant_id, mode=intent.mode, gateway=intent.gateway
    )
    if account is None:
        raise GatewayNotFound(f"Gateway '{intent.gateway}' is not configured or inactive.")
    async with ctx.sessions() as session:
        merchant = await session.scalar(select(Merchant).where(Merchant.id == intent.merchant_id))
    assert merchant is not None  # noqa: S101 - foreign key
    base = (merchant.base_url or ctx.settings.base_url).rstrip("/")
    gctx = GatewayContext(
        mode=intent.mode,
        credentials=account.credentials(ctx.keyring),
        settings=account.settings,
        http=ctx.http,
        public_base_url=base,
        checkout_url=f"{base}/checkout/{intent.id}",
        store=DbStateStore(ctx, account.id),
    )
    return gctx, merchant.slug
