"""Import every model so ``Base.metadata`` is complete (Alembic and tests use it)."""

from ownpay.db import Base
from ownpay.gateways.state import GatewayState
from ownpay.merchants.models import ApiKey, GatewayAccount, Merchant
from ownpay.payments.models import (
    IdempotencyRecord,
    OutboxEvent,
    PaymentIntent,
    PaymentStatusHistory,
)

__all__ = [
    "ApiKey",
    "Base",
    "GatewayAccount",
    "GatewayState",
    "IdempotencyRecord",
    "Merchant",
    "OutboxEvent",
    "PaymentIntent",
    "PaymentStatusHistory",
]
