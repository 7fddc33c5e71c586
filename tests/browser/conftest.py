"""Playwright (Python, async API) driving Debian's Chromium headless.

``make test`` installs the ``chromium`` package (``install-system``); Playwright's own
browser download is never used (this machine has no internet), so the browser is launched
from ``/usr/bin/chromium`` with the flags that keep it off the network.

Fixtures:

* ``browser`` -- one Chromium per session.
* ``page`` -- a fresh context and page per test (desktop viewport); ``phone_page`` -- a
  small phone viewport with touch.
* ``shop_site`` -- the merchant's website: a real HTTP server on loopback (a different origin
  from the checkout) answering every path with a small "Back at the shop" page (and a logo at
  ``/brand/logo.svg``).  Point ``return_url``/``cancel_url`` at it to follow the customer
  back: it must be a real server, because Playwright does not intercept the request that
  follows a redirect (our ``303`` to ``return_url``).
* ``shot(page, name)`` -- saves a full-page screenshot under ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OUTPUT

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("OWNPAY_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FOUND = Path(CHROMIUM).exists()
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
SHOP_PAGE = b"<!doctype html><title>Shop</title><h1>Back at the shop</h1>"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    '<rect width="120" height="40" rx="8" fill="#0f766e"/>'
    '<text x="60" y="26" font-size="16" text-anchor="middle" fill="#fff">Northwind</text></svg>'
)


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


class _ShopHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/brand/logo.svg"):
            body, ctype = LOGO_SVG.encode(), "image/svg+xml"
        elif self.path == "/favicon.ico":
            body, ctype = b"", "image/x-icon"
        else:
            body, ctype = SHOP_PAGE, "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return None


@pytest.fixture(scope="session")
def shop_site() -> Iterator[str]:
    """The merchant's website; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShopHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def _new_page(browser: Any, **context_options: Any) -> tuple[Any, Any]:
    context = await browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(20_000)
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
