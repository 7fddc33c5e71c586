"""Playwright (Python, async API) driving Debian's Chromium headless.

``make test`` installs the ``chromium`` package (``install-system``); Playwright's own
browser download is never used (this machine has no internet), so the browser is launched
from ``/usr/bin/chromium`` with the flags that keep it off the network.

Fixtures:

* ``browser`` -- one Chromium per session.
* ``page`` -- a fresh context and page per test (desktop viewport); ``phone_page`` -- a
  small phone viewport with touch.  Requests the page itself makes to
  ``https://shop.example/...`` are answered by a stub, but Playwright does not intercept the
  request that follows a redirect (our ``303`` to ``return_url``), so tests that follow the
  customer back to the shop serve the shop from a real HTTP server on loopback instead.
* ``shot(page, name)`` -- saves a full-page screenshot under ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OUTPUT

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("OWNPAY_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = OUTPUT / "screenshots"
SHOP_PAGE = "<!doctype html><title>Shop</title><h1>Back at the shop</h1>"
SHOP_ORIGIN = "https://shop.example"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make install-system`")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def _shop(route: Any) -> None:
    await route.fulfill(status=200, content_type="text/html", body=SHOP_PAGE)


async def _new_page(browser: Any, **context_options: Any) -> tuple[Any, Any]:
    context = await browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(20_000)
    await context.route(re.compile(r"^https?://shop\.example(/.*)?$"), _shop)
    page = await context.new_page()
    return context, page


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context, pg = await _new_page(browser, viewport={"width": 1280, "height": 900})
    try:
        yield pg
    finally:
        await context.close()


@pytest.fixture
async def phone_page(browser: Any) -> AsyncIterator[Any]:
    context, pg = await _new_page(
        browser,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        yield pg
    finally:
        await context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Awaitable[Path]]:
    """Save a full-page screenshot named after the test and ``name``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    async def take(pg: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{test_name}--{name}.png"
        await pg.screenshot(path=str(path), full_page=True)
        return path

    return take
