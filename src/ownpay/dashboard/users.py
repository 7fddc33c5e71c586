"""Operator accounts: create, list, disable, reset a password or 2FA; sign-in checks.

Every change is written with its audit row in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.audit import Actor, record
from ownpay.dashboard import passwords
from ownpay.dashboard.models import User, UserSession
from ownpay.dashboard.roles import BRAND_ROLES, ROLES, is_installation_role
from ownpay.db import utcnow
from ownpay.errors import FieldErrors
from ownpay.merchants.models import Merchant

MAX_EMAIL = 254


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    local, at, domain = email.rpartition("@")
    if (not at or not local or "." not in domain or len(email) > MAX_EMAIL
            or any(c.isspace() or not c.isprintable() for c in email)):
        return "Enter an e-mail address such as ops@example.com."
    return None


def limit_problem(text: str) -> str | None:
    """Why an operator's refund limit (major units, e.g. ``100.00``) is refused, or None."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return "Give the most one refund may be as a number, e.g. 100.00."
    exponent = value.as_tuple().exponent
    if (not value.is_finite() or not isinstance(exponent, int) or value <= 0 or exponent < -3
            or value > 10**12):
        return "Give a positive amount with at most three decimals, e.g. 100.00."
    return None


def refuse(field: str, message: str) -> NoReturn:
    errors = FieldErrors()
    errors.add(field, message)
    errors.raise_if_any()
    raise AssertionError  # unreachable: raise_if_any raised


@dataclass(frozen=True)
class NewUser:
    user: User
    password: str | None  # the generated password, shown once (None if the caller chose one)


async def create_user(session: AsyncSession, actor: Actor, *, email: str, role: str,
                      merchant_slug: str | None = None, password: str | None = None,
                      refund_limit: str | None = None) -> NewUser:
    errors = FieldErrors()
    email = normalise_email(email)
    if (problem := email_problem(email)) is not None:
        errors.add("email", problem)
    elif await session.scalar(select(User.id).where(User.email == email)) is not None:
        errors.add("email", "A user with this e-mail address exists.")
    merchant_id: int | None = None
    if role not in ROLES:
        errors.add("role", f"The role must be one of: {', '.join(ROLES)}.")
    elif role in BRAND_ROLES:
        if not merchant_slug:
            errors.add("merchant", f"A {role} belongs to one brand: choose it.")
        else:
            merchant_id = await session.scalar(
                select(Merchant.id).where(Merchant.slug == merchant_slug))
            if merchant_id is None:
                errors.add("merchant", f"No brand {merchant_slug!r}.")
    elif merchant_slug:
        errors.add("merchant", f"An {role} sees every brand: do not choose one.")
    if refund_limit is not None:
        if role != "operator":
            errors.add("refund_limit", "Only an operator has a refund limit.")
        elif (problem := limit_problem(refund_limit)) is not None:
            errors.add("refund_limit", problem)
    generated = None
    if password is None:
        password = generated = passwords.generate()
    elif (problem := passwords.problem(password)) is not None:
        errors.add("password", problem)
    errors.raise_if_any()
    user = User(email=email, password_hash=passwords.hash_password(password), role=role,
                merchant_id=merchant_id, recovery_codes=[], refund_limit=refund_limit)
    session.add(user)
    await session.flush()
    await record(session, actor, "user.created", merchant_id=merchant_id, object_type="user",
                 object_id=user.id, details={"email": email, "role": role,
                                             "refund_limit": refund_limit})
    return NewUser(user, generated)


async def list_users(session: AsyncSession, *, merchant_id: int | None = None) -> list[User]:
    query = select(User).order_by(User.id)
    if merchant_id is not None:
        query = query.where(User.merchant_id == merchant_id)
    return list(await session.scalars(query))


async def find(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def revoke_sessions(session: AsyncSession, user_id: int, *,
                          except_id: str | None = None) -> int:
    query = (update(UserSession).where(UserSession.user_id == user_id,
                                       UserSession.revoked_at.is_(None))
             .values(revoked_at=utcnow()))
    if except_id is not None:
        query = query.where(UserSession.id != except_id)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def disable(session: AsyncSession, actor: Actor, user: User) -> None:
    if user.disabled_at is None:
        if user.role == "owner" and await _active_owners(session) <= 1:
            refuse("user", "The last active owner cannot be disabled.")
        user.disabled_at = utcnow()
        await revoke_sessions(session, user.id)
        await record(session, actor, "user.disabled", merchant_id=user.merchant_id,
                     object_type="user", object_id=user.id, details={"email": user.email})


async def enable(session: AsyncSession, actor: Actor, user: User) -> None:
    if user.disabled_at is not None:
        user.disabled_at = None
        await record(session, actor, "user.enabled", merchant_id=user.merchant_id,
                     object_type="user", object_id=user.id, details={"email": user.email})


async def _active_owners(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User).where(
        User.role == "owner", User.disabled_at.is_(None))) or 0)


async def set_password(session: AsyncSession, actor: Actor, user: User, password: str | None,
                       *, keep_session: str | None = None) -> str | None:
    """A new password (generated when None, and returned); every other session ends."""
    generated = None
    if password is None:
        password = generated = passwords.generate()
    elif (problem := passwords.problem(password)) is not None:
        refuse("password", problem)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    await revoke_sessions(session, user.id, except_id=keep_session)
    await record(session, actor, "user.password_changed", merchant_id=user.merchant_id,
                 object_type="user", object_id=user.id, details={"email": user.email})
    return generated


async def reset_two_factor(session: AsyncSession, actor: Actor, user: User, *,
                           keep_session: str | None = None) -> None:
    """2FA off (its secret and recovery codes gone); the user's sessions end (but
    ``keep_session``, when users turn off their own)."""
    user.totp_secret_enc = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = []
    await revoke_sessions(session, user.id, except_id=keep_session)
    await record(session, actor, "user.2fa_reset", merchant_id=user.merchant_id,
                 object_type="user", object_id=user.id, details={"email": user.email})


def sees_every_brand(user: User) -> bool:
    return is_installation_role(user.role)
