"""Stripe's webhooks: verify ``Stripe-Signature`` with the endpoint's signing secret (the SDK
does it, 5 minutes into the past; the future is bounded here too) and say what an event is
about.  The event body decides nothing: the core re-fetches the PaymentIntent (or re-lists
its refunds) before acting."""

from __future__ import annotations

import time
from collections.abc import Mapping

import stripe

from ownpay.gateways.base import ProviderEvent, ProviderEventKind, WebhookRejected
from ownpay.gateways.stripe.mapping import metadata, object_id, text

TOLERANCE = 300  # seconds of clock skew accepted, in either direction

# Payment events that are about the PaymentIntent's status: re-fetch it and act.
PAYMENT_EVENTS = frozenset({
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.canceled",
})
# Refund events (on the charge or on the refund object): re-list the payment's refunds.
REFUND_EVENTS = frozenset({
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
})


def parse_event(
    *, secret: str, mode: str, headers: Mapping[str, str], body: bytes
) -> ProviderEvent:
    """A verified event, or :class:`WebhookRejected`."""
    signature = headers.get("stripe-signature", "")
    if not secret or not signature:
        raise WebhookRejected("missing Stripe-Signature header")
    # The SDK refuses signatures older than its tolerance but not ones dated in the future
    # (a captured signature could be held and replayed later); bound the skew both ways.
    stamps = [part[2:] for part in signature.split(",") if part.strip().startswith("t=")]
    if not stamps or not stamps[0].strip().isdigit():
        raise WebhookRejected("Stripe-Signature has no timestamp")
    if int(stamps[0]) > time.time() + TOLERANCE:
        raise WebhookRejected("Stripe-Signature is dated in the future")
    try:
        event = stripe.Webhook.construct_event(body, signature, secret,
                                               tolerance=TOLERANCE).to_dict()
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected("Stripe-Signature does not verify") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected("malformed Stripe event") from exc
    event_id, event_type = text(event.get("id")), text(event.get("type"))
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not event_id or not event_type or not isinstance(obj, Mapping):
        raise WebhookRejected("malformed Stripe event")
    if bool(event.get("livemode")) != (mode == "live"):
        return ProviderEvent(event_id=event_id, type=event_type, kind=ProviderEventKind.IGNORED,
                             details={"note": "livemode does not match this account's mode"})
    if event_type in PAYMENT_EVENTS:
        return ProviderEvent(
            event_id=event_id, type=event_type, kind=ProviderEventKind.PAYMENT,
            provider_reference=text(obj.get("id")) or None,
            reference=text(metadata(obj).get("transaction_id")) or None,
        )
    if event_type in REFUND_EVENTS:
        # Informational only: the refunds are re-listed from Stripe before anything is
        # booked (the body may be stale or reordered).
        return ProviderEvent(
            event_id=event_id, type=event_type, kind=ProviderEventKind.REFUND,
            provider_reference=object_id(obj.get("payment_intent")),
            reference=text(metadata(obj).get("transaction_id")) or None,
            details={"object": text(obj.get("object")), "id": text(obj.get("id"))},
        )
    return ProviderEvent(event_id=event_id, type=event_type, kind=ProviderEventKind.IGNORED)
