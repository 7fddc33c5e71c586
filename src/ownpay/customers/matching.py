"""A payment's customer: found by the digest of its e-mail (then its phone), or made.

Called by ``payments/service.py`` ``create_intent`` on the intent's own connection, inside
its transaction, before the intent row is written (which then carries ``customer_id``): if
the payment is refused, the new customer goes with it.

Two payments with the same new e-mail at once give one customer: the insert is ``ON
CONFLICT DO NOTHING`` against the unique digest indexes, and the loser reads the winner's
row.  On PostgreSQL the loser's insert waits for the winner's transaction; under READ
COMMITTED its next statement sees the committed row.  On SQLite writers are serialised by
``BEGIN IMMEDIATE``.  An e-mail or phone that does not normalise is ignored (the payment API
accepts what it always accepted); a payment with neither has no customer.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ownpay.customers import pii
from ownpay.customers.models import Customer
from ownpay.security import Keyring
from ownpay.tenancy import TenantScope


def new_customer_id() -> str:
    return "cus_" + secrets.token_hex(8)


async def _find(conn: AsyncConnection, scope: TenantScope, email_digest: str | None,
                phone_digest: str | None) -> str | None:
    mine = (Customer.merchant_id == scope.merchant_id, Customer.mode == scope.mode)
    for column, value in ((Customer.email_digest, email_digest),
                          (Customer.phone_digest, phone_digest)):
        if value is not None:
            found = await conn.scalar(select(Customer.id).where(*mine, column == value))
            if found is not None:
                return str(found)
    return None


async def match_or_create(conn: AsyncConnection, keyring: Keyring, scope: TenantScope, *,
                          name: str, email: str, phone: str | None,
                          now: datetime) -> str | None:
    """The id of the payment's customer (made if new), None without a usable e-mail or phone."""
    email_normal = pii.normal_email(email) if email else None
    phone_normal = pii.normal_phone(phone) if phone else None
    if email_normal is None and phone_normal is None:
        return None
    email_digest = None if email_normal is None else pii.digest(
        keyring, scope, "email", email_normal)
    phone_digest = None if phone_normal is None else pii.digest(
        keyring, scope, "phone", phone_normal)
    found = await _find(conn, scope, email_digest, phone_digest)
    if found is not None:
        return found
    customer_id = new_customer_id()
    values = {
        "id": customer_id, "merchant_id": scope.merchant_id, "mode": scope.mode,
        "name_enc": pii.seal(keyring, customer_id, "name", name.strip() or None),
        "email_enc": pii.seal(keyring, customer_id, "email",
                              email.strip() if email_normal else None),
        "phone_enc": pii.seal(keyring, customer_id, "phone", phone_normal),
        "email_digest": email_digest, "phone_digest": phone_digest,
        "metadata": None, "created_at": now, "updated_at": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    table = Customer.__table__
    await conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())
    return await _find(conn, scope, email_digest, phone_digest)
