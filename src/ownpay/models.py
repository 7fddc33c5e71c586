"""Import every model so ``Base.metadata`` is complete (Alembic and tests use it)."""

from ownpay.db import Base
from ownpay.gateways.provider_events import ProviderEventRecord
from ownpay.gateways.state import GatewayState
from ownpay.ledger.models import FeeRule, LedgerEntry, LedgerJournal
from ownpay.merchants.models import ApiKey, GatewayAccount, Merchant
from ownpay.payments.models import (
    IdempotencyRecord,
    OutboxEvent,
    PaymentIntent,
    PaymentStatusHistory,
)
from ownpay.refunds.models import Refund
from ownpay.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint  # noqa: F401

__all__ = [
    "ApiKey",
    "Base",
    "FeeRule",
    "GatewayAccount",
    "GatewayState",
    "IdempotencyRecord",
    "LedgerEntry",
    "LedgerJournal",
    "Merchant",
    "OutboxEvent",
    "PaymentIntent",
    "PaymentStatusHistory",
    "ProviderEventRecord",
    "Refund",
]
