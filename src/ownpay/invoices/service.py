"""Invoices: creating, reading, listing and changing drafts (``terms.py`` checks the terms),
the one status writer (:func:`transition`), and what the public page needs (the invoice of
a token).  docs/invoices.md.

An invoice is a brand's and mode's, like every other object: each read names a
:class:`~ownpay.tenancy.TenantScope`, except :func:`public_invoice`, which finds an invoice
by its page's token (random, 256 bits; the page then serves only that invoice's brand).

* **Numbers**: ``INV-000123``, a sequence per brand and mode, unique (an index): the next
  is one more than the largest; two creations at once collide on the index and the loser
  draws again, in a savepoint.
* **One status writer**: :func:`transition` is a compare-and-set on the expected status
  (``UPDATE … WHERE status = :expected``) with a history row, and for ``paid`` the
  ``invoice.paid`` event, in the caller's transaction.  Legal moves are ``states.ALLOWED``.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.customers import matching, pii
from ownpay.customers.models import Customer
from ownpay.db import utcnow
from ownpay.errors import InvalidState, NotFound, ValidationFailed
from ownpay.invoices import states, terms, totals
from ownpay.invoices.models import Invoice, InvoiceStatusHistory
from ownpay.outbox.writer import record_event
from ownpay.pagination import newest_first
from ownpay.payments.models import PaymentIntent
from ownpay.security import Keyring
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso

INVOICE_NOT_FOUND = "Invoice not found."
NOT_DRAFT = "Only a draft invoice can be changed or finalised."
NOT_OPEN = "Only an open invoice can be voided or marked uncollectible."
NOTHING_TO_PAY = "An invoice with a total of 0 cannot be finalised."


class IllegalTransition(InvalidState):
    pass


def new_invoice_id() -> str:
    return "inv_" + secrets.token_hex(8)


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits, 43 URL-safe characters


# ---- the status writer ------------------------------------------------------------------------


async def transition(session: AsyncSession, *, invoice_id: str, merchant_id: int,
                     expected: str, to: str, actor: str, reason: str | None = None,
                     values: dict[str, Any] | None = None, now: datetime | None = None,
                     payment_id: str | None = None) -> Invoice | None:
    """Move an invoice from ``expected`` to ``to``; None if someone else moved it first.
    Raises :class:`IllegalTransition` for a move ``states.ALLOWED`` does not list.
    ``payment_id`` (a move to ``paid``) keeps ``invoice.paid`` in that payment's order."""
    if not states.is_allowed(expected, to):
        raise IllegalTransition(f"An invoice cannot move from {expected} to {to}.")
    now = now or utcnow()
    changes: dict[str, Any] = {"status": to, "updated_at": now, **(values or {})}
    if to == states.PAID:
        changes.setdefault("paid_at", now)
    if to == states.OPEN:
        changes.setdefault("finalized_at", now)
    invoice = (await session.scalars(
        update(Invoice).where(Invoice.id == invoice_id, Invoice.merchant_id == merchant_id,
                              Invoice.status == expected)
        .values(**changes).returning(Invoice)
        .execution_options(synchronize_session=False, populate_existing=True))).one_or_none()
    if invoice is None:
        return None
    session.add(InvoiceStatusHistory(
        invoice_id=invoice_id, merchant_id=merchant_id, from_status=expected, to_status=to,
        actor=actor[:64], reason=(reason or None) and reason[:500], created_at=now))
    if to == states.PAID:
        await record_event(session, merchant_id=merchant_id, mode=invoice.mode,
                           event_type="invoice.paid", payment_id=payment_id, now=now,
                           payload=event_payload(invoice, transaction_id=payment_id))
    await session.flush()
    return invoice


def event_payload(invoice: Invoice, *, transaction_id: str | None = None) -> dict[str, Any]:
    """The body of ``invoice.paid`` and ``invoice.overdue`` (besides id, event, created_at)."""
    return {"invoice": {
        "id": invoice.id, "number": invoice.number, "status": invoice.status,
        "currency": invoice.currency, "total": totals.major(invoice.total_minor,
                                                            invoice.currency),
        "amount_paid": totals.major(invoice.amount_paid_minor, invoice.currency),
        "amount_due": totals.major(invoice.outstanding_minor, invoice.currency),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "customer_id": invoice.customer_id},
        "transaction_id": transaction_id, "mode": invoice.mode}


# ---- creating, reading, changing ------------------------------------------------------------


async def _customer(session: AsyncSession, keyring: Keyring, scope: TenantScope,
                    values: dict[str, Any], *, now: datetime) -> None:
    """The invoice's customer: the one named (its name and e-mail filled in when not given),
    or the one the name and e-mail match or make (``customers/matching.py``)."""
    email = values.get("customer_email")
    if email is not None and pii.normal_email(email) is None:
        raise ValidationFailed(errors={"customer_email": ["The customer e-mail must be a "
                                                          "valid e-mail address."]})
    if values.get("customer_id"):
        customer = await session.scalar(select(Customer).where(
            Customer.id == values["customer_id"], Customer.merchant_id == scope.merchant_id,
            Customer.mode == scope.mode, Customer.forgotten_at.is_(None)))
        if customer is None:
            raise ValidationFailed(errors={"customer_id": ["Unknown customer id."]})
        values["customer_name"] = values.get("customer_name") or pii.unseal(
            keyring, customer.id, "name", customer.name_enc)
        values["customer_email"] = values.get("customer_email") or pii.unseal(
            keyring, customer.id, "email", customer.email_enc)
    elif email is not None:
        values["customer_id"] = await matching.match_or_create(
            await session.connection(), keyring, scope, name=values.get("customer_name") or "",
            email=email, phone=None, now=now)


