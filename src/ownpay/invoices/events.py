"""A payment for an invoice completed: called by the payment's status writer
(``payments/service.py transition``) in the same transaction.  The amount is added to the
invoice's ``amount_paid`` (one ``UPDATE … SET amount_paid = amount_paid + :amount``: two
completions at once both count); when it covers the total, an open invoice moves to
``paid`` through ``service.transition`` (compare-and-set: ``invoice.paid`` once).  A
payment completing for a void or uncollectible invoice is counted, and the invoice stays
as it is (an operator refunds it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.invoices import service, states
from ownpay.invoices.models import Invoice
from ownpay.payments.models import PaymentIntent


async def record_invoice_payment(session: AsyncSession, intent: PaymentIntent, *,
                                 now: datetime) -> None:
    if intent.currency is None:
        return
    invoice = (await session.scalars(
        update(Invoice).where(Invoice.id == intent.invoice_id,
                              Invoice.merchant_id == intent.merchant_id,
                              Invoice.mode == intent.mode, Invoice.currency == intent.currency)
        .values(amount_paid_minor=Invoice.amount_paid_minor + intent.amount_minor,
                updated_at=now).returning(Invoice)
        .execution_options(synchronize_session=False, populate_existing=True))).one_or_none()
    if invoice is None or invoice.status != states.OPEN:
        return
    if invoice.amount_paid_minor >= invoice.total_minor:
        await service.transition(session, invoice_id=invoice.id,
                                 merchant_id=invoice.merchant_id, expected=states.OPEN,
                                 to=states.PAID, actor=f"payment:{intent.id}"[:64],
                                 reason="its payments cover the total", now=now,
                                 payment_id=intent.id)
