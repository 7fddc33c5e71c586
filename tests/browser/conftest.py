"""Browser fixtures: Playwright (Python, async API) driving Debian's Chromium headless (see
``tests/support/browser.py``).

* ``browser`` -- one Chromium per session.
* ``page`` -- a fresh context and page per test (desktop viewport); ``phone_page`` -- a
  small phone viewport with touch.
* ``shop_site`` -- the merchant's website on loopback; its base URL.
* ``shot(page, name)`` -- saves a full-page screenshot under ``test-output/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.artifacts import SCREENSHOTS
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_FOUND, ShopSite, new_page

playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM_FOUND:
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make install-system`")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="session")
def shop_site() -> Iterator[str]:
    """The merchant's website; its base URL."""
    site = ShopSite()
    try:
        yield site.url
    finally:
        site.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context, pg = await new_page(browser, viewport={"width": 1280, "height": 900})
    try:
        yield pg
    finally:
        await context.close()


@pytest.fixture
async def phone_page(browser: Any) -> AsyncIterator[Any]:
    context, pg = await new_page(
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
