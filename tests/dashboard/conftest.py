"""The dashboard's browser fixtures: ``dash`` is a Chromium page at desktop and at phone
size (each test runs at both) with axe-core loaded; :func:`check_page` runs the
accessibility pass, keeps the screenshot and checks nothing scrolls sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import axe
from tests.support.browser import new_page

SIZES = {"desktop": {"viewport": {"width": 1280, "height": 900}},
         "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True}}


@pytest.fixture(params=sorted(SIZES))
async def dash(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    context, page = await new_page(browser, **SIZES[request.param])
    await axe.enable(context)
    page.size_name = request.param
    try:
        yield page
    finally:
        await context.close()


async def check_page(page: Any, shot: Any, name: str) -> None:
    found = await axe.violations(page)
    await shot(page, f"{page.size_name}-{name}")
    assert not found, f"{name}: " + "; ".join(found)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{name} scrolls sideways ({width}px)"


async def follow(page: Any, locator: Any) -> None:
    """Click a link (or a button that navigates) and wait until the next page has loaded.
    Without this a following step can act on the page being left: the brand switcher and
    the axe pass exist on every page, so they would not wait for the new one."""
    async with page.expect_navigation():
        await locator.click()


async def browser_sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Sign in through the real form and land on the overview."""
    await page.goto(f"{base_url}/admin/sign-in")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base_url}/admin/")
