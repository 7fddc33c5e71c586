"""Helpers of the dashboard action walks (tests/dashboard/test_actions_browser_*.py): an
older re-authentication (so a sensitive action meets its "Confirm it is you" page), going
through that page, rows of one user or one object, and a second browser context."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.async_api import expect
from sqlalchemy import update

from ownpay.context import AppContext
from ownpay.dashboard.models import UserSession
from ownpay.db import utcnow
from tests.support.browser import new_page
from tests.support.dashboard_browser import SIZES, check_page


async def age_step_up(ctx: AppContext, user_id: int) -> None:
    """The user's sessions last confirmed their password an hour ago: the next sensitive
    action asks again (as it does for an operator who signed in long before)."""
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(UserSession).where(UserSession.user_id == user_id).values(
            reauthenticated_at=utcnow() - timedelta(hours=1)))


async def confirm_it_is_me(page: Any, shot: Any, password: str, name: str) -> None:
    """On "Confirm it is you": give the password and come back to the page one was on."""
    await expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    await check_page(page, shot, name)
    await page.get_by_label("Password").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("heading", name="Confirm it is you")).to_have_count(0)


async def second_page(browser: Any, like: Any) -> tuple[Any, Any]:
    """Another browser context (its own cookies) at the size of ``like``."""
    return await new_page(browser, **SIZES[like.size_name])
