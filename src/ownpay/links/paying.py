"""Paying through a link's public page: reading the customer's form, and creating the
payment -- through ``payments.service.create_intent``, the API's own path -- once per
submission and never beyond the link's usage cap.

* **The same validation as the API.**  Amount, name, e-mail and phone go through the
  payment-intents validator (``validate_create``); the amount must be the link's price, or
  within its min/max; the method must be one the link allows and the brand offers for it.
* **Once per submission.**  The form carries a random submission token; it is the payment's
  Idempotency-Key (operation ``links.pay``), so a double click or a resubmitted form finds
  the first payment instead of making a second.
* **The cap holds under concurrency.**  The creating transaction first writes the link's
  row (PostgreSQL: a row lock; SQLite: the database's one write lock), then counts the
  payments holding a place (:func:`ownpay.links.service.holding`): concurrent payers are
  counted one after another, and the (N+1)-th is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from ownpay import money
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.errors import IdempotencyKeyReused
from ownpay.i18n import ascii_digits
from ownpay.i18n import gettext as _
from ownpay.links.models import PaymentLink
from ownpay.links.service import closed_because, holding
from ownpay.links.terms import TEXT_LIMIT
from ownpay.merchants.accounts import public_base_url
from ownpay.merchants.auth import Principal
from ownpay.merchants.models import Merchant
from ownpay.outbox.payloads import decimal_string
from ownpay.payments import methods
from ownpay.payments import service as payments
from ownpay.payments.schemas import NewIntent, validate_create
from ownpay.web import idempotency
from ownpay.web.idempotency import Answer, Idempotency

OPERATION = "links.pay"  # the Idempotency-Key operation of a page submission
REQUIRED = ("amount", "currency", "return_url", "customer_name", "customer_email")


class LinkClosed(Exception):
    """The link takes no payment now (turned off, expired, its cap reached)."""


@dataclass(frozen=True)
class Order:
    new: NewIntent
    token: str  # the form's submission token


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _answer(link: PaymentLink, field: dict[str, Any], raw: str,
            errors: dict[str, list[str]]) -> str | None:
    name, label = field["name"], field["label"]
    value = raw.strip()
    if not value:
        if field.get("required"):
            errors.setdefault(name, []).append(
                _("%(label)s: please fill this in.") % {"label": label})
        return None
    if field["type"] == "number":
        value = ascii_digits(value)  # ১২.৫ typed on a Bangla keyboard is 12.5
        try:
            number = Decimal(value) if value.isascii() and len(value) <= 20 else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            errors.setdefault(name, []).append(
                _("%(label)s: enter a number, e.g. 12 or 12.5.") % {"label": label})
            return None
    elif field["type"] == "select":
        if value not in field.get("options", []):
            errors.setdefault(name, []).append(
                _("%(label)s: choose one of the options.") % {"label": label})
            return None
    elif len(value) > TEXT_LIMIT or not value.isprintable():
        errors.setdefault(name, []).append(
            _("%(label)s: at most %(limit)s characters, without control characters.")
            % {"label": label, "limit": TEXT_LIMIT})
        return None
    return value


def read_order(ctx: AppContext, link: PaymentLink, merchant: Merchant, form: dict[str, str],
               offered: list[methods.Method]) -> tuple[Order | None, dict[str, list[str]]]:
    """The payment the customer asked for, or every problem with the form (field → messages,
    in the customer's words)."""
    errors: dict[str, list[str]] = {}
    answers: dict[str, str] = {}
    for field in link.fields or []:
        value = _answer(link, field, form.get(field["name"], ""), errors)
        if value is not None:
            answers[field["name"]] = value
    base = public_base_url(ctx, merchant.public_root)
    body: dict[str, Any] = {
        # A fixed price is the link's; a customer's own amount may have thousands commas.
        "amount": decimal_string(link.amount_minor, link.currency)
        if link.amount_minor is not None
        else ascii_digits(form.get("amount", "")).replace(",", "").strip(),
        "currency": link.currency,
        "customer_name": form.get("customer_name", ""),
        "customer_email": form.get("customer_email", ""),
        "customer_phone": ascii_digits(form.get("customer_phone", "")),
        "description": link.title[:500],
        "order_id": f"{link.slug[:60]}-{secrets.token_hex(4)}",
        "return_url": link.redirect_url or f"{base}/pay/{link.slug}/thanks",
        "metadata": {"payment_link": link.id, **answers},
    }
    new, problems = validate_create(body, max_minor=ctx.settings.max_amount_minor,
                                    required=REQUIRED, strict=False)
    for name, messages in problems.items():
        errors.setdefault(name, []).extend(messages)
    gateway = offered[0].gateway if len(offered) == 1 else form.get("gateway", "")
    if gateway not in {m.gateway for m in offered}:
        errors.setdefault("gateway", []).append(_("Choose how to pay."))
    if new is not None and link.amount_minor is None:
        low, high = link.min_minor or 1, link.max_minor
        if new.amount_minor < low or (high is not None and new.amount_minor > high):
            errors.setdefault("amount", []).append(_range_text(link))
    if new is not None and not errors:
        reason = methods.refusal(gateway, link.mode, new.amount_minor, new.currency)
        if reason:
            errors.setdefault("amount", []).append(reason)
    if errors or new is None:
        return None, errors
    return Order(NewIntent(**{**new.__dict__, "gateway": gateway}), form.get("submission", "")
                 ), {}


def _range_text(link: PaymentLink) -> str:
    low = money.format_plain(link.min_minor or 1, link.currency)
    if link.max_minor is None:
        return _("Enter at least %(low)s.") % {"low": low}
    return _("Enter an amount from %(low)s to %(high)s.") % {
        "low": low, "high": money.format_plain(link.max_minor, link.currency)}


def _principal(link: PaymentLink, merchant: Merchant) -> Principal:
    """The brand as the creator of the payment (no API key: the public page)."""
    return Principal(api_key_id=0, merchant_id=link.merchant_id, merchant_slug=merchant.slug,
                     merchant_name=merchant.name, merchant_base_url=merchant.public_root,
                     merchant_intent_lifetime=merchant.intent_lifetime, mode=link.mode,
                     scopes=frozenset())


async def pay(ctx: AppContext, link: PaymentLink, merchant: Merchant, order: Order) -> str:
    """Create the payment (or find the one this submission already made); its checkout URL.
    Raises :class:`LinkClosed` when the link takes no payment now."""
    principal = _principal(link, merchant)
    fingerprint = orjson.dumps([order.new.amount_minor, order.new.gateway,
                                order.new.customer_email, order.new.metadata],
                               option=orjson.OPT_SORT_KEYS)
    token = order.token if 16 <= len(order.token) <= 64 else None
    idem = Idempotency.of(link.scope, token and f"link:{link.id}:{token}", fingerprint,
                          operation=OPERATION)

    async def create(conn: AsyncConnection) -> payments.CreatedIntent:
        now = utcnow()
        # The link's row first: concurrent payers of one link queue here.
        await conn.execute(update(PaymentLink).where(PaymentLink.id == link.id)
                           .values(updated_at=PaymentLink.updated_at))
        why = closed_because(link, now=now, taken=await holding(conn, link.id, now=now))
        if why is not None:
            raise LinkClosed(why)
        return await payments.create_intent(conn, ctx, principal, order.new, link_id=link.id)

    try:
        outcome = await idempotency.create_once(
            ctx, idem, begin=ctx.engine.begin, create=create,
            answer=lambda created: Answer(303, created.payment_url.encode()))
    except IdempotencyKeyReused:
        raise LinkClosed(_("This form was already sent with other details: open the "
                           "link again.")) from None
    return outcome.answer.body.decode()