async def create_invoice(session: AsyncSession, keyring: Keyring, scope: TenantScope,
                         body: dict[str, Any], *, max_minor: int) -> Invoice:
    """A draft with the next number of the brand and mode."""
    values, errors = terms.check_terms(body, max_minor=max_minor)
    errors.raise_if_any()
    now = utcnow()
    await _customer(session, keyring, scope, values, now=now)
    mine = (Invoice.merchant_id == scope.merchant_id, Invoice.mode == scope.mode)
    for _ in range(5):  # a number (or token) taken at the same moment is drawn again
        last = await session.scalar(select(func.max(Invoice.sequence)).where(*mine))
        invoice = Invoice(id=new_invoice_id(), merchant_id=scope.merchant_id, mode=scope.mode,
                          token=new_token(), sequence=int(last or 0) + 1,
                          status=states.DRAFT, amount_paid_minor=0, created_at=now,
                          updated_at=now, **values)
        try:
            async with session.begin_nested():
                session.add(invoice)
                await session.flush()
        except IntegrityError:
            continue
        return invoice
    raise RuntimeError("no free invoice number after 5 draws")


async def get_invoice(session: AsyncSession, scope: TenantScope, invoice_id: str) -> Invoice:
    invoice = await session.scalar(select(Invoice).where(
        Invoice.id == invoice_id, Invoice.merchant_id == scope.merchant_id,
        Invoice.mode == scope.mode))
    if invoice is None:
        raise NotFound(INVOICE_NOT_FOUND)
    return invoice


def current_terms(invoice: Invoice) -> dict[str, Any]:
    """A draft's terms as a body (what ``PATCH`` overlays)."""
    return {"currency": invoice.currency, "lines": list(invoice.lines),
            "discount_amount": None if invoice.discount_amount_minor is None
            else totals.major(invoice.discount_amount_minor, invoice.currency),
            "discount_rate": invoice.discount_rate, "tax_rate": invoice.tax_rate,
            "due_date": invoice.due_date, "notes": invoice.notes,
            "customer_id": invoice.customer_id, "customer_name": invoice.customer_name,
            "customer_email": invoice.customer_email}


async def update_invoice(session: AsyncSession, keyring: Keyring, scope: TenantScope,
                         invoice_id: str, body: dict[str, Any], *,
                         max_minor: int) -> Invoice:
    """Change a draft: only the fields sent, checked with the rest of its terms."""
    invoice = await get_invoice(session, scope, invoice_id)
    if invoice.status != states.DRAFT:
        raise InvalidState(NOT_DRAFT)
    current = current_terms(invoice)
    if "customer_email" in body or "customer_name" in body:
        current["customer_id"] = None  # a new name or e-mail matches its own customer
    values, errors = terms.check_terms(body, max_minor=max_minor, current=current)
    errors.raise_if_any()
    now = utcnow()
    await _customer(session, keyring, scope, values, now=now)
    result = await session.execute(update(Invoice).where(
        Invoice.id == invoice.id, Invoice.status == states.DRAFT).values(
            **values, updated_at=now))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidState(NOT_DRAFT)
    await session.refresh(invoice)
    return invoice


async def move(session: AsyncSession, scope: TenantScope, invoice_id: str, to: str, *,
               actor: str, reason: str | None = None) -> Invoice:
    """Finalise, void or write off an invoice (409 ``INVALID_STATE`` from the wrong status)."""
    invoice = await get_invoice(session, scope, invoice_id)
    expected = states.DRAFT if to == states.OPEN else states.OPEN
    if invoice.status != expected:
        raise InvalidState(NOT_DRAFT if to == states.OPEN else NOT_OPEN)
    if to == states.OPEN and invoice.total_minor <= 0:
        raise InvalidState(NOTHING_TO_PAY)
    moved = await transition(session, invoice_id=invoice.id, merchant_id=scope.merchant_id,
                             expected=expected, to=to, actor=actor, reason=reason)
    if moved is None:
        raise InvalidState(NOT_DRAFT if to == states.OPEN else NOT_OPEN)
    return moved


async def list_invoices(session: AsyncSession, scope: TenantScope, *, limit: int,
                        starting_after: str | None,
                        status: str | None = None,
                        customer_id: str | None = None) -> tuple[list[Invoice], bool]:
    """One page, newest first; ``status`` keeps only invoices in that status, and
    ``customer_id`` only that customer's."""
    mine = (Invoice.merchant_id == scope.merchant_id, Invoice.mode == scope.mode)
    query = select(Invoice).where(*mine)
    if status is not None:
        query = query.where(Invoice.status == status)
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    return await newest_first(session, query, Invoice, scope=mine, limit=limit,
                              starting_after=starting_after, noun="invoice")


