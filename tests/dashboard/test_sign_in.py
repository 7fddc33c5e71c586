"""Signing in and out: cookies, the same answer for unknown and wrong, throttling, CSRF,
open redirects, timeouts and revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from ownpay.audit.models import AuditEntry
from ownpay.dashboard.models import UserSession
from ownpay.db import utcnow
from tests.support.dashboard import csrf_of, make_user, post_form, sign_in

pytestmark = pytest.mark.api


async def test_sign_in_sets_a_protected_session_cookie_and_opens_the_overview(
        client: httpx.AsyncClient, ctx: Any, merchant: Any) -> None:
    owner = await make_user(ctx, "owner")
    answer = await sign_in(client, owner.email, owner.password)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/"
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith("op_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test; HTTPS sets it (below)
    page = await client.get("/admin/")
    assert page.status_code == 200 and "Paid volume" in page.text
    assert owner.email in page.text


async def test_the_cookie_is_secure_on_https(app: Any, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://pay.test") as c:
        answer = await sign_in(c, owner.email, owner.password)
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith("op_session="))
    assert "Secure" in cookie


async def test_unknown_email_and_wrong_password_get_the_same_answer(
        client: httpx.AsyncClient, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    wrong = await sign_in(client, owner.email, "not-the-password-at-all")
    unknown = await sign_in(client, "nobody-here@ops.test", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 400
    assert "The e-mail address or the password is not right." in wrong.text
    strip = lambda r: csrf_of(r.text) and r.text.replace(csrf_of(r.text), "")  # noqa: E731
    assert strip(wrong).replace(owner.email, "X") == strip(unknown).replace(
        "nobody-here@ops.test", "X")
    assert "op_session=" not in str(wrong.headers) and "op_session=" not in str(unknown.headers)


async def test_a_disabled_user_cannot_sign_in_and_loses_open_sessions(
        client: httpx.AsyncClient, ctx: Any) -> None:
    from ownpay.dashboard import users
    from tests.support.dashboard import TEST_ACTOR

    viewer = await make_user(ctx, "admin")
    assert (await sign_in(client, viewer.email, viewer.password)).status_code == 303
    async with ctx.sessions() as s, s.begin():
        user = await users.find(s, viewer.email)
        assert user is not None
        await users.disable(s, TEST_ACTOR, user)
    assert (await client.get("/admin/")).status_code == 303  # back to sign-in
    again = await sign_in(client, viewer.email, viewer.password)
    assert again.status_code == 400 and "not right" in again.text


async def test_a_sign_in_without_the_form_token_is_refused_and_starts_nothing(
        client: httpx.AsyncClient, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    async with ctx.sessions() as s:
        before = await s.scalar(select(func.count()).select_from(UserSession))
    answer = await client.post("/admin/sign-in", data={"email": owner.email,
                                                        "password": owner.password})
    assert answer.status_code == 400 and "expired" in answer.text
    async with ctx.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(UserSession)) == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "/api/v1/transactions"])
async def test_next_never_leaves_the_dashboard(client: httpx.AsyncClient, ctx: Any,
                                               target: str) -> None:
    owner = await make_user(ctx, "owner")
    answer = await sign_in(client, owner.email, owner.password, next_url=target)
    assert answer.headers["location"] == "/admin/"


async def test_next_brings_the_user_back_to_the_page_they_asked_for(
        client: httpx.AsyncClient, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    first = await client.get("/admin/users")
    assert first.status_code == 303
    assert first.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Fusers"
    answer = await sign_in(client, owner.email, owner.password, next_url="/admin/users")
    assert answer.headers["location"] == "/admin/users"


async def test_sign_out_ends_the_session_on_the_server(client: httpx.AsyncClient,
                                                       ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, owner.password)
    stolen = client.cookies.get("op_session")
    out = await post_form(client, "/admin/", "/admin/sign-out")
    assert out.status_code == 303
    client.cookies.set("op_session", stolen, path="/admin")  # a copied cookie
    assert (await client.get("/admin/")).status_code == 303


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
async def test_idle_and_absolute_timeouts_end_a_session(client: httpx.AsyncClient, ctx: Any,
                                                        column: str) -> None:
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, owner.password)
    assert (await client.get("/admin/")).status_code == 200
    past = utcnow() - timedelta(seconds=ctx.settings.session_lifetime + 1)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(UserSession).where(UserSession.user_id == owner.id)
                        .values({column: past}))
    assert (await client.get("/admin/")).status_code == 303


async def test_sign_out_everywhere_else_keeps_only_this_session(ctx: Any, app: Any) -> None:
    owner = await make_user(ctx, "owner")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as a, \
            httpx.AsyncClient(transport=transport, base_url="http://pay.test") as b:
        await sign_in(a, owner.email, owner.password)
        await sign_in(b, owner.email, owner.password)
        done = await post_form(a, "/admin/account", "/admin/account/sessions/revoke")
        assert done.status_code == 200 and "Signed out of 1 other session." in done.text
        assert (await a.get("/admin/")).status_code == 200
        assert (await b.get("/admin/")).status_code == 303


async def test_failures_are_throttled_per_account_with_a_clear_message(
        app: Any, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    limiter = ctx.rate_limiter
    saved = limiter.rules["signin_account"]
    from limits import parse_many

    limiter.rules["signin_account"] = parse_many("3/15 minutes")
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
            for _ in range(3):
                assert (await sign_in(c, owner.email, "wrong-password-here")).status_code == 400
            blocked = await sign_in(c, owner.email, owner.password)  # even the right one
            assert blocked.status_code == 429
            assert "Too many sign-in attempts. Try again in" in blocked.text
            assert int(blocked.headers["Retry-After"]) > 0
            assert "op_session=" not in str(blocked.headers)
            other = await make_user(ctx, "admin")  # another account is not blocked
            assert (await sign_in(c, other.email, other.password)).status_code == 303
    finally:
        limiter.rules["signin_account"] = saved


async def test_sign_ins_are_in_the_audit_log(client: httpx.AsyncClient, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, "wrong-password-here")
    await sign_in(client, owner.email, owner.password)
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == str(owner.id)).order_by(AuditEntry.id)))
        rows = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.object_id == str(owner.id))))
    assert actions[-2:] == ["user.sign_in_failed", "user.signed_in"]
    assert all(owner.password not in str(r.changes) for r in rows)
