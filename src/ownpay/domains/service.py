"""A brand's domains: add, list, read, remove, choose the primary one, verify -- and the one
place a domain's status changes (:func:`record_check`).

States (``STATES`` is the table of moves, as data):

* ``pending`` -- added, not proven yet.  A failed check keeps it pending.
* ``verified`` -- the last check passed (:mod:`ownpay.domains.proof`).  Only a verified
  domain serves the brand's pages, gets a certificate from the ``ask`` endpoint and is used
  in the brand's public URLs (when primary).
* ``suspended`` -- a verified domain whose re-check failed ``SUSPEND_AFTER`` times in a row
  (three: one failed lookup -- a DNS server restarting -- must not take a brand's checkout
  offline, but a domain that stopped pointing at us is taken out within three intervals).
  A suspended domain whose check passes is verified again.

Verifying asks DNS, so :func:`verify` and :func:`recheck_due` own their transactions and
never hold one across a lookup (on SQLite an open write transaction would stall every other
writer for the lookup's timeout).  Every write is a compare-and-set on the status and the
failure count read before the lookup: a check that raced another one changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.config import Settings
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.domains import proof
from ownpay.domains.models import BrandDomain
from ownpay.errors import InvalidState, NotFound, ValidationFailed
from ownpay.merchants.models import Merchant
from ownpay.urls import BadUrl, ascii_domain

DOMAIN_NOT_FOUND = "Domain not found."
SUSPEND_AFTER = 3
MAX_PER_BRAND = 20
TAKEN = "That domain is already in use on this installation."

# (status, check passed) -> next status; failures count up on a failed check, reset on a pass.
STATES: dict[tuple[str, bool], str] = {
    ("pending", True): "verified",
    ("pending", False): "pending",
    ("verified", True): "verified",
    ("verified", False): "verified",  # until SUSPEND_AFTER failures in a row
    ("suspended", True): "verified",
    ("suspended", False): "suspended",
}


def next_state(status: str, failures: int, ok: bool) -> tuple[str, int]:
    """The status and failure count after one check (see ``STATES``)."""
    if ok:
        return STATES[(status, True)], 0
    failures += 1
    after = STATES[(status, False)]
    if status == "verified" and failures >= SUSPEND_AFTER:
        after = "suspended"
    return after, failures


def new_domain_id() -> str:
    return "dom_" + secrets.token_hex(8)


def new_token() -> str:
    return "ownpay-verify-" + secrets.token_hex(16)


def base_host(settings: Settings) -> str:
    return (urlsplit(settings.base_url).hostname or "").lower().rstrip(".")


def parse_domain(value: object, *, settings: Settings) -> str:
    """The ASCII host name a merchant asked for, or ``VALIDATION_ERROR`` on ``domain``."""
    if not isinstance(value, str):
        raise ValidationFailed(errors={"domain": ["The domain field is required (a host name "
                                                  "such as pay.example.com)."]})
    try:
        name = ascii_domain(value)
    except BadUrl as exc:
        raise ValidationFailed(errors={"domain": [str(exc)]}) from None
    if name == base_host(settings):
        raise ValidationFailed(errors={"domain": [
            "That is this installation's own host name, not a brand's."]})
    return name


async def add_domain(session: AsyncSession, merchant_id: int, value: object, *,
                     settings: Settings) -> BrandDomain:
    name = parse_domain(value, settings=settings)
    count = await session.scalar(select(func.count()).select_from(BrandDomain)
                                 .where(BrandDomain.merchant_id == merchant_id))
    if (count or 0) >= MAX_PER_BRAND:
        raise ValidationFailed(errors={"domain": [
            f"A brand has at most {MAX_PER_BRAND} domains: remove one first."]})
    row = BrandDomain(id=new_domain_id(), merchant_id=merchant_id, domain=name,
                      token=new_token(), status="pending", is_primary=False,
                      created_at=utcnow(), consecutive_failures=0)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise ValidationFailed(errors={"domain": [TAKEN]}) from None
    return row


async def list_domains(session: AsyncSession, merchant_id: int) -> list[BrandDomain]:
    return list((await session.scalars(
        select(BrandDomain).where(BrandDomain.merchant_id == merchant_id)
        .order_by(BrandDomain.created_at, BrandDomain.id))).all())


async def get_domain(session: AsyncSession, merchant_id: int, domain_id: str) -> BrandDomain:
    row = await session.scalar(select(BrandDomain).where(
        BrandDomain.id == domain_id, BrandDomain.merchant_id == merchant_id))
    if row is None:
        raise NotFound(DOMAIN_NOT_FOUND)
    return row


async def get_by_name(session: AsyncSession, merchant_id: int, name: str) -> BrandDomain:
    try:
        ascii_name = ascii_domain(name)
    except BadUrl:
        raise NotFound(DOMAIN_NOT_FOUND) from None
    row = await session.scalar(select(BrandDomain).where(
        BrandDomain.domain == ascii_name, BrandDomain.merchant_id == merchant_id))
    if row is None:
        raise NotFound(DOMAIN_NOT_FOUND)
    return row


async def remove_domain(session: AsyncSession, merchant_id: int, domain_id: str) -> BrandDomain:
    row = await get_domain(session, merchant_id, domain_id)
    await session.execute(delete(BrandDomain).where(BrandDomain.id == row.id,
                                                    BrandDomain.merchant_id == merchant_id))
    return row


async def set_primary(session: AsyncSession, merchant_id: int, domain_id: str) -> BrandDomain:
    """Make a verified domain the brand's primary one (the others stop being primary)."""
    row = await get_domain(session, merchant_id, domain_id)
    if row.status != "verified":
        raise InvalidState("Only a verified domain can be the primary one: verify it first.")
    await session.execute(update(BrandDomain).where(
        BrandDomain.merchant_id == merchant_id, BrandDomain.id != row.id,
        BrandDomain.is_primary.is_(True)).values(is_primary=False))
    await session.execute(update(BrandDomain).where(BrandDomain.id == row.id)
                          .values(is_primary=True))
    await session.refresh(row)
    return row


