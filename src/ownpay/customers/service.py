"""Customers: create, read, list (by e-mail or phone digest), update, forget, and a
customer's payments with their refunds (docs/customers.md).

Every read names a :class:`~ownpay.tenancy.TenantScope`; another brand's or mode's customer
is a 404.  Lookups by e-mail or phone compare keyed digests (``customers/pii.py``), never
decrypted values.  Services only flush; the request (or the CLI command) owns the
transaction.

Forgetting erases the customer's name, e-mail, phone, metadata and digests, the
``customer_name`` / ``customer_email`` / ``customer_phone`` copies on its payments, and every
other copy in those payments' metadata, submissions, events and webhook bodies
(``customers/erasure.py``); amounts, statuses, histories, refunds and the ledger are
untouched, so the books still balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.customers import erasure, pii
from ownpay.customers.matching import new_customer_id
from ownpay.customers.models import Customer
from ownpay.db import utcnow
from ownpay.errors import FieldErrors, InvalidState, NotFound, ValidationFailed
from ownpay.jsoncodec import clean_text
from ownpay.outbox.payloads import decimal_string
from ownpay.pagination import newest_first
from ownpay.payments.models import PaymentIntent
from ownpay.payments.schemas import validate_metadata
from ownpay.refunds.models import Refund
from ownpay.security import Keyring
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso

CUSTOMER_NOT_FOUND = "Customer not found."
FORGOTTEN = "This customer was forgotten: its details cannot change."
KNOWN = ("name", "email", "phone", "metadata")
NAME_LIMIT = 150
TAKEN = {"email": "Another customer of this brand has this email.",
         "phone": "Another customer of this brand has this phone."}
BAD = {"email": "The email must be a valid email address.",
       "phone": "The phone must be a valid phone number (e.g. +8801712345678 or "
                "01712345678), in ASCII digits."}
ERASED_NAME = ""  # what a forgotten customer's payments keep as customer_name / _email


@dataclass(frozen=True)
class Details:
    """Checked values: only the fields sent (``None`` clears one)."""

    values: dict[str, Any]  # name/email/phone (phone in E.164), metadata
    digests: dict[str, str | None]  # email_digest / phone_digest for the sent ones


def check_details(keyring: Keyring, scope: TenantScope, body: dict[str, Any], *,
                  creating: bool) -> Details:
    """Every bad field at once (``VALIDATION_ERROR``)."""
    errors = FieldErrors()
    errors.refuse_unknown(body, KNOWN)
    values: dict[str, Any] = {}
    digests: dict[str, str | None] = {}
    for field in ("name", "email", "phone"):
        if field not in body:
            continue
        raw = body[field]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values[field] = None
            if field != "name":
                digests[f"{field}_digest"] = None
            continue
        if not isinstance(raw, str) or not clean_text(raw):
            errors.add(field, f"The {field} must be a string.")
            continue
        text = raw.strip()
        if field == "name":
            if len(text) > NAME_LIMIT:
                errors.add(field, f"The name may not be greater than {NAME_LIMIT} characters.")
            else:
                values[field] = text
            continue
        normal = pii.normal_email(text) if field == "email" else pii.normal_phone(text)
        if normal is None:
            errors.add(field, BAD[field])
            continue
        values[field] = text if field == "email" else normal
        digests[f"{field}_digest"] = pii.digest(keyring, scope, field, normal)
    if "metadata" in body:
        if body["metadata"] is None:
            values["metadata"] = None
        else:
            clean = validate_metadata(body["metadata"], errors.add)
            if clean is not None and "metadata" not in errors:
                values["metadata"] = clean
    if not errors and not any(values.get(f) for f in ("name", "email", "phone")) and creating:
        errors.add("request", "Give at least one of name, email or phone.")
    if not errors and not body and not creating:
        errors.add("request", "Nothing to update: send one of " + ", ".join(KNOWN) + ".")
    errors.raise_if_any()
    return Details(values, digests)


async def _taken(session: AsyncSession, scope: TenantScope, digests: dict[str, str | None],
                 *, besides: str | None = None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for column, field in ((Customer.email_digest, "email"), (Customer.phone_digest, "phone")):
        value = digests.get(f"{field}_digest")
        if value is None:
            continue
        other = await session.scalar(select(Customer.id).where(
            Customer.merchant_id == scope.merchant_id, Customer.mode == scope.mode,
            column == value, Customer.id != (besides or "")))
        if other is not None:
            errors[field] = [TAKEN[field]]
    return errors


def _sealed(keyring: Keyring, customer_id: str, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in pii.FIELDS:
        if field in values:
            out[f"{field}_enc"] = pii.seal(keyring, customer_id, field, values[field])
    if "metadata" in values:
        out["metadata_"] = values["metadata"]
    return out


async def create_customer(session: AsyncSession, keyring: Keyring, scope: TenantScope,
                          body: dict[str, Any]) -> Customer:
    details = check_details(keyring, scope, body, creating=True)
    taken = await _taken(session, scope, details.digests)
    if taken:
        raise ValidationFailed(errors=taken)
    now = utcnow()
    customer_id = new_customer_id()
    customer = Customer(id=customer_id, merchant_id=scope.merchant_id, mode=scope.mode,
                        created_at=now, updated_at=now, **details.digests,
                        **_sealed(keyring, customer_id, details.values))
    try:
        async with session.begin_nested():
            session.add(customer)
            await session.flush()
    except IntegrityError:  # made by a payment between our check and our insert
        raise ValidationFailed(errors=await _taken(session, scope, details.digests)
                               or {"email": [TAKEN["email"]]}) from None
    return customer


async def get_customer(session: AsyncSession, scope: TenantScope, customer_id: str,
                       *, for_update: bool = False) -> Customer:
    stmt = select(Customer).where(Customer.id == customer_id,
                                  Customer.merchant_id == scope.merchant_id,
                                  Customer.mode == scope.mode)
    customer = await session.scalar(stmt.with_for_update() if for_update else stmt)
    if customer is None:
        raise NotFound(CUSTOMER_NOT_FOUND)
    return customer


async def update_customer(session: AsyncSession, keyring: Keyring, scope: TenantScope,
                          customer_id: str, body: dict[str, Any]) -> Customer:
    customer = await get_customer(session, scope, customer_id, for_update=True)
    details = check_details(keyring, scope, body, creating=False)
    if customer.forgotten_at is not None:
        raise InvalidState(FORGOTTEN)
    taken = await _taken(session, scope, details.digests, besides=customer.id)
    if taken:
        raise ValidationFailed(errors=taken)
    changes = {getattr(Customer, name): value for name, value in {
        **details.digests, **_sealed(keyring, customer.id, details.values),
        "updated_at": utcnow()}.items()}
    try:
        async with session.begin_nested():
            await session.execute(update(Customer).where(Customer.id == customer.id)
                                  .values(changes))
    except IntegrityError:
        raise ValidationFailed(errors=await _taken(session, scope, details.digests,
                                                   besides=customer.id)
                               or {"email": [TAKEN["email"]]}) from None
    await session.refresh(customer)
    return customer


async def forget_customer(session: AsyncSession, keyring: Keyring, scope: TenantScope,
                          customer_id: str) -> tuple[Customer, int | None]:
    """Erase the customer's PII and its payments' copies (``customers/erasure.py``: also in
    their metadata, submissions, events and webhook bodies); the money records stay.
    Returns the customer and how many payments were cleaned (None: already forgotten)."""
    customer = await get_customer(session, scope, customer_id, for_update=True)
    if customer.forgotten_at is not None:
        return customer, None
    payments = (await session.execute(select(
        PaymentIntent.id, PaymentIntent.customer_name, PaymentIntent.customer_email,
        PaymentIntent.customer_phone, PaymentIntent.submission).where(
        PaymentIntent.customer_id == customer.id, PaymentIntent.merchant_id == scope.merchant_id,
        PaymentIntent.mode == scope.mode))).all()
    details = [pii.unseal(keyring, customer.id, field, blob) for field, blob in (
        ("name", customer.name_enc), ("email", customer.email_enc),
        ("phone", customer.phone_enc))]
    for _, name, email, phone, submission in payments:
        details += [name, email, phone]
        if isinstance(submission, dict) and isinstance(submission.get("sender_account"), str):
            details.append(submission["sender_account"])
    await erasure.erase_copies(session, scope, [row[0] for row in payments], details)
    now = utcnow()
    await session.execute(update(Customer).where(Customer.id == customer.id).values({
        Customer.name_enc: None, Customer.email_enc: None, Customer.phone_enc: None,
        Customer.email_digest: None, Customer.phone_digest: None, Customer.metadata_: None,
        Customer.forgotten_at: now, Customer.updated_at: now}))
    result = await session.execute(update(PaymentIntent).where(
        PaymentIntent.customer_id == customer.id,
        PaymentIntent.merchant_id == scope.merchant_id, PaymentIntent.mode == scope.mode,
    ).values(customer_name=ERASED_NAME, customer_email=ERASED_NAME, customer_phone=None))
    await session.refresh(customer)
    return customer, int(result.rowcount or 0)  # type: ignore[attr-defined]


async def list_customers(session: AsyncSession, keyring: Keyring, scope: TenantScope, *,
                         limit: int, starting_after: str | None, email: str | None = None,
                         phone: str | None = None) -> tuple[list[Customer], bool]:
    """Newest first; ``email`` / ``phone`` are exact matches through their digests."""
    mine = (Customer.merchant_id == scope.merchant_id, Customer.mode == scope.mode)
    stmt = select(Customer).where(*mine)
    errors = FieldErrors()
    for field, value, column in (("email", email, Customer.email_digest),
                                 ("phone", phone, Customer.phone_digest)):
        if value is None:
            continue
        normal = None
        if clean_text(value):
            normal = pii.normal_email(value) if field == "email" else pii.normal_phone(value)
        if normal is None:
            errors.add(field, BAD[field])
            continue
        stmt = stmt.where(column == pii.digest(keyring, scope, field, normal))
    errors.raise_if_any()
    return await newest_first(session, stmt, Customer, scope=mine, limit=limit,
                              starting_after=starting_after, noun="customer")


async def payments_of(session: AsyncSession, scope: TenantScope, customer_id: str, *,
                      limit: int, starting_after: str | None
                      ) -> tuple[list[PaymentIntent], bool, dict[str, list[Refund]]]:
    """The customer's payments, newest first, and each one's refunds (oldest first)."""
    customer = await get_customer(session, scope, customer_id)
    mine = (PaymentIntent.merchant_id == scope.merchant_id, PaymentIntent.mode == scope.mode,
            PaymentIntent.customer_id == customer.id)
    rows, has_more = await newest_first(
        session, select(PaymentIntent).where(*mine), PaymentIntent, scope=mine, limit=limit,
        starting_after=starting_after, noun="transaction")
    refunds: dict[str, list[Refund]] = {row.id: [] for row in rows}
    if rows:
        for refund in await session.scalars(select(Refund).where(
                Refund.payment_id.in_(list(refunds)), Refund.merchant_id == scope.merchant_id,
                Refund.mode == scope.mode).order_by(Refund.created_at, Refund.id)):
            refunds[refund.payment_id].append(refund)
    return rows, has_more, refunds


# ---- presenting -------------------------------------------------------------------------------


def serialize(keyring: Keyring, customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": pii.unseal(keyring, customer.id, "name", customer.name_enc),
        "email": pii.unseal(keyring, customer.id, "email", customer.email_enc),
        "phone": pii.unseal(keyring, customer.id, "phone", customer.phone_enc),
        "metadata": dict(customer.metadata_ or {}),
        "mode": customer.mode,
        "forgotten": customer.forgotten_at is not None,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "forgotten_at": iso(customer.forgotten_at),
    }


def serialize_payment(payment: PaymentIntent, refunds: list[Refund]) -> dict[str, Any]:
    def amount(minor: int) -> str:
        return decimal_string(minor, payment.currency)

    return {
        "transaction_id": payment.id,
        "status": payment.status,
        "amount": amount(payment.amount_minor),
        "currency": payment.currency,
        "refunded_amount": amount(payment.refunded_minor or 0),
        "order_id": payment.order_id,
        "gateway": payment.gateway,
        "created_at": iso(payment.created_at),
        "paid_at": iso(payment.paid_at),
        "refunds": [{"id": r.id, "status": r.status, "amount": decimal_string(
            r.amount_minor, r.currency), "created_at": iso(r.created_at)} for r in refunds],
    }
