"""What the gateways' browser tests share: a real ``ownpay serve`` process, the provider's
stand-in and the shop site bundled as a :class:`Setup`, creating and reading payments
through that server's API, the two window sizes the customer pays at, and the checks of a
page of ours the customer lands on (axe-core, no sideways scroll, the failure page)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from tests.support import axe
from tests.support.factories import MerchantKeys
from tests.support.processes import ServerProcess

# ``await shot(page, name)``: the screenshot fixture of tests/conftest.py.
Shot = Callable[[Any, str], Awaitable[Path]]

# Browser context options per window size (the ``tab`` fixture runs a test at each).
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}


@dataclass
class Setup:
    server: ServerProcess
    sim: Any  # the provider's stand-in (its ``url`` or ``base_url``, its state)
    shop_url: str
    merchant: MerchantKeys


async def create_live_intent(setup: Setup, body: dict[str, Any]) -> dict[str, Any]:
    """Create a payment intent on the live server; its JSON."""
    async with httpx.AsyncClient(base_url=setup.server.url, timeout=10) as api:
        r = await api.post("/api/v1/payment-intents", json=body, headers=setup.merchant.auth())
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def live_payment(setup: Setup, txn: str) -> dict[str, Any]:
    """The payment as the live server's API shows it."""
    async with httpx.AsyncClient(base_url=setup.server.url, timeout=10) as api:
        r = await api.get(f"/api/v1/payment-intents/{txn}", headers=setup.merchant.auth())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def size_of(page: Any) -> str:
    """``phone`` or ``desktop``: the size a ``tab`` page was opened at."""
    viewport = page.viewport_size or {"width": 0}
    return "phone" if viewport["width"] < 500 else "desktop"


async def check_page(page: Any, shot: Shot, name: str) -> None:
    """A page of ours as the customer sees it: its screenshot kept, no serious or critical
    axe-core violation, no sideways scroll.  axe-core must be in the page's context
    (:func:`tests.support.axe.enable`) before the page loaded."""
    found = await axe.violations(page)
    await shot(page, name)
    assert not found, f"{name}: " + "; ".join(found)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{name} scrolls sideways ({width}px)"


async def at_failure_page(page: Any, setup: Setup, shot: Shot, txn: str, message: str,
                          name: str) -> None:
    """The customer back on our status page after the provider said the payment failed:
    "Payment failed" with the gateway's ``message``, said once, then that no money was
    taken (checked as :func:`check_page` does); the payment is ``failed``."""
    await page.wait_for_url(re.compile(re.escape(f"/checkout/{txn}") + r"$"))
    await expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    await expect(page.get_by_test_id("outcome-what")).to_have_text(message)
    await expect(page.get_by_test_id("outcome-money")).to_have_text("No money was taken.")
    await check_page(page, shot, name)
    assert (await live_payment(setup, txn))["status"] == "failed"
