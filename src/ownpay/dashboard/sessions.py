"""Server-side dashboard sessions.

The cookie (``op_session``: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` whenever the browser
is on HTTPS, path ``/admin``) carries 256 random bits; the table keeps only their SHA-256,
so a database dump signs no one in.  A session ends on sign-out, on "sign out everywhere",
when its user is disabled or changes password, after ``session_idle_timeout`` seconds
without a request, and ``session_lifetime`` seconds after sign-in whatever the activity."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.config import Settings
from ownpay.dashboard.models import User, UserSession
from ownpay.db import utcnow

COOKIE = "op_session"
COOKIE_PATH = "/admin"
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    token: str  # for the cookie only
    row: UserSession


async def start(session: AsyncSession, settings: Settings, user: User, *, ip: str,
                user_agent: str, verified: bool) -> Started:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        id=digest(token), user_id=user.id, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_lifetime),
        verified_at=now if verified else None, reauthenticated_at=now,
        ip=ip[:45], user_agent=user_agent[:300] or None,
        merchant_id=user.merchant_id, mode="test")
    session.add(row)
    await session.flush()
    return Started(token, row)


def live(row: UserSession, settings: Settings, now: datetime) -> bool:
    return (row.revoked_at is None and now < row.expires_at
            and now - row.last_seen_at < timedelta(seconds=settings.session_idle_timeout))


async def lookup(session: AsyncSession, settings: Settings,
                 token: str | None) -> tuple[UserSession, User] | None:
    """The live session and its active user for a cookie value, touching ``last_seen_at``."""
    if not token or len(token) > 100:
        return None
    found = (await session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.id == digest(token)))).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if not live(row, settings, now) or user.disabled_at is not None:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, user


def recently_reauthenticated(row: UserSession, settings: Settings) -> bool:
    at = row.reauthenticated_at
    return at is not None and utcnow() - at < timedelta(seconds=settings.session_reauth_window)


async def for_user(session: AsyncSession, settings: Settings, user_id: int) -> list[UserSession]:
    now = utcnow()
    rows = await session.scalars(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None),
        UserSession.expires_at > now).order_by(UserSession.last_seen_at.desc()))
    return [r for r in rows if live(r, settings, now)]
