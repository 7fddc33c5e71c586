"""Dashboard helpers: operator users made through the service, signing in through the
real form (its CSRF cookie and token) with an in-process client, and a brand's API key
(:func:`api_key_id`) for the pages that act on one."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from ownpay.audit import Actor
from ownpay.context import AppContext
from ownpay.dashboard import users
from ownpay.merchants import service
from tests.support.factories import MerchantKeys

TEST_ACTOR = Actor(type="cli", name="tests")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Operator:
    id: int
    email: str
    password: str
    role: str


async def make_user(ctx: AppContext, role: str, *, merchant: str | None = None,
                    email: str | None = None) -> Operator:
    email = email or f"{role}-{secrets.token_hex(4)}@ops.test"
    password = secrets.token_urlsafe(15)
    async with ctx.sessions() as s, s.begin():
        made = await users.create_user(s, TEST_ACTOR, email=email, role=role,
                                       merchant_slug=merchant, password=password)
    return Operator(made.user.id, email, password, role)


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str, *,
                  next_url: str = "/admin/") -> httpx.Response:
    page = await client.get("/admin/sign-in")
    assert page.status_code == 200
    return await client.post("/admin/sign-in", data={
        "csrf_token": csrf_of(page.text), "email": email, "password": password,
        "next": next_url})


async def post_form(client: httpx.AsyncClient, page_url: str, action: str,
                    data: dict[str, Any] | None = None) -> httpx.Response:
    """Submit a dashboard form the way a browser would: the token from the page."""
    page = await client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    return await client.post(action, data={"csrf_token": csrf_of(page.text), **(data or {})})


async def api_key_id(client: httpx.AsyncClient, ctx: Any, owner: MerchantKeys) -> str:
    """A new test-mode API key of ``owner`` (named "matrix"): its id, as the dashboard's
    URLs name it."""
    async with ctx.sessions() as s, s.begin():
        made = await service.create_api_key(s, merchant=await service.get_merchant(
            s, owner.slug), mode="test", name="matrix")
    return str(made.id)
