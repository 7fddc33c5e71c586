"""Outbound webhooks: signing and verification (``signing``) and outbox events (``events``)."""

from ownpay.webhooks.signing import (
    WebhookVerificationError,
    generate_secret,
    sign_headers,
    verify_signature,
)

__all__ = ["WebhookVerificationError", "generate_secret", "sign_headers", "verify_signature"]
