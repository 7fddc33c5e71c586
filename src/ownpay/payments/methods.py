"""The payment method of a payment created without one (the OwnPay merchant API lets the
customer choose on the checkout page): which of the brand's gateways can take it, and the
customer's choice, recorded once.

A payment waiting for its method has ``gateway == ""``.  Only the gateways whose account
is active for the payment's merchant and mode, whose adapter serves that mode and accepts
the currency and amount are offered; the choice is a compare-and-set on ``gateway = ''``
while the payment is pending, so two tabs cannot both choose.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.db import utcnow
from ownpay.gateways import registry
from ownpay.merchants.models import GatewayAccount
from ownpay.payments import states
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope

UNCHOSEN = ""


@dataclass(frozen=True)
class Method:
    gateway: str
    name: str  # what the customer sees: the account's display name, else the gateway's


def refusal(gateway: str, mode: str, amount_minor: int, currency: str) -> str | None:
    """Why ``gateway`` cannot take this payment (None: it can), from its adapter's
    declared checks."""
    adapter = registry.get(gateway)
    if adapter is None:
        return f"Gateway '{gateway}' does not exist."
    if mode not in adapter.modes:
        return f"Gateway '{gateway}' has no {mode} mode."
    if not adapter.currency_supported(currency):
        return f"Gateway '{gateway}' accepts only: {', '.join(sorted(adapter.currencies or ()))}."
    return adapter.validate_amount(amount_minor, currency)


async def available(session: AsyncSession, scope: TenantScope, amount_minor: int,
                    currency: str) -> list[Method]:
    """The methods a customer may choose for this amount, in the order they were set up."""
    rows = await session.execute(
        select(GatewayAccount.gateway, GatewayAccount.display_name)
        .where(GatewayAccount.merchant_id == scope.merchant_id,
               GatewayAccount.mode == scope.mode, GatewayAccount.active.is_(True))
        .order_by(GatewayAccount.created_at, GatewayAccount.id)
    )
    found = []
    for gateway, display_name in rows:
        if refusal(gateway, scope.mode, amount_minor, currency) is None:
            adapter = registry.get(gateway)
            assert adapter is not None  # noqa: S101 - refusal() checked it
            found.append(Method(gateway, display_name or adapter.display_name))
    return found


async def choose(session: AsyncSession, intent: PaymentIntent, gateway: str) -> bool:
    """Record the customer's choice; False when it is not one of the offered methods or
    the payment already has a method or is no longer pending."""
    offered = await available(session, intent.scope, intent.amount_minor, intent.currency)
    if gateway not in {method.gateway for method in offered}:
        return False
    result = await session.execute(
        update(PaymentIntent)
        .where(PaymentIntent.id == intent.id, PaymentIntent.gateway == UNCHOSEN,
               PaymentIntent.status == states.PENDING)
        .values(gateway=gateway, updated_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0) == 1)
