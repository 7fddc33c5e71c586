"""The users page and my account in Chromium at desktop and phone size, every action
through the real buttons: an owner adds a user (the generated password is shown once),
disables and enables one, gives one a new password and resets one's 2FA, going through
"Confirm it is you" where the action is sensitive; a manager changes their password and
signs out their other sessions (a second browser is signed out).  Each outcome is checked
on the page and in the database."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pyotp
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ownpay.dashboard import passwords, twofactor
from ownpay.dashboard.models import User, UserSession
from tests.dashboard.actions_support import age_step_up, confirm_it_is_me, second_page
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.factories import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def user_row(ctx: Any, user_id: int) -> User:
    async with ctx.sessions() as s:
        user = await s.get(User, user_id)
        assert user is not None
        return user


async def user_by_email(ctx: Any, email: str) -> User | None:
    async with ctx.sessions() as s:
        return await s.scalar(select(User).where(User.email == email))


async def live_sessions(ctx: Any, user_id: int) -> int:
    async with ctx.sessions() as s:
        rows = await s.scalars(select(UserSession).where(
            UserSession.user_id == user_id, UserSession.revoked_at.is_(None)))
        return len(list(rows))


async def with_two_factor(ctx: Any, user_id: int) -> None:
    async with ctx.sessions() as s, s.begin():
        user = await s.get(User, user_id)
        assert user is not None
        twofactor.enable(user, ctx.keyring, pyotp.random_base32())


async def test_an_owner_manages_users(live_server: Any, ctx: Any, dash: Any, shot: Any) -> None:
    name = f"Users Shop {secrets.token_hex(3)}"
    brand = await create_merchant(ctx, name=name)
    owner = await make_user(ctx, "owner")
    target = await make_user(ctx, "viewer", merchant=brand.slug)
    await with_two_factor(ctx, target.id)
    base = live_server.url
    await browser_sign_in(dash, base, owner.email, owner.password)
    await age_step_up(ctx, owner.id)

    await follow(dash, dash.get_by_role("link", name="Users", exact=True))
    row = dash.get_by_role("row").filter(has_text=target.email)
    await expect(row).to_contain_text("Viewer")
    await expect(row).to_contain_text("Active")
    await check_page(dash, shot, "users")

    # add a user: the password is asked for again first, then the form is submitted again
    email = f"new-operator-{secrets.token_hex(4)}@ops.test"

    async def fill_new_user() -> None:
        await dash.get_by_label("E-mail", exact=True).fill(email)
        await dash.get_by_label("Role").select_option(label="Operator")
        await dash.get_by_label(re.compile("^Brand \\(for manager")).select_option(label=name)

    await fill_new_user()
    await follow(dash, dash.get_by_role("button", name="Add user"))
    await confirm_it_is_me(dash, shot, owner.password, "users-confirm")
    await expect(dash).to_have_url(f"{base}/admin/users")
    await fill_new_user()
    await dash.get_by_role("button", name="Add user").click()
    created = dash.get_by_role("status").filter(has_text="can sign in with this password")
    await expect(created).to_contain_text(email)
    password = (await created.locator("code.secret").inner_text()).strip()
    assert len(password) >= 12
    await check_page(dash, shot, "users-added")
    made = await user_by_email(ctx, email)
    assert made is not None and made.role == "operator" and made.merchant_id == brand.id
    assert passwords.verify(made.password_hash, password)
    await follow(dash, dash.get_by_role("link", name="Users", exact=True))
    assert password not in await dash.content()  # shown once
    await expect(dash.get_by_role("row").filter(has_text=email)).to_contain_text("Operator")

    # disable, then enable (already confirmed a moment ago: no second question)
    await dash.get_by_role("button", name=f"Disable {target.email}").click()
    await expect(dash.get_by_role("status").filter(
        has_text=f"{target.email} is disabled.")).to_be_visible()
    await expect(row).to_contain_text("Disabled")
    await check_page(dash, shot, "users-disabled")
    assert (await user_row(ctx, target.id)).disabled_at is not None
    await dash.get_by_role("button", name=f"Enable {target.email}").click()
    await expect(dash.get_by_role("status").filter(
        has_text=f"{target.email} can sign in again.")).to_be_visible()
    await expect(row).to_contain_text("Active")
    assert (await user_row(ctx, target.id)).disabled_at is None

    # a new password: shown once, and it is the one stored
    await dash.get_by_role("button", name=f"New password for {target.email}").click()
    shown = dash.get_by_role("status").filter(has_text="can sign in with this password")
    await expect(shown).to_contain_text(target.email)
    fresh = (await shown.locator("code.secret").inner_text()).strip()
    await check_page(dash, shot, "users-new-password")
    stored = await user_row(ctx, target.id)
    assert passwords.verify(stored.password_hash, fresh)
    assert not passwords.verify(stored.password_hash, target.password)

    # reset 2FA, after the password is asked for again
    await expect(row).to_contain_text("On")
    await age_step_up(ctx, owner.id)
    await follow(dash, dash.get_by_role("button", name=f"Reset 2FA of {target.email}"))
    await confirm_it_is_me(dash, shot, owner.password, "users-confirm-2fa")
    await dash.get_by_role("button", name=f"Reset 2FA of {target.email}").click()
    await expect(dash.get_by_role("status").filter(
        has_text=f"Two-factor authentication of {target.email} is reset.")).to_be_visible()
    await expect(dash.get_by_role("button", name=f"Reset 2FA of {target.email}")).to_have_count(0)
    await check_page(dash, shot, "users-2fa-reset")
    assert (await user_row(ctx, target.id)).totp_enabled_at is None

    # the user signs in with the new password, without a code
    other, page = await second_page(dash.context.browser, dash)
    try:
        await browser_sign_in(page, base, target.email, fresh)
    finally:
        await other.close()


async def test_my_account_password_and_sessions(live_server: Any, ctx: Any, dash: Any,
                                                browser: Any, shot: Any) -> None:
    brand = await create_merchant(ctx, name=f"Account Shop {secrets.token_hex(3)}")
    me = await make_user(ctx, "manager", merchant=brand.slug)
    base = live_server.url
    other, elsewhere = await second_page(browser, dash)
    try:
        await browser_sign_in(elsewhere, base, me.email, me.password)
        await browser_sign_in(dash, base, me.email, me.password)
        assert await live_sessions(ctx, me.id) == 2

        await follow(dash, dash.get_by_role("link", name="My account"))
        sessions = dash.get_by_role("region", name="Signed-in sessions").locator("tbody tr")
        await expect(sessions).to_have_count(2)
        await expect(sessions.filter(has_text="(this one)")).to_have_count(1)
        await check_page(dash, shot, "account-sessions")
        await dash.get_by_role("button", name="Sign out everywhere else").click()
        await expect(dash.get_by_role("status").filter(
            has_text="Signed out of 1 other session.")).to_be_visible()
        await expect(sessions).to_have_count(1)
        await check_page(dash, shot, "account-signed-out-elsewhere")
        assert await live_sessions(ctx, me.id) == 1
        await elsewhere.goto(f"{base}/admin/payments")
        await expect(elsewhere).to_have_url(re.compile(r"/admin/sign-in\?next="))
        await expect(elsewhere.get_by_role("button", name="Sign in")).to_be_visible()

        # a new password: the two fields must match; the password is asked for again
        new = "correct horse battery " + secrets.token_hex(4)
        await dash.get_by_label("New password", exact=True).fill(new)
        await dash.get_by_label("New password again").fill(new + "x")
        await dash.get_by_role("button", name="Change password").click()
        await expect(dash.get_by_text("The two passwords are not the same.")).to_be_visible()
        await check_page(dash, shot, "account-password-mismatch")
        await age_step_up(ctx, me.id)
        await dash.get_by_label("New password", exact=True).fill(new)
        await dash.get_by_label("New password again").fill(new)
        await follow(dash, dash.get_by_role("button", name="Change password"))
        await confirm_it_is_me(dash, shot, me.password, "account-confirm")
        await expect(dash).to_have_url(f"{base}/admin/account")
        await dash.get_by_label("New password", exact=True).fill(new)
        await dash.get_by_label("New password again").fill(new)
        await dash.get_by_role("button", name="Change password").click()
        await expect(dash.get_by_role("status").filter(
            has_text="Password changed.")).to_be_visible()
        await check_page(dash, shot, "account-password-changed")
        assert passwords.verify((await user_row(ctx, me.id)).password_hash, new)

        # the old password no longer signs in; the new one does
        await dash.get_by_role("button", name="Sign out", exact=True).click()
        await expect(dash).to_have_url(re.compile(r"/admin/sign-in"))
        await dash.get_by_label("E-mail").fill(me.email)
        await dash.get_by_label("Password").fill(me.password)
        await dash.get_by_role("button", name="Sign in").click()
        await expect(dash.get_by_role("alert")).to_contain_text("not right")
        await browser_sign_in(dash, base, me.email, new)
    finally:
        await other.close()
