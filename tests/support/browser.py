"""Playwright (Python, async API) driving Debian's Chromium headless, and the merchant's
website the customer returns to.

``make test`` installs the ``chromium`` package (``install-system``); Playwright's own
browser download is never used (this machine has no internet), so the browser is launched
from ``/usr/bin/chromium`` with the flags that keep it off the network.

The merchant's website is a real HTTP server on loopback (a different origin from the
checkout) answering every path with a small "Back at the shop" page (and a logo at
``/brand/logo.svg``).  Point ``return_url``/``cancel_url`` at it to follow the customer back:
it must be a real server, because Playwright does not intercept the request that follows a
redirect (our ``303`` to ``return_url``).
"""

from __future__ import annotations

import html
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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
SHOP_PAGE = b"<!doctype html><title>Shop</title><h1>Back at the shop</h1>"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    '<rect width="120" height="40" rx="8" fill="#0f766e"/>'
    '<text x="60" y="26" font-size="16" text-anchor="middle" fill="#fff">Northwind</text></svg>'
)


async def new_page(browser: Any, **context_options: Any) -> tuple[Any, Any]:
    """A fresh browser context with the suite's timeouts, and a page in it."""
    context = await browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(20_000)
    page = await context.new_page()
    return context, page


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

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        """A return by a posted form (UddoktaPay's and PipraPay's ``return_type`` POST):
        the shop's page shows the fields it received, escaped, in ``data-testid=posted``."""
        length = min(int(self.headers.get("content-length") or 0), 16 * 1024)
        posted = html.escape(self.rfile.read(length).decode("utf-8", "replace"))
        body = SHOP_PAGE + f'<pre data-testid="posted">{posted}</pre>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return None


class ShopSite:
    """The merchant's website on a free loopback port, served from a thread."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ShopHandler)
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
