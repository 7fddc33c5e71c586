"""Import every model so ``Base.metadata`` is complete (Alembic and tests use it)."""

from ownpay.db import Base
from ownpay.gateways.provider_events import ProviderEventRecord
from ownpay.gateways.state import GatewayState
from ownpay.merchants.models import ApiKey, GatewayAccount, Merchant
from ownpay.payments.models import (
    IdempotencyRecord,
    OutboxEvent,
    PaymentIntent,
    PaymentStatusHistory,
)
from ownpay.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint  # noqa: F401

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
    "ProviderEventRecord",
]
