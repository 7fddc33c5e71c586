"""A request's transaction is committed before its answer leaves the server.

Otherwise a client (or a browser following a redirect after a POST) can act on an answer
whose data is not yet visible, and a commit that fails after a 201 has been sent would
leave the merchant believing in an intent that never existed.  The app is wrapped so that,
at the moment the response starts, a separate session looks for what the request wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.dashboard.models import UserSession
from ownpay.payments.models import PaymentIntent
from tests.support.dashboard import csrf_of, make_user, sign_in
from tests.support.factories import create_merchant, intent_body

Probe = Callable[[], Awaitable[Any]]


def observed(app: Any, probe: Probe, seen: list[Any]) -> Any:
    """``app`` with ``probe()`` run (and its result kept) when each response starts."""
    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        async def watching(message: Any) -> None:
            if message["type"] == "http.response.start":
                seen.append(await probe())
            await send(message)
        await app(scope, receive, watching)
    return wrapper


async def test_an_api_create_is_committed_before_the_201(ctx: AppContext) -> None:
    merchant = await create_merchant(ctx)
    body = intent_body()

    async def stored() -> int:
        async with ctx.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(PaymentIntent).where(
                PaymentIntent.order_id == body["order_id"])) or 0)

    seen: list[Any] = []
    app = observed(create_app(ctx.settings, ctx=ctx), stored, seen)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://pay.test") as client:
        r = await client.post("/api/v1/payment-intents", json=body,
                              headers={"Authorization": f"Bearer {merchant.test_key}"})
    assert r.status_code == 201
    assert seen == [1]


async def test_the_dashboard_switch_is_committed_before_its_redirect(ctx: AppContext) -> None:
    first = await create_merchant(ctx, name="Aardvark commit test")
    second = await create_merchant(ctx, name="Zebra commit test")
    owner = await make_user(ctx, "owner")
    chosen: list[Any] = []

    async def shown() -> Any:
        async with ctx.sessions() as s:
            return (await s.scalars(select(UserSession.merchant_id).where(
                UserSession.user_id == owner.id))).all()

    app = observed(create_app(ctx.settings, ctx=ctx), shown, chosen)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://pay.test") as client:
        await sign_in(client, owner.email, owner.password)
        for merchant in (first, second):
            page = await client.get("/admin/")
            r = await client.post("/admin/switch", data={
                "csrf_token": csrf_of(page.text), "merchant": str(merchant.id),
                "mode": "test", "next": "/admin/"})
            assert r.status_code == 303
            assert chosen[-1] == [merchant.id]