async def record_check(session: AsyncSession, seen: Seen, result: proof.Check, *,
                       now: datetime) -> bool:
    """The one writer of a domain's status: apply one check's result to the domain as it
    was read before the lookup (``seen``).  False if the domain changed in between."""
    status, failures = next_state(seen.status, seen.failures, result.ok)
    values: dict[str, object] = {"status": status, "consecutive_failures": failures,
                                 "last_checked_at": now,
                                 "last_error": (result.error or "")[:500] or None}
    if status == "verified" and seen.status != "verified":
        values["verified_at"] = now
    moved = await session.execute(update(BrandDomain).where(
        BrandDomain.id == seen.id, BrandDomain.status == seen.status,
        BrandDomain.consecutive_failures == seen.failures).values(**values))
    return bool(getattr(moved, "rowcount", 0))


@dataclass(frozen=True)
class Seen:
    """A domain as read before its DNS lookup."""

    id: str
    domain: str
    token: str
    status: str
    failures: int

    @classmethod
    def of(cls, row: BrandDomain) -> Seen:
        return cls(row.id, row.domain, row.token, row.status, row.consecutive_failures)


def forget_cached(ctx: AppContext) -> None:
    """A domain's change reaches this process's answers at once (other processes within
    ``OWNPAY_AUTH_CACHE_TTL``): the cached keys and accounts carry the brand's base URL."""
    ctx.api_keys.invalidate()
    ctx.gateway_accounts.invalidate()
    ctx.brand_hosts.invalidate()


async def verify(ctx: AppContext, merchant_id: int, domain_id: str) -> BrandDomain:
    """Check one domain now (its own transactions; none across the lookup)."""
    async with ctx.sessions() as session:
        seen = Seen.of(await get_domain(session, merchant_id, domain_id))
    result = await proof.check(ctx.settings, seen.domain, seen.token)
    for _ in range(3):  # a worker's check may land in between: apply ours to what it left
        async with ctx.sessions() as session, session.begin():
            if await record_check(session, seen, result, now=utcnow()):
                break
            seen = Seen.of(await get_domain(session, merchant_id, domain_id))
    forget_cached(ctx)
    async with ctx.sessions() as session:
        return await get_domain(session, merchant_id, domain_id)


async def recheck_due(ctx: AppContext, *, now: datetime | None = None, limit: int = 20) -> int:
    """The worker's step: check domains not checked for ``OWNPAY_DOMAIN_RECHECK_INTERVAL``
    (new ones at once).  Each is claimed by moving its ``last_checked_at`` first, so two
    workers never check one domain in the same interval.  Returns how many were checked."""
    now = now or utcnow()
    before = now - timedelta(seconds=ctx.settings.domain_recheck_interval)
    claimed: list[Seen] = []
    async with ctx.sessions() as session, session.begin():
        due = (await session.scalars(
            select(BrandDomain).where(or_(BrandDomain.last_checked_at.is_(None),
                                          BrandDomain.last_checked_at < before))
            .order_by(BrandDomain.last_checked_at.is_not(None), BrandDomain.last_checked_at)
            .limit(limit))).all()
        for row in due:
            last = (BrandDomain.last_checked_at.is_(None) if row.last_checked_at is None
                    else BrandDomain.last_checked_at == row.last_checked_at)
            won = await session.execute(update(BrandDomain).where(BrandDomain.id == row.id, last)
                                        .values(last_checked_at=now))
            if getattr(won, "rowcount", 0):
                claimed.append(Seen.of(row))
    for seen in claimed:
        result = await proof.check(ctx.settings, seen.domain, seen.token)
        async with ctx.sessions() as session, session.begin():
            await record_check(session, seen, result, now=now)
    if claimed:
        forget_cached(ctx)
    return len(claimed)


async def primary_base_url(session: AsyncSession, merchant_id: int) -> str | None:
    """``https://<domain>`` of the brand's primary domain while it is verified, else None."""
    domain = await session.scalar(select(BrandDomain.domain).where(
        BrandDomain.merchant_id == merchant_id, BrandDomain.is_primary.is_(True),
        BrandDomain.status == "verified"))
    return f"https://{domain}" if domain else None


@dataclass(frozen=True)
class HostBrand:
    """What a request's host is to us: a brand's domain and its status."""

    merchant_id: int
    merchant_slug: str
    status: str


async def brand_of_host(ctx: AppContext, host: str) -> HostBrand | None:
    """The brand whose domain ``host`` is (any status), cached briefly; None otherwise."""
    cached = ctx.brand_hosts.get(host)
    if cached is not None:
        return cached if isinstance(cached, HostBrand) else None
    async with ctx.sessions() as session:
        row = (await session.execute(
            select(BrandDomain.merchant_id, Merchant.slug, BrandDomain.status)
            .join(Merchant, Merchant.id == BrandDomain.merchant_id)
            .where(BrandDomain.domain == host))).first()
    found = HostBrand(int(row[0]), str(row[1]), str(row[2])) if row else None
    ctx.brand_hosts.put(host, found if found is not None else False)
    return found
