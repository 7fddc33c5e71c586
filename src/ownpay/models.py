"""Import every model so ``Base.metadata`` is complete (Alembic and tests use it)."""

from ownpay.audit.models import AuditEntry
from ownpay.branding.models import BrandAsset
from ownpay.compat.models import CompatSwitch
from ownpay.customers.models import Customer
from ownpay.dashboard.models import InstallationSetting, User, UserSession
from ownpay.db import Base
from ownpay.domains.models import BrandDomain
from ownpay.gateways.state import GatewayState
from ownpay.invoices.models import Invoice, InvoiceStatusHistory
from ownpay.ledger.models import FeeRule, LedgerEntry, LedgerJournal
from ownpay.links.models import PaymentLink
from ownpay.merchants.models import ApiKey, GatewayAccount, Merchant
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.provider_events.models import ProviderEventRecord
from ownpay.refunds.models import Refund
from ownpay.sms.models import PairingCode, SmsAlert, SmsDevice, SmsMessage
from ownpay.web.idempotency import IdempotencyRecord
from ownpay.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditEntry",
    "BrandAsset",
    "Base",
    "BrandDomain",
    "CompatSwitch",
    "Customer",
    "FeeRule",
    "GatewayAccount",
    "GatewayState",
    "IdempotencyRecord",
    "InstallationSetting",
    "Invoice",
    "InvoiceStatusHistory",
    "LedgerEntry",
    "LedgerJournal",
    "Merchant",
    "OutboxEvent",
    "PairingCode",
    "PaymentIntent",
    "PaymentLink",
    "PaymentStatusHistory",
    "ProviderEventRecord",
    "Refund",
    "SmsAlert",
    "SmsDevice",
    "SmsMessage",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