async def history_of(session: AsyncSession, invoice: Invoice) -> list[InvoiceStatusHistory]:
    return list(await session.scalars(select(InvoiceStatusHistory).where(
        InvoiceStatusHistory.invoice_id == invoice.id).order_by(InvoiceStatusHistory.id)))


async def payments_of(session: AsyncSession,
                      invoice_ids: list[str]) -> dict[str, list[PaymentIntent]]:
    """The payments made for each invoice (every status), oldest first."""
    if not invoice_ids:
        return {}
    found: dict[str, list[PaymentIntent]] = {}
    for payment in await session.scalars(select(PaymentIntent).where(
            PaymentIntent.invoice_id.in_(invoice_ids)).order_by(PaymentIntent.created_at)):
        found.setdefault(payment.invoice_id or "", []).append(payment)
    return found


# ---- showing --------------------------------------------------------------------------------


def invoice_url(base_url: str, invoice: Invoice) -> str:
    return f"{base_url.rstrip('/')}/invoice/{invoice.token}"


def figures(invoice: Invoice) -> totals.Totals:
    """The invoice's totals, from its stored terms (``totals.compute``)."""
    return totals.compute(
        [terms.as_line(line, invoice.currency) for line in invoice.lines],
        discount_amount_minor=invoice.discount_amount_minor,
        discount_rate=None if invoice.discount_rate is None else Decimal(invoice.discount_rate),
        tax_rate=None if invoice.tax_rate is None else Decimal(invoice.tax_rate))


def serialize(invoice: Invoice, *, base_url: str,
              payments: list[PaymentIntent]) -> dict[str, Any]:
    c = invoice.currency

    def amount(minor: int) -> str:
        return totals.major(minor, c)

    found = figures(invoice)
    return {
        "id": invoice.id, "number": invoice.number, "status": invoice.status,
        "url": invoice_url(base_url, invoice), "pdf_url": invoice_url(base_url, invoice)
        + ".pdf", "currency": c,
        "customer": {"id": invoice.customer_id, "name": invoice.customer_name,
                     "email": invoice.customer_email},
        "lines": [{**line, "amount": amount(t.amount_minor),
                   "discount": amount(t.discount_minor), "tax": amount(t.tax_minor),
                   "total": amount(t.net_minor + t.tax_minor)}
                  for line, t in zip(invoice.lines, found.lines, strict=True)],
        "subtotal": amount(found.subtotal_minor),
        "discount_amount": None if invoice.discount_amount_minor is None
        else amount(invoice.discount_amount_minor),
        "discount_rate": invoice.discount_rate, "discount": amount(found.discount_minor),
        "tax_rate": invoice.tax_rate, "line_tax": amount(found.line_tax_minor),
        "tax": amount(found.tax_minor), "total": amount(invoice.total_minor),
        "amount_paid": amount(invoice.amount_paid_minor),
        "amount_due": amount(invoice.outstanding_minor if invoice.status == states.OPEN
                             else 0),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "notes": invoice.notes, "mode": invoice.mode,
        "payments": [{"transaction_id": p.id, "status": p.status,
                      "amount": amount(p.amount_minor)} for p in payments],
        "created_at": iso(invoice.created_at), "updated_at": iso(invoice.updated_at),
        "finalized_at": iso(invoice.finalized_at), "paid_at": iso(invoice.paid_at),
    }


# ---- the public page and the worker -------------------------------------------------------


async def public_invoice(session: AsyncSession, token: str) -> Invoice | None:
    """The invoice of a public page, drafts excluded (a draft was never sent)."""
    if not 40 <= len(token) <= 64 or not token.replace("-", "").replace("_", "").isalnum() \
            or not token.isascii():
        return None
    return await session.scalar(select(Invoice).where(Invoice.token == token,
                                                      Invoice.status != states.DRAFT))


async def mark_overdue(session: AsyncSession, *, today: date, now: datetime,
                       limit: int = 200) -> list[str]:
    """Open invoices past their due date that have not had ``invoice.overdue``: each gets
    it once (a compare-and-set on ``overdue_sent_at`` IS NULL), in the caller's
    transaction."""
    due = list(await session.scalars(select(Invoice).where(
        Invoice.status == states.OPEN, Invoice.due_date < today,
        Invoice.overdue_sent_at.is_(None)).order_by(Invoice.due_date).limit(limit)))
    sent: list[str] = []
    for invoice in due:
        won = await session.execute(update(Invoice).where(
            Invoice.id == invoice.id, Invoice.status == states.OPEN,
            Invoice.overdue_sent_at.is_(None)).values(overdue_sent_at=now)
            .execution_options(synchronize_session=False))
        if won.rowcount != 1:  # type: ignore[attr-defined]
            continue
        await record_event(session, merchant_id=invoice.merchant_id, mode=invoice.mode,
                           event_type="invoice.overdue", payment_id=None, now=now,
                           payload=event_payload(invoice))
        sent.append(invoice.id)
    return sent
