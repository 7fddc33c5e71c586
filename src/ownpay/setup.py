"""``ownpay init``: idempotent first-run set-up of an installation with a demo merchant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.merchants import service
from ownpay.merchants.models import ApiKey, GatewayAccount, Merchant

DEMO_SLUG = "demo"
DEMO_GATEWAYS = (("test", "sandbox"), ("test", "manual"), ("live", "manual"))
# The names of the keys set-up mints, so that `make run` can tell them from the keys an
# operator creates (``ownpay api-keys create``), which it never touches.
INIT_KEY_NAME = "init"
QUICKSTART_KEY_NAME = "quickstart"


async def initialise(ctx: AppContext) -> dict[str, Any]:
    """Create the demo merchant, its gateways and one key per mode -- once."""
    keys: dict[str, str | None] = {"test": None, "live": None}
    async with ctx.sessions() as session, session.begin():
        merchant = await session.scalar(select(Merchant).where(Merchant.slug == DEMO_SLUG))
        if merchant is None:
            merchant = await service.create_merchant(
                session, slug=DEMO_SLUG, name="Demo Store", primary_color="#4f46e5"
            )
        existing = {
            (a.mode, a.gateway)
            for a in await session.scalars(
                select(GatewayAccount).where(GatewayAccount.merchant_id == merchant.id)
            )
        }
        for mode, gateway in DEMO_GATEWAYS:
            if (mode, gateway) not in existing:
                await service.enable_gateway(
                    session, ctx.keyring, merchant=merchant, mode=mode, gateway=gateway, values={}
                )
        modes_with_keys = set(
            await session.scalars(select(ApiKey.mode).where(ApiKey.merchant_id == merchant.id))
        )
        for mode in ("test", "live"):
            if mode not in modes_with_keys:
                created = await service.create_api_key(session, merchant=merchant, mode=mode,
                                                       name=INIT_KEY_NAME)
                keys[mode] = created.api_key
    return {"merchant": DEMO_SLUG, "api_keys": keys, "base_url": ctx.settings.base_url}


async def quickstart_key(ctx: AppContext) -> str:
    """A fresh demo test key for `make run`, revoking the demo test keys printed before.

    Keys are stored only as digests, so a later `make run` cannot re-print the first one;
    it mints a replacement instead of keeping plaintext keys on disk.  Every earlier demo
    test key that set-up minted -- by `make run` or by `ownpay init`, whose test key the
    first `make run` printed -- is revoked, so one demo test key printed by set-up works
    at a time.  Keys created with ``ownpay api-keys create`` (any other name, or none)
    and the live key stay active.
    """
    async with ctx.sessions() as session, session.begin():
        merchant = await service.get_merchant(session, DEMO_SLUG)
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.merchant_id == merchant.id,
                ApiKey.mode == "test",
                ApiKey.name.in_((INIT_KEY_NAME, QUICKSTART_KEY_NAME)),
                ApiKey.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        created = await service.create_api_key(
            session, merchant=merchant, mode="test", name=QUICKSTART_KEY_NAME
        )
    return created.api_key


DEMO_OWNER_EMAIL = "owner@demo.local"


async def quickstart_owner(ctx: AppContext) -> tuple[str, str]:
    """The demo owner's dashboard sign-in for `make run`: created the first time, given a
    fresh password every later time (passwords are stored only as Argon2id hashes, so the
    one printed before cannot be shown again).  Its sessions end when the password changes."""
    from ownpay.audit import Actor
    from ownpay.dashboard import users

    actor = Actor(type="cli", name="quickstart")
    async with ctx.sessions() as session, session.begin():
        user = await users.find(session, DEMO_OWNER_EMAIL)
        if user is None:
            made = await users.create_user(session, actor, email=DEMO_OWNER_EMAIL, role="owner")
            assert made.password is not None
            return DEMO_OWNER_EMAIL, made.password
        password = await users.set_password(session, actor, user, None)
        assert password is not None
        return DEMO_OWNER_EMAIL, password
