"""Helpers of the dashboard's browser tests (the ``dash`` page is
``tests/dashboard/conftest.py``'s): the two window sizes, :func:`check_page` (the
accessibility pass, the screenshot, nothing scrolls sideways), following a link, signing in
through the real form, and a paid payment to have something to show."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support import axe
from tests.support.factories import intent_body

SIZES = {"desktop": {"viewport": {"width": 1280, "height": 900}},
         "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True}}


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


async def pay_something(client_url: str, key: str) -> None:
    """One test-mode payment through the API and the checkout, paid (``outcome=succeed``)."""
    async with httpx.AsyncClient(base_url=client_url, timeout=15) as api:
        r = await api.post("/api/v1/payment-intents", json=intent_body(),
                           headers={"Authorization": f"Bearer {key}"})
        txn = r.json()["transaction_id"]
        page = await api.get(f"/checkout/{txn}")
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text).group(1)
        await api.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "succeed"})
