"""TOTP enrolment, the second step of sign-in, replay refusal, recovery codes, the owner's
"2FA required" setting, and step-up re-authentication for sensitive actions."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import update

from ownpay.dashboard.models import InstallationSetting, UserSession
from ownpay.db import utcnow
from tests.support.dashboard import csrf_of, make_user, post_form, sign_in

pytestmark = pytest.mark.api


async def enrol(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    page = await client.get("/admin/account/2fa")
    assert page.status_code == 200 and "<svg" in page.text  # the QR code, made here
    secret = re.search(r'class="mono secret">([A-Z2-7]+)<', page.text).group(1)
    sealed = re.search(r'name="sealed" value="([0-9a-f]+)"', page.text).group(1)
    assert secret not in sealed
    wrong = await client.post("/admin/account/2fa", data={
        "csrf_token": csrf_of(page.text), "sealed": sealed, "code": "000000"})
    assert wrong.status_code in (200, 400)
    done = await client.post("/admin/account/2fa", data={
        "csrf_token": csrf_of(page.text), "sealed": sealed,
        "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and "Your recovery codes" in done.text
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done.text)
    assert len(codes) == 10
    return secret, codes


def next_code(secret: str) -> str:
    """A code of the next time step (valid: one step of drift is allowed)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


async def test_enrolment_then_sign_in_asks_for_the_code(app: Any, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        await sign_in(c, owner.email, owner.password)
        secret, _codes = await enrol(c)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        first = await sign_in(c, owner.email, owner.password)
        assert first.headers["location"].startswith("/admin/sign-in/2fa")
        # Half signed in: no page opens before the code.
        assert (await c.get("/admin/")).headers["location"] == "/admin/sign-in/2fa"
        form = await c.get("/admin/sign-in/2fa")
        bad = await c.post("/admin/sign-in/2fa", data={"csrf_token": csrf_of(form.text),
                                                         "code": "123456"})
        assert bad.status_code == 400 and "not right" in bad.text
        code = next_code(secret)
        ok = await c.post("/admin/sign-in/2fa", data={"csrf_token": csrf_of(form.text),
                                                        "code": code, "next": "/admin/account"})
        assert ok.status_code == 303 and ok.headers["location"] == "/admin/account"
        assert (await c.get("/admin/")).status_code == 200
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        await sign_in(c, owner.email, owner.password)
        form = await c.get("/admin/sign-in/2fa")
        replay = await c.post("/admin/sign-in/2fa", data={"csrf_token": csrf_of(form.text),
                                                            "code": code})
        assert replay.status_code == 400  # the same code never works twice


async def test_a_recovery_code_works_once(app: Any, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        await sign_in(c, owner.email, owner.password)
        _secret, codes = await enrol(c)
    for expected in (303, 400):
        async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
            await sign_in(c, owner.email, owner.password)
            form = await c.get("/admin/sign-in/2fa")
            answer = await c.post("/admin/sign-in/2fa", data={
                "csrf_token": csrf_of(form.text), "code": codes[3].upper()})
            assert answer.status_code == expected
            if expected == 303:
                page = await c.get("/admin/account")
                assert "9 recovery codes left" in page.text


async def test_two_factor_required_sends_users_without_it_to_enrol(
        client: httpx.AsyncClient, ctx: Any) -> None:
    viewer = await make_user(ctx, "admin")
    async with ctx.sessions() as s, s.begin():
        row = await s.get(InstallationSetting, "require_2fa")
        if row is None:
            s.add(InstallationSetting(name="require_2fa", value=True, updated_at=utcnow()))
        else:
            row.value = True
    try:
        await sign_in(client, viewer.email, viewer.password)
        answer = await client.get("/admin/users")
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/account/2fa"
        assert (await client.get("/admin/account/2fa")).status_code == 200
        await enrol(client)
        assert (await client.get("/admin/users")).status_code == 200
    finally:
        async with ctx.sessions() as s, s.begin():
            row = await s.get(InstallationSetting, "require_2fa")
            row.value = False


async def test_an_owner_cannot_require_two_factor_without_having_it(
        client: httpx.AsyncClient, ctx: Any) -> None:
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, owner.password)

    async def stored() -> object:
        async with ctx.sessions() as s:
            row = await s.get(InstallationSetting, "require_2fa")
            return None if row is None else row.value

    before = await stored()
    answer = await post_form(client, "/admin/settings", "/admin/settings", {"require_2fa": "on"})
    assert answer.status_code == 400 and "first" in answer.text
    assert await stored() == before and before is not True


async def test_sensitive_actions_need_a_recent_re_authentication(
        client: httpx.AsyncClient, ctx: Any, merchant: Any) -> None:
    owner = await make_user(ctx, "owner")
    await sign_in(client, owner.email, owner.password)
    page = await client.get("/admin/users")
    long_ago = utcnow() - timedelta(seconds=ctx.settings.session_reauth_window + 5)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(UserSession).where(UserSession.user_id == owner.id)
                        .values(reauthenticated_at=long_ago))
    email = f"new-{owner.id}@ops.test"
    form = {"csrf_token": csrf_of(page.text), "email": email, "role": "viewer",
            "merchant": merchant.slug}
    refused = await client.post("/admin/users", data=form)
    assert refused.status_code == 303
    assert refused.headers["location"] == "/admin/confirm?next=%2Fadmin%2Fusers"
    confirm = await client.get(refused.headers["location"])
    wrong = await client.post("/admin/confirm", data={
        "csrf_token": csrf_of(confirm.text), "password": "wrong-wrong-wrong",
        "next": "/admin/users"})
    assert wrong.status_code == 400
    assert email not in (await client.get("/admin/users")).text  # nothing was created
    ok = await client.post("/admin/confirm", data={
        "csrf_token": csrf_of(confirm.text), "password": owner.password, "next": "/admin/users"})
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/users"
    created = await client.post("/admin/users", data=form)
    assert created.status_code == 200 and email in created.text
    shown = re.search(r'class="mono secret">([^<]+)<', created.text).group(1)
    assert len(shown) >= 20  # the generated password, shown once
    assert shown not in (await client.get("/admin/users")).text


async def test_the_step_up_of_an_action_comes_back_to_its_page(
        client: httpx.AsyncClient, ctx: Any, merchant: Any) -> None:
    """An action path that is no page (no GET route) sends the user back, after "Confirm
    it is you", to the nearest page above it rather than to a 405."""
    owner = await make_user(ctx, "owner")
    other = await make_user(ctx, "viewer", merchant=merchant.slug)
    await sign_in(client, owner.email, owner.password)
    page = await client.get("/admin/users")
    long_ago = utcnow() - timedelta(seconds=ctx.settings.session_reauth_window + 5)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(UserSession).where(UserSession.user_id == owner.id)
                        .values(reauthenticated_at=long_ago))
    token = csrf_of(page.text)
    for action, back in ((f"/admin/users/{other.id}/disable", "%2Fadmin%2Fusers"),
                         ("/admin/account/password", "%2Fadmin%2Faccount")):
        refused = await client.post(action, data={"csrf_token": token})
        assert refused.status_code == 303
        assert refused.headers["location"] == f"/admin/confirm?next={back}"
        landed = await client.get(refused.headers["location"].split("next=")[1]
                                  .replace("%2F", "/"))
        assert landed.status_code == 200
