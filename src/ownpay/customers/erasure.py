"""What forgetting a customer erases beyond the customer row and its payments' customer
columns: every other copy of the customer's details in the records of its payments.

A customer's name, e-mail or phone also travels in a payment's ``metadata`` (a merchant may
put it there; a payment link stores the customer's answers there), in a manual payment's
``submission`` (the wallet number it was sent from), in the stored events about those
payments and in the webhook bodies made from them (OwnPay's legacy scheme, UddoktaPay's and
PipraPay's carry the customer's name, e-mail and phone).  :func:`erase_copies` replaces
every string value there that contains one of the customer's details with
:data:`FORGOTTEN`; nothing else in those records changes (amounts, ids, statuses, the
provider's transaction id), so the books and the delivery history stay whole.

The details are searched as written and in their usual other spellings: e-mail without
regard to case, a phone number by its national digits (``01712345678``,
``+8801712345678`` and ``8801712345678`` all contain ``1712345678``).  Values shorter than
four characters are not searched for (a one-letter name would erase half a record).

Kept on purpose, and said so in docs/customers.md: an ``Idempotency-Key``'s stored answer
(a replay within its 48 hours must answer what the first request answered; it expires) and
the provider's own copies (the provider's records are the provider's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import jsoncodec
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from ownpay.webhooks.models import WebhookDelivery

FORGOTTEN = "[forgotten]"
SHORTEST = 4
_DIGITS = re.compile(r"\D+")


def needles(details: Iterable[str | None]) -> list[str]:
    """What to look for: each detail lower-cased, and a phone-like one also by its last ten
    digits (the national number of a Bangladeshi mobile, a stable suffix elsewhere)."""
    found: set[str] = set()
    for value in details:
        if not value:
            continue
        text = value.strip().lower()
        if len(text) >= SHORTEST:
            found.add(text)
        if _phone_like(text):
            found.add(_DIGITS.sub("", text)[-10:])
    return sorted(found, key=len, reverse=True)


def _phone_like(text: str) -> bool:
    """Seven digits or more and little else (``+``, spaces, dashes, brackets): a phone
    number as people write one -- not an id or a sentence that happens to hold digits."""
    digits = _DIGITS.sub("", text)
    return len(digits) >= 7 and len(digits) >= len(text.replace(" ", "")) - 3


def scrub(value: Any, looked_for: list[str]) -> tuple[Any, bool]:
    """``value`` with every string that contains a needle replaced; whether any was."""
    if isinstance(value, str):
        lowered = value.lower()
        squeezed = _DIGITS.sub("", lowered) if _phone_like(lowered) else ""
        for needle in looked_for:
            if needle in lowered or (squeezed and needle.isdigit() and needle in squeezed):
                return FORGOTTEN, True
        return value, False
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key], hit = scrub(item, looked_for)
            changed = changed or hit
        return out, changed
    if isinstance(value, list):
        items = [scrub(item, looked_for) for item in value]
        return [item for item, _ in items], any(hit for _, hit in items)
    return value, False


async def erase_copies(session: AsyncSession, scope: TenantScope, payment_ids: list[str],
                       details: Iterable[str | None]) -> int:
    """Scrub the payments' metadata and submission, their stored events and webhook
    bodies; returns how many records changed.  Runs in the caller's transaction."""
    looked_for = needles(details)
    if not looked_for or not payment_ids:
        return 0
    changed = 0
    mine = (PaymentIntent.merchant_id == scope.merchant_id, PaymentIntent.mode == scope.mode)
    for payment in await session.scalars(select(PaymentIntent).where(
            *mine, PaymentIntent.id.in_(payment_ids))):
        metadata, hit_metadata = scrub(payment.metadata_ or {}, looked_for)
        submission, hit_submission = scrub(payment.submission, looked_for)
        if hit_metadata:
            payment.metadata_ = metadata
        if hit_submission:
            payment.submission = submission
        changed += hit_metadata or hit_submission
    for event in await session.scalars(select(OutboxEvent).where(
            OutboxEvent.merchant_id == scope.merchant_id, OutboxEvent.mode == scope.mode,
            OutboxEvent.payment_id.in_(payment_ids))):
        payload, hit = scrub(event.payload, looked_for)
        if hit:
            event.payload = payload
            changed += 1
    for delivery in await session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.merchant_id == scope.merchant_id,
            WebhookDelivery.mode == scope.mode, WebhookDelivery.payment_id.in_(payment_ids))):
        try:
            body = json.loads(delivery.body)
        except ValueError:
            continue  # every body we make is JSON; anything else is not ours to rewrite
        body, hit = scrub(body, looked_for)
        if hit:
            delivery.body = jsoncodec.dumps(body)
            changed += 1
    await session.flush()
    return changed
