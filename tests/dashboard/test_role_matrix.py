"""Every dashboard route against every role, generated from the route table: an allowed
role gets its page (never 403), a denied role gets 403, and a brand role asking for another
brand's object gets 404.  A route without a permission fails the first test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from ownpay.dashboard.roles import BRAND_ROLES, ROLES, allowed
from tests.support.dashboard import Operator, api_key_id, csrf_of, make_user, sign_in
from tests.support.dashboard_routes import DashboardRoute, dashboard_routes
from tests.support.factories import (
    MerchantKeys,
    create_merchant,
    make_customer,
    make_delivery,
    make_domain,
    make_endpoint,
    make_intent,
    make_link,
    make_refund,
)

pytestmark = pytest.mark.api
ObjectMaker = Callable[[httpx.AsyncClient, Any, MerchantKeys], Awaitable[str]]


async def _brand_viewer(client: httpx.AsyncClient, ctx: Any, owner: MerchantKeys) -> str:
    return str((await make_user(ctx, "viewer", merchant=owner.slug)).id)


async def _brand_id(client: httpx.AsyncClient, ctx: Any, owner: MerchantKeys) -> str:
    return str(owner.id)


async def _sms_device(client: httpx.AsyncClient, ctx: Any, owner: MerchantKeys) -> str:
    from ownpay.db import utcnow
    from ownpay.sms import devices
    from ownpay.tenancy import TenantScope

    async with ctx.sessions() as s, s.begin():
        device, _ = await devices.add_forwarder(s, TenantScope(owner.id, "test"),
                                                name="matrix phone", now=utcnow())
    return device.id


async def _sms_alert(client: httpx.AsyncClient, ctx: Any, owner: MerchantKeys) -> str:
    from ownpay.db import utcnow
    from ownpay.sms.models import SmsAlert

    async with ctx.sessions() as s, s.begin():
        alert = SmsAlert(merchant_id=owner.id, mode="test", kind="gap",
                         message="matrix: messages 2–3 never arrived", details={},
                         created_at=utcnow())
        s.add(alert)
        await s.flush()
        return str(alert.id)


# How to make the object each path parameter names, in a given brand.  A new page with a
# new parameter adds its maker here (the matrix fails loudly until it does).
MAKERS: dict[str, ObjectMaker] = {
    "user_id": _brand_viewer,
    "transaction_id": make_intent,
    "refund_id": make_refund,
    "brand_id": _brand_id,
    "key_id": api_key_id,
    "endpoint_id": make_endpoint,
    "delivery_id": make_delivery,
    "device_id": _sms_device,
    "alert_id": _sms_alert,
    "link_id": make_link,
    "domain_id": make_domain,
    "customer_id": make_customer,
}


def _routes(app: Any) -> list[DashboardRoute]:
    return dashboard_routes(app.state.dashboard_app)[0]


def test_every_dashboard_route_declares_its_permission(app: Any) -> None:
    guarded, unguarded = dashboard_routes(app.state.dashboard_app)
    assert not unguarded, f"routes without require(permission): {unguarded}"
    assert len(guarded) >= 15
    missing = {p for r in guarded for p in r.path_params} - set(MAKERS)
    assert not missing, f"no object maker for path parameters {missing}"


async def _values(client: httpx.AsyncClient, ctx: Any, brand: MerchantKeys,
                  route: DashboardRoute) -> dict[str, str]:
    return {name: await MAKERS[name](client, ctx, brand) for name in route.path_params}


async def _ask(c: httpx.AsyncClient, route: DashboardRoute, url: str) -> httpx.Response:
    if route.method == "GET":
        return await c.get(url)
    page = await c.get("/admin/account")
    return await c.post(url, data={"csrf_token": csrf_of(page.text)})


@pytest.fixture
async def brand(ctx: Any) -> MerchantKeys:
    return await create_merchant(ctx)


async def _signed_in(app: Any, ctx: Any, role: str, brand: MerchantKeys) -> tuple[
        httpx.AsyncClient, Operator]:
    user = await make_user(ctx, role, merchant=brand.slug if role in BRAND_ROLES else None)
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pay.test")
    assert (await sign_in(c, user.email, user.password)).status_code == 303
    if role not in BRAND_ROLES:  # an installation role looks at the first brand: show ours
        page = await c.get("/admin/account")
        switched = await c.post("/admin/switch", data={
            "csrf_token": csrf_of(page.text), "merchant": str(brand.id), "mode": "test"})
        assert switched.status_code == 303
    return c, user


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_exactly_what_the_table_allows(
        app: Any, ctx: Any, client: httpx.AsyncClient, brand: MerchantKeys, role: str) -> None:
    c, _user = await _signed_in(app, ctx, role, brand)
    wrong = []
    try:
        for route in _routes(app):
            if route.path in ("/admin/sign-out",):
                continue  # ends the session the rest of the walk needs; tested on its own
            url = route.path.format(**await _values(client, ctx, brand, route))
            answer = await _ask(c, route, url)
            if allowed(role, route.permission):
                if answer.status_code in (403, 500) or (
                        route.method == "GET" and answer.status_code != 200):
                    wrong.append(f"{route.id} allowed for {role}: {answer.status_code}")
            elif answer.status_code != 403:
                wrong.append(f"{route.id} denied for {role}: {answer.status_code}")
    finally:
        await c.aclose()
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", BRAND_ROLES)
async def test_another_brands_objects_are_not_found(
        app: Any, ctx: Any, client: httpx.AsyncClient, brand: MerchantKeys, role: str) -> None:
    other = await create_merchant(ctx)
    c, _user = await _signed_in(app, ctx, role, brand)
    wrong = []
    try:
        for route in _routes(app):
            if not route.path_params or not allowed(role, route.permission):
                continue
            url = route.path.format(**await _values(client, ctx, other, route))
            answer = await _ask(c, route, url)
            if answer.status_code != 404:
                wrong.append(f"{route.id} on another brand's object: {answer.status_code}")
    finally:
        await c.aclose()
    assert not wrong, "\n".join(wrong)
