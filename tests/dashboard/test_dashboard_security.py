"""The dashboard's pages: security headers, escaping of hostile names, 404/405 pages in the
dashboard's own look, and forms that refuse what they cannot take."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.dashboard import make_user, post_form, sign_in
from tests.support.factories import create_merchant

pytestmark = pytest.mark.api
HOSTILE = "<script>alert(1)</script>\"'{{ 7*7 }}"


async def test_pages_carry_a_strict_policy(app: Any, ctx: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://pay.test") as c:
        page = await c.get("/admin/sign-in")
    csp = page.headers["content-security-policy"]
    assert "'nonce-" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert page.headers["cache-control"] == "no-store"


async def test_hostile_names_are_escaped(client: httpx.AsyncClient, ctx: Any) -> None:
    await create_merchant(ctx, name=HOSTILE)
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, owner.password)
    for path in ("/admin/", "/admin/users", "/admin/audit", "/admin/account"):
        page = await client.get(path)
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.text, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (await client.get("/admin/")).text


async def test_a_hostile_email_is_escaped_where_it_is_shown(client: httpx.AsyncClient,
                                                            ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, owner.password)
    made = await post_form(client, "/admin/users", "/admin/users",
                           {"email": '"<img/src=x/onerror=alert(1)>"@ops.test', "role": "admin"})
    assert made.status_code == 200
    assert "<img/src" not in made.text and "&lt;img/src=x" in made.text


async def test_unknown_pages_and_methods_answer_in_the_dashboards_look(
        client: httpx.AsyncClient, ctx: Any) -> None:
    missing = await client.get("/admin/no-such-page")
    assert missing.status_code == 404 and "There is nothing here." in missing.text
    assert "text/html" in missing.headers["content-type"]
    wrong = await client.put("/admin/sign-in")
    assert wrong.status_code == 405 and "text/html" in wrong.headers["content-type"]
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, owner.password)
    bad_id = await post_form(client, "/admin/users", "/admin/users/not-a-number/disable")
    assert bad_id.status_code == 400


async def test_oversized_and_broken_forms_are_refused(client: httpx.AsyncClient,
                                                      ctx: Any) -> None:
    big = await client.post("/admin/sign-in", content=b"email=" + b"a" * 20000,
                            headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 400 and "too large" in big.text
    nul = await client.post("/admin/sign-in", content=b"email=a%00b&password=x",
                            headers={"content-type": "application/x-www-form-urlencoded"})
    assert nul.status_code == 400
