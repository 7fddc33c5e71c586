"""Paying an invoice on its public page: one payment for what is left to pay, created
through ``payments.service.create_intent`` -- the API's own path -- once per submission.

* **The same validation as the API.**  Amount, currency, customer name and e-mail and the
  return URL go through the payment-intents validator (``validate_create``); the order id
  is the invoice's number, so one paid payment pays the invoice once (the intent's own
  "one order is paid once" rule refuses a second payment after one was paid).
* **Once per submission.**  The form carries a random submission token; it is the payment's
  Idempotency-Key (operation ``invoices.pay``): a double click finds the first payment.
* **What is left to pay, when it is payable.**  The creating transaction first writes the
  invoice's row (PostgreSQL: a row lock; SQLite: the one write lock) and re-reads its
  status and amount paid: a payment is made only for an open invoice, for its outstanding
  amount as it is then.
* **The method**: the brand's one method for the amount, or (several) the customer picks
  it on the normal checkout.
"""

from __future__ import annotations

import secrets

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ownpay.context import AppContext
from ownpay.errors import IdempotencyKeyReused, OrderAlreadyPaid
from ownpay.invoices import states, totals
from ownpay.invoices.models import Invoice
from ownpay.invoices.service import invoice_url
from ownpay.merchants.accounts import public_base_url
from ownpay.merchants.auth import Principal
from ownpay.merchants.models import Merchant
from ownpay.payments import methods
from ownpay.payments import service as payments
from ownpay.payments.schemas import NewIntent, validate_create
from ownpay.web import idempotency
from ownpay.web.idempotency import Answer, Idempotency

OPERATION = "invoices.pay"  # the Idempotency-Key operation of a page submission
REQUIRED = ("amount", "currency", "return_url", "order_id")


def new_token() -> str:
    return secrets.token_urlsafe(24)


class NotPayable(Exception):
    """The invoice takes no payment now (paid, void, uncollectible, changed, no method)."""


def _principal(invoice: Invoice, merchant: Merchant) -> Principal:
    """The brand as the creator of the payment (no API key: the public page)."""
    return Principal(api_key_id=0, merchant_id=invoice.merchant_id, merchant_slug=merchant.slug,
                     merchant_name=merchant.name, merchant_base_url=merchant.public_root,
                     merchant_intent_lifetime=merchant.intent_lifetime, mode=invoice.mode,
                     scopes=frozenset())


def order(ctx: AppContext, invoice: Invoice, merchant: Merchant,
          offered: list[methods.Method]) -> NewIntent:
    """The payment for the invoice's outstanding amount, checked like an API request."""
    base = public_base_url(ctx, merchant.public_root)
    body = {
        "amount": totals.major(invoice.outstanding_minor, invoice.currency),
        "currency": invoice.currency, "order_id": invoice.number,
        "customer_name": invoice.customer_name or "",
        "customer_email": invoice.customer_email or "",
        "description": f"Invoice {invoice.number}",
        "return_url": invoice_url(base, invoice),
        "metadata": {"invoice": invoice.id, "invoice_number": invoice.number},
    }
    new, problems = validate_create(body, max_minor=ctx.settings.max_amount_minor,
                                    required=REQUIRED, strict=False)
    if new is None or problems:
        raise NotPayable("This invoice cannot be paid online: please contact "
                         f"{merchant.name}.")
    gateway = offered[0].gateway if len(offered) == 1 else ""
    return NewIntent(**{**new.__dict__, "gateway": gateway})


async def pay(ctx: AppContext, invoice: Invoice, merchant: Merchant,
              offered: list[methods.Method], submission: str) -> str:
    """Create the payment (or find the one this submission already made); its checkout URL.
    Raises :class:`NotPayable` when the invoice takes no payment now."""
    if invoice.status != states.OPEN or invoice.outstanding_minor <= 0 or not offered:
        raise NotPayable("This invoice takes no payment now.")
    new = order(ctx, invoice, merchant, offered)
    principal = _principal(invoice, merchant)
    fingerprint = orjson.dumps([new.amount_minor, new.gateway, invoice.id])
    token = submission if 16 <= len(submission) <= 64 else None
    idem = Idempotency.of(invoice.scope, token and f"invoice:{invoice.id}:{token}",
                          fingerprint, operation=OPERATION)

    async def create(conn: AsyncConnection) -> payments.CreatedIntent:
        # The invoice's row first: its payers queue here, and see what is left to pay.
        await conn.execute(update(Invoice).where(Invoice.id == invoice.id)
                           .values(updated_at=Invoice.updated_at))
        row = (await conn.execute(select(Invoice.status, Invoice.total_minor,
                                         Invoice.amount_paid_minor)
                                  .where(Invoice.id == invoice.id))).one()
        if row.status != states.OPEN or row.total_minor - row.amount_paid_minor \
                != new.amount_minor:
            raise NotPayable("This invoice changed: open it again.")
        return await payments.create_intent(conn, ctx, principal, new, invoice_id=invoice.id)

    try:
        outcome = await idempotency.create_once(
            ctx, idem, begin=ctx.engine.begin, create=create,
            answer=lambda created: Answer(303, created.payment_url.encode()))
    except IdempotencyKeyReused:
        raise NotPayable("This form was already sent: open the invoice again.") from None
    except OrderAlreadyPaid:
        raise NotPayable("This invoice is already paid.") from None
    return outcome.answer.body.decode()
