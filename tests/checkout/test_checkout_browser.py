"""The hosted checkout in a real browser: headless Debian Chromium driven by Playwright,
against a real ``ownpay serve`` process (with its embedded worker) on each backend.

Every flow starts the way a merchant's integration does -- an intent created through the
API with the merchant's key -- and follows the customer page by page, saving a screenshot
of every page they see under ``test-output/screenshots/``.

The merchant's shop is a real HTTP server on loopback (``http://localhost:<port>``), not a
Playwright route: Playwright does not route the follow-up request of a redirect (our
``303`` to ``return_url`` after a form POST), so a routed ``https://shop.example`` landing
would first fail DNS and only appear after Chromium's error-page auto-reload.  A real
server makes ``page.url`` show exactly where the customer landed, every time.

The server runs with the product's default worker interval (1 s) and a short
reconciliation delay (3 s) so the "provider confirms later" branch settles during a test.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.payments.models import PaymentIntent
from tests.support.browser import new_page
from tests.support.commands import ownpay_cli
from tests.support.factories import intent_body
from tests.support.processes import ServerProcess, server_env, start_server

pytestmark = pytest.mark.e2e

Shot = Callable[[Page, str], Awaitable[Path]]

MANUAL_INSTRUCTIONS = (
    "Send the amount with **bKash** to *01700-000000* (Northwind Coffee, merchant account), "
    "then enter the number you paid from and the transaction ID from your SMS."
)
SENDER_LABEL = "Sender account or phone number"
PROVIDER_LABEL = "Transaction ID from your payment provider"
SUBMIT_MANUAL = "I have paid — submit for verification"
# How long the customer may wait for the page to notice a change made elsewhere (the worker,
# an operator): polling every 3 s plus a worker pass; a bound, not a speed assertion.
SETTLE_TIMEOUT_MS = 30_000
EXPECTED_4XX = "Failed to load resource: the server responded with a status of 4"


# ---- the server, the merchant and the API ---------------------------------------------------


@pytest.fixture(scope="module")
def checkout_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("checkout-browser")
    env = server_env(
        database_url, data, OWNPAY_WORKER_INTERVAL="1", OWNPAY_RECONCILE_AFTER="3"
    )
    server = start_server(env, data / "server.log")
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Shop:
    slug: str
    name: str
    api_key: str
    server: ServerProcess
    site: str  # the merchant's website: return_url and cancel_url point there

    def api(self, api_key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {api_key or self.api_key}"},
            timeout=15,
        )

    def checkout(self, txn: str) -> str:
        return f"{self.server.url}/checkout/{txn}"


def open_shop(
    server: ServerProcess, site: str, *, name: str, brand: tuple[str, ...] = (),
    manual: tuple[str, ...] = (),
) -> Shop:
    """A merchant set up the way an operator does it: with the ``ownpay`` CLI."""
    slug = "br-" + secrets.token_hex(4)
    env = server.env
    ownpay_cli(env, "merchants", "create", "--slug", slug, "--name", name, *brand, "--json")
    ownpay_cli(env, "gateways", "enable", "sandbox", "--merchant", slug, "--mode", "test")
    ownpay_cli(env, "gateways", "enable", "manual", "--merchant", slug, "--mode", "test", *manual)
    created = ownpay_cli(
        env, "api-keys", "create", "--merchant", slug, "--mode", "test", "--json"
    )
    api_key = json.loads(created.stdout)["api_key"]
    return Shop(slug=slug, name=name, api_key=api_key, server=server, site=site)


@pytest.fixture(scope="module")
def shop(checkout_server: ServerProcess, shop_site: str) -> Shop:
    return open_shop(
        checkout_server,
        shop_site,
        name="Northwind Coffee",
        brand=("--primary-color", "#0f766e", "--logo-url", f"{shop_site}/brand/logo.svg"),
        manual=("--set", f"instructions={MANUAL_INSTRUCTIONS}"),
    )


async def new_intent(shop: Shop, **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("return_url", f"{shop.site}/return")
    async with shop.api() as api:
        r = await api.post("/api/v1/payment-intents", json=intent_body(**overrides))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["payment_url"] == shop.checkout(body["transaction_id"])
    return body


async def fetch(shop: Shop, txn: str) -> dict[str, Any]:
    async with shop.api() as api:
        r = await api.get(f"/api/v1/payment-intents/{txn}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def history(intent: dict[str, Any]) -> list[str]:
    return [h["to_status"] for h in intent["status_history"]]


async def set_expiry(ctx: AppContext, txn: str, seconds_from_now: float) -> None:
    """Move the clock for one intent: the only test-side write, and never to its status."""
    async with ctx.sessions() as s, s.begin():
        await s.execute(
            update(PaymentIntent)
            .where(PaymentIntent.id == txn)
            .values(expires_at=utcnow() + timedelta(seconds=seconds_from_now))
        )


# ---- the browser side -----------------------------------------------------------------------


async def prepare(page: Page) -> list[str]:
    """Collect script errors and CSP violations (Chromium reports both on the console)."""
    problems: list[str] = []

    def on_console(message: Any) -> None:
        text = str(message.text)
        # A 4xx page (a refused form, the 404 page) is logged as a failed load: expected.
        if message.type == "error" and not text.startswith(EXPECTED_4XX):
            problems.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


async def landed_at_shop(page: Page, prefix: str) -> dict[str, list[str]]:
    """Wait until the customer is back on the merchant's site; its query string."""
    await page.wait_for_url(lambda url: url.startswith(prefix))
    await expect(page.get_by_role("heading", name="Back at the shop")).to_be_visible()
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def query_of(url: str | None) -> dict[str, list[str]]:
    assert url
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


async def assert_no_way_to_pay(page: Page, txn: str) -> None:
    assert await page.locator(f'form[action="/checkout/{txn}/pay"]').count() == 0
    assert await page.get_by_role("button", name=re.compile(r"^Pay ")).count() == 0
    assert await page.locator("input:not([type=hidden])").count() == 0


async def assert_fits(page: Page, what: str) -> None:
    """Nothing is wider than the viewport (no sideways scrolling on a phone).

    A mobile browser widens its layout viewport (zooms out) to fit overflowing content, so
    ``innerWidth`` is also compared with the device width the page was opened with.
    """
    device = page.viewport_size
    assert device is not None
    sizes = await page.evaluate(
        """() => {
            const inner = window.innerWidth;
            const wide = [...document.querySelectorAll('body *')]
              .filter(el => el.getBoundingClientRect().right > inner + 0.5)
              .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
            return {scroll: document.documentElement.scrollWidth, inner, wide};
        }"""
    )
    assert sizes["inner"] == device["width"], f"{what} was zoomed out to fit: {sizes}"
    assert sizes["scroll"] <= sizes["inner"], f"{what} overflows horizontally: {sizes}"
    assert sizes["wide"] == [], f"{what}: elements wider than the viewport: {sizes['wide']}"


async def assert_readable_primary(page: Page, name: str | re.Pattern[str]) -> None:
    """The primary button is on screen, inside the viewport, with WCAG AA text contrast."""
    button = page.get_by_role("button", name=name).or_(page.get_by_role("link", name=name))
    await expect(button.first).to_be_visible()
    await button.first.scroll_into_view_if_needed()
    box = await button.first.bounding_box()
    width = await page.evaluate("() => window.innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert box["height"] >= 44, f"touch target too small: {box}"
    ratio = await button.first.evaluate(
        """el => {
            const rgb = s => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
            const lum = c => {
                const [r, g, b] = c.map(v => v / 255).map(v =>
                    v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const style = getComputedStyle(el);
            const a = lum(rgb(style.color)), b = lum(rgb(style.backgroundColor));
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }"""
    )
    assert ratio >= 4.5, f"primary button contrast {ratio:.2f} < 4.5"


async def focused(page: Page) -> str:
    """``role:accessible text`` of the element that has keyboard focus."""
    described: str = await page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body) return 'body';
            const tag = el.tagName.toLowerCase();
            const role = {a: 'link', button: 'button', input: 'textbox'}[tag] || tag;
            const text = tag === 'input'
              ? [...(el.labels || [])].map(l => l.textContent).join(' ')
              : el.textContent;
            return role + ':' + text.replace(/\\s+/g, ' ').trim();
        }"""
    )
    return described


async def tab_through(page: Page, presses: int) -> list[str]:
    order = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        order.append(await focused(page))
    return order


# ---- flows ----------------------------------------------------------------------------------


async def test_sandbox_success_lands_on_return_url_and_cannot_pay_twice(
    shop: Shop, page: Page, shot: Shot
) -> None:
    problems = await prepare(page)
    order_id = "ORD-" + secrets.token_hex(4).upper()
    made = await new_intent(
        shop, amount="1234.5", order_id=order_id, description="Annual plan — 12 bags of beans",
        return_url=f"{shop.site}/orders/done?ref=abc&lang=en",
    )
    txn = made["transaction_id"]

    await page.goto(made["payment_url"])
    await expect(page).to_have_title(f"Pay $1,234.50 · {shop.name}")
    await expect(page.get_by_test_id("amount")).to_have_text("$1,234.50")
    await expect(page.get_by_test_id("order-id")).to_have_text(order_id)
    await expect(page.get_by_text("Annual plan — 12 bags of beans")).to_be_visible()
    # The logo loaded (the CSP allows the merchant's image origin) and is decorative: the
    # merchant's name is written next to it, so a screen reader does not hear it twice.
    logo = page.locator("header img.logo")
    await expect(logo).to_have_attribute("alt", "")
    assert await logo.evaluate("img => img.complete && img.naturalWidth > 0")
    await expect(page.locator("header .brand-name")).to_have_text(shop.name)
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d+:\d\d left$"))
    await shot(page, "1-pay")

    # A second tab with the same link: the customer will try to pay there again afterwards.
    stale = await page.context.new_page()
    await stale.goto(made["payment_url"])

    await page.get_by_role("button", name="Pay $1,234.50 (succeed)").click()
    query = await landed_at_shop(page, f"{shop.site}/orders/done?")
    assert query == {"ref": ["abc"], "lang": ["en"], "transaction_id": [txn],
                     "order_id": [order_id], "status": ["completed"]}
    await shot(page, "2-back-at-shop")
    got = await fetch(shop, txn)
    assert got["status"] == "completed" and got["paid_at"] and got["amount"] == 1234.5
    assert history(got) == ["pending", "completed"]

    # Reopening the link shows the paid page, with no way to pay again.
    await page.goto(made["payment_url"])
    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    await expect(page).to_have_title(f"Payment received · {shop.name}")
    await assert_no_way_to_pay(page, txn)
    back = page.get_by_role("link", name=f"Return to {shop.name}")
    assert query_of(await back.get_attribute("href"))["status"] == ["completed"]
    await shot(page, "3-paid-page")

    # The stale tab still shows the buttons; pressing one pays nothing a second time.
    await stale.get_by_role("button", name="Pay $1,234.50 (succeed)").click()
    await expect(stale.get_by_role("heading", name="Payment received")).to_be_visible()
    await shot(stale, "4-stale-tab-after-second-click")
    assert history(await fetch(shop, txn)) == ["pending", "completed"]
    await stale.close()
    assert problems == []


async def test_declined_then_retried_successfully(shop: Shop, page: Page, shot: Shot) -> None:
    problems = await prepare(page)
    made = await new_intent(shop, amount="42")
    txn = made["transaction_id"]
    await page.goto(made["payment_url"])
    await shot(page, "1-pay")

    await page.get_by_role("button", name="Decline the payment (fail)").click()
    await expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    assert page.url == shop.checkout(txn)
    await expect(page.get_by_test_id("outcome-what")).to_have_text("The payment was declined.")
    await expect(page.get_by_test_id("outcome-money")).to_have_text("No money was taken.")
    await expect(page).to_have_title(f"Payment failed · {shop.name}")
    await assert_no_way_to_pay(page, txn)
    await shot(page, "2-declined")
    assert (await fetch(shop, txn))["status"] == "failed"

    await page.get_by_role("button", name="Try again").click()
    pay = page.get_by_role("button", name="Pay $42.00 (succeed)")
    await expect(pay).to_be_visible()
    await shot(page, "3-pay-again")
    await pay.click()
    query = await landed_at_shop(page, f"{shop.site}/return?")
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(page, "4-back-at-shop")
    got = await fetch(shop, txn)
    assert got["status"] == "completed"
    assert history(got) == ["pending", "failed", "pending", "completed"]
    assert problems == []


async def test_left_processing_is_settled_by_the_worker_while_the_page_polls(
    shop: Shop, page: Page, shot: Shot
) -> None:
    problems = await prepare(page)
    made = await new_intent(shop)
    txn = made["transaction_id"]
    await page.goto(made["payment_url"])
    await page.get_by_role("button", name="Leave it processing").click()

    await expect(page.get_by_role("heading", name="Payment processing")).to_be_visible()
    await expect(page.get_by_role("link", name="Refresh status")).to_be_visible()
    assert (await fetch(shop, txn))["status"] == "processing"
    await shot(page, "1-processing")

    # Nobody touches the page: its status polling notices once the worker has settled the
    # payment and takes the customer back to the shop, as after an immediate success.
    await page.wait_for_url(lambda url: url.startswith(shop.site), timeout=SETTLE_TIMEOUT_MS)
    query = await landed_at_shop(page, shop.site)
    assert query["status"] == ["completed"] and query["transaction_id"] == [txn]
    await shot(page, "2-settled-back-at-shop")
    got = await fetch(shop, txn)
    assert got["status"] == "completed"
    assert history(got) == ["pending", "processing", "completed"]
    assert got["status_history"][-1]["actor"] == "worker:reconcile"
    # Without JavaScript the customer refreshes; the paid page links back to the shop.
    await page.goto(made["payment_url"])
    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    back = page.get_by_role("link", name=f"Return to {shop.name}")
    assert query_of(await back.get_attribute("href"))["status"] == ["completed"]
    assert problems == []


async def test_cancel_goes_to_cancel_url_or_to_return_url(
    shop: Shop, page: Page, shot: Shot
) -> None:
    problems = await prepare(page)
    order_id = "CART-" + secrets.token_hex(4).upper()
    with_cancel = await new_intent(shop, order_id=order_id,
                                   cancel_url=f"{shop.site}/cart?step=payment")
    await page.goto(with_cancel["payment_url"])
    await shot(page, "1-pay")
    await page.get_by_role("button", name=f"Cancel and return to {shop.name}").click()
    query = await landed_at_shop(page, f"{shop.site}/cart?")
    assert query == {"step": ["payment"], "transaction_id": [with_cancel["transaction_id"]],
                     "order_id": [order_id], "status": ["cancelled"]}
    await shot(page, "2-at-cancel-url")
    assert (await fetch(shop, with_cancel["transaction_id"]))["status"] == "cancelled"

    # No cancel_url: back to return_url with status=cancelled.
    without = await new_intent(shop, return_url=f"{shop.site}/thanks")
    await page.goto(without["payment_url"])
    await page.get_by_role("button", name=f"Cancel and return to {shop.name}").click()
    query = await landed_at_shop(page, f"{shop.site}/thanks?")
    assert query["status"] == ["cancelled"]
    assert query["transaction_id"] == [without["transaction_id"]]
    await shot(page, "3-at-return-url")

    # The link now shows the cancelled page and cannot be paid.
    await page.goto(without["payment_url"])
    await expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible()
    await assert_no_way_to_pay(page, without["transaction_id"])
    await shot(page, "4-cancelled-page")
    assert (await fetch(shop, without["transaction_id"]))["status"] == "cancelled"
    assert problems == []


async def test_expired_link_cannot_be_paid(
    shop: Shop, ctx: AppContext, page: Page, shot: Shot
) -> None:
    problems = await prepare(page)
    # The customer has the page open when the link runs out, then presses Pay.
    made = await new_intent(shop, expires_in=60)
    txn = made["transaction_id"]
    await page.goto(made["payment_url"])
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^[01]:\d\d left$"))
    await expect(page.locator("#countdown")).to_have_class(re.compile(r"\burgent\b"))
    await shot(page, "1-pay-with-a-minute-left")
    await set_expiry(ctx, txn, -1)
    await page.get_by_role("button", name="Pay $99.99 (succeed)").click()
    await expect(page.get_by_role("heading", name="Payment link expired")).to_be_visible()
    await assert_no_way_to_pay(page, txn)
    back = page.get_by_role("link", name=f"Return to {shop.name}")
    assert query_of(await back.get_attribute("href"))["status"] == ["expired"]
    await shot(page, "2-expired")
    got = await fetch(shop, txn)
    assert got["status"] == "expired" and got["paid_at"] is None
    assert history(got) == ["pending", "expired"]

    # With JavaScript the countdown reaches zero and the page turns itself into the
    # expired page; the link stays unpayable.
    made = await new_intent(shop)
    await set_expiry(ctx, made["transaction_id"], 4)
    await page.goto(made["payment_url"])
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^0:0\d left$"))
    await shot(page, "3-countdown")
    await expect(page.get_by_role("heading", name="Payment link expired")).to_be_visible(
        timeout=SETTLE_TIMEOUT_MS
    )
    await assert_no_way_to_pay(page, made["transaction_id"])
    await shot(page, "4-expired-by-countdown")
    assert (await fetch(shop, made["transaction_id"]))["status"] == "expired"
    assert problems == []


async def test_worker_expires_an_overdue_link_within_a_minute(
    shop: Shop, ctx: AppContext, page: Page, shot: Shot
) -> None:
    """Nobody opens the link: the server's embedded worker (default 1 s interval) expires it."""
    problems = await prepare(page)
    made = await new_intent(shop, expires_in=60)
    txn = made["transaction_id"]
    await set_expiry(ctx, txn, -1)
    got: dict[str, Any] = {}
    for _ in range(120):  # at most a minute: the promise
        got = await fetch(shop, txn)
        if got["status"] != "pending":
            break
        await page.wait_for_timeout(500)
    assert got["status"] == "expired", got
    assert got["status_history"][-1]["actor"] == "worker:expiry"

    await page.goto(made["payment_url"])
    await expect(page.get_by_role("heading", name="Payment link expired")).to_be_visible()
    await expect(page).to_have_title(f"Payment link expired · {shop.name}")
    await assert_no_way_to_pay(page, txn)
    await shot(page, "expired")
    # A forged POST from the old page changes nothing either.
    async with httpx.AsyncClient(base_url=shop.server.url) as raw:
        r = await raw.post(f"/checkout/{txn}/pay", data={"outcome": "succeed"})
    assert r.status_code == 403
    assert (await fetch(shop, txn))["status"] == "expired"
    assert problems == []


async def test_unknown_link_is_a_plain_not_found_page(shop: Shop, page: Page, shot: Shot) -> None:
    await prepare(page)
    response = await page.goto(shop.checkout("txn_0000000000000000"))
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="Payment link not found")).to_be_visible()
    assert await page.get_by_role("button").count() == 0
    await shot(page, "not-found")


async def test_manual_payment_verified_by_an_operator(shop: Shop, page: Page, shot: Shot) -> None:
    problems = await prepare(page)
    provider_txn = "BK" + secrets.token_hex(5).upper()
    made = await new_intent(shop, gateway="manual", amount="25")
    txn = made["transaction_id"]
    await page.goto(made["payment_url"])
    await expect(page.locator(".instructions strong")).to_have_text("bKash")
    await expect(page.get_by_text("Amount to send:")).to_contain_text("$25.00")
    await shot(page, "1-instructions")

    # Nothing filled in: every missing field is named, next to its input.
    await page.get_by_role("button", name=SUBMIT_MANUAL).click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text(f"{SENDER_LABEL} is required.")
    await expect(alert).to_contain_text(f"{PROVIDER_LABEL} is required.")
    await expect(page.get_by_label(SENDER_LABEL)).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label(SENDER_LABEL)).to_have_accessible_description(
        f"{SENDER_LABEL} is required."
    )
    await expect(page.get_by_label(SENDER_LABEL)).to_be_focused()  # the first field to fix
    await expect(page).to_have_title(f"Error: Pay $25.00 · {shop.name}")
    await shot(page, "2-missing-fields")
    assert (await fetch(shop, txn))["status"] == "pending"

    await page.get_by_label(SENDER_LABEL).fill("01711-111111")
    await page.get_by_label(PROVIDER_LABEL).fill(provider_txn.lower())
    await page.get_by_role("button", name=SUBMIT_MANUAL).click()
    await expect(page.get_by_role("heading", name="Verifying your payment")).to_be_visible()
    await assert_no_way_to_pay(page, txn)
    await shot(page, "3-awaiting-verification")
    got = await fetch(shop, txn)
    assert got["status"] == "awaiting_verification"
    assert got["provider_transaction_id"] == provider_txn

    # The operator approves through the API (scope admin); the open page notices by itself.
    async with shop.api() as api:
        r = await api.post(f"/api/v1/payment-intents/{txn}/approve",
                           json={"reason": "seen on the bKash statement"})
    assert r.status_code == 200, r.text
    await page.wait_for_url(lambda url: url.startswith(shop.site), timeout=SETTLE_TIMEOUT_MS)
    assert (await landed_at_shop(page, shop.site))["status"] == ["completed"]
    await shot(page, "4-approved-back-at-shop")
    got = await fetch(shop, txn)
    assert history(got) == ["pending", "awaiting_verification", "completed"]
    assert got["status_history"][-1]["reason"] == "seen on the bKash statement"

    # The same provider transaction id cannot pay for another order of this merchant.
    other = await new_intent(shop, gateway="manual", amount="25")
    await page.goto(other["payment_url"])
    await page.get_by_label(SENDER_LABEL).fill("01722-222222")
    await page.get_by_label(PROVIDER_LABEL).fill(provider_txn)
    await page.get_by_role("button", name=SUBMIT_MANUAL).click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "This transaction ID has already been used for another payment."
    )
    await expect(page.get_by_label(PROVIDER_LABEL)).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label(PROVIDER_LABEL)).to_be_focused()
    await expect(page.get_by_label(SENDER_LABEL)).to_have_value("01722-222222")
    await shot(page, "5-reused-transaction-id")
    assert (await fetch(shop, other["transaction_id"]))["status"] == "pending"

    # Correcting it goes through.
    await page.get_by_label(PROVIDER_LABEL).fill(provider_txn + "X")
    await page.get_by_role("button", name=SUBMIT_MANUAL).click()
    await expect(page.get_by_role("heading", name="Verifying your payment")).to_be_visible()
    await shot(page, "6-corrected")
    assert (await fetch(shop, other["transaction_id"]))["status"] == "awaiting_verification"
    assert problems == []


async def test_phone_viewport_nothing_overflows(
    checkout_server: ServerProcess, shop_site: str, phone_page: Page, shot: Shot
) -> None:
    """Worst realistic content on a 360 px phone: a long one-word brand, the largest amount,
    a 100-character order reference and a description with a long unbroken token."""
    page = phone_page
    problems = await prepare(page)
    brand = "Supercalifragilisticexpialidocious-Wholesale-Distribution-Cooperative-Limited"
    shop = open_shop(checkout_server, shop_site, name=brand, brand=("--primary-color", "#ffcc00"))
    long_order = "INV-" + "7" * 96
    long_text = "Order for https://shop.example/very/long/path/" + "x" * 80 + " and more words."

    made = await new_intent(shop, amount="999999999.99", order_id=long_order,
                            description=long_text, return_url=f"{shop.site}/r")
    await page.goto(made["payment_url"])
    await expect(page.get_by_test_id("amount")).to_have_text("$999,999,999.99")
    await assert_fits(page, "sandbox pay page")
    await assert_readable_primary(page, "Pay $999,999,999.99 (succeed)")
    await shot(page, "1-sandbox-pay")

    await page.get_by_role("button", name="Decline the payment (fail)").click()
    await expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    await assert_fits(page, "failed page")
    await assert_readable_primary(page, "Try again")
    await shot(page, "2-failed")
    await page.get_by_role("button", name="Try again").click()
    await page.get_by_role("button", name="Pay $999,999,999.99 (succeed)").click()
    await landed_at_shop(page, f"{shop.site}/r?")
    await page.goto(made["payment_url"])
    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    await assert_fits(page, "paid page")
    await shot(page, "3-paid")

    manual = await new_intent(shop, gateway="manual", amount="999999999.99", currency="BDT",
                              order_id="REF-" + "8" * 96)
    await page.goto(manual["payment_url"])
    await assert_fits(page, "manual pay page")
    await assert_readable_primary(page, SUBMIT_MANUAL)
    await shot(page, "4-manual-pay")
    await page.get_by_role("button", name=SUBMIT_MANUAL).click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_fits(page, "manual page with errors")
    await shot(page, "5-manual-errors")

    await page.goto(shop.checkout("txn_0000000000000000"))
    await assert_fits(page, "not-found page")
    await shot(page, "6-not-found")
    assert problems == []


async def test_without_javascript_sandbox_pays_end_to_end(
    shop: Shop, browser: Browser, shot: Shot
) -> None:
    context, page = await new_page(
        browser, java_script_enabled=False, viewport={"width": 1024, "height": 800}
    )
    try:
        await prepare(page)
        made = await new_intent(shop, amount="15", return_url=f"{shop.site}/nojs?x=1")
        txn = made["transaction_id"]
        await page.goto(made["payment_url"])
        # No script ran: the countdown is empty but the deadline is still stated.
        await expect(page.locator("#countdown")).to_have_text("")
        await expect(page.locator("#expires")).to_contain_text("UTC")
        await shot(page, "1-pay")

        await page.get_by_role("button", name="Decline the payment (fail)").click()
        await expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
        await shot(page, "2-declined")
        await page.get_by_role("button", name="Try again").click()
        await page.get_by_role("button", name="Pay $15.00 (succeed)").click()
        query = await landed_at_shop(page, f"{shop.site}/nojs?")
        assert query == {"x": ["1"], "transaction_id": [txn], "order_id": query["order_id"],
                         "status": ["completed"]}
        await shot(page, "3-back-at-shop")
        assert (await fetch(shop, txn))["status"] == "completed"

        # Processing without JavaScript: the page offers a refresh instead of polling.
        made = await new_intent(shop)
        await page.goto(made["payment_url"])
        await page.get_by_role("button", name="Leave it processing").click()
        await expect(page.get_by_role("heading", name="Payment processing")).to_be_visible()
        await expect(page.get_by_role("link", name="Refresh status")).to_be_visible()
        await shot(page, "4-processing")

        # The manual form needs no script either, errors included.
        manual = await new_intent(shop, gateway="manual", amount="9.50")
        await page.goto(manual["payment_url"])
        await page.get_by_label(SENDER_LABEL).fill("01744-444444")
        await page.get_by_role("button", name=SUBMIT_MANUAL).click()
        await expect(page.get_by_role("alert")).to_contain_text(f"{PROVIDER_LABEL} is required.")
        await expect(page.get_by_label(SENDER_LABEL)).to_have_value("01744-444444")
        await page.get_by_label(PROVIDER_LABEL).fill("NJ" + secrets.token_hex(5).upper())
        await page.get_by_role("button", name=SUBMIT_MANUAL).click()
        await expect(page.get_by_role("heading", name="Verifying your payment")).to_be_visible()
        await shot(page, "5-manual-submitted")
        got = await fetch(shop, manual["transaction_id"])
        assert got["status"] == "awaiting_verification"
    finally:
        await context.close()


async def test_a_wrong_device_clock_neither_misleads_nor_reloads_in_a_loop(
    shop: Shop, page: Page, shot: Shot
) -> None:
    """A customer whose clock runs two hours fast: the countdown follows the server's clock
    (learnt from the Date header) and the page does not keep reloading itself."""
    problems = await prepare(page)
    made = await new_intent(shop, amount="12")
    await page.clock.set_fixed_time(datetime.now(UTC) + timedelta(hours=2))
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    await page.goto(made["payment_url"])
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^(29|30):\d\d left$"))
    await page.wait_for_timeout(3000)  # long enough for several reloads, were there a loop
    assert loads == [made["payment_url"]]
    await shot(page, "fast-clock")
    await page.get_by_role("button", name="Pay $12.00 (succeed)").click()
    query = await landed_at_shop(page, f"{shop.site}/return?")
    assert query["status"] == ["completed"]
    assert problems == []


async def test_keyboard_order_focus_and_labels(shop: Shop, page: Page, shot: Shot) -> None:
    problems = await prepare(page)
    made = await new_intent(shop, amount="18.25", return_url=f"{shop.site}/kbd")
    await page.goto(made["payment_url"])
    order = await tab_through(page, 5)
    assert order == [
        "link:Skip to content",
        "button:Pay $18.25 (succeed)",
        "button:Decline the payment (fail)",
        "button:Leave it processing",
        f"button:Cancel and return to {shop.name}",
    ]
    # The skip link jumps past the header to the payment.
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    assert await focused(page) == "link:Skip to content"
    await expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()
    await page.keyboard.press("Tab")
    assert await focused(page) == "button:Pay $18.25 (succeed)"
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "keyboard focus must be visible"
    await shot(page, "1-focus-on-pay")
    # Pay with the keyboard alone.
    await page.keyboard.press("Enter")
    query = await landed_at_shop(page, f"{shop.site}/kbd?")
    assert query["status"] == ["completed"]

    # The manual form: every input has a label, the order is top to bottom, Enter submits.
    manual = await new_intent(shop, gateway="manual", amount="7")
    await page.goto(manual["payment_url"])
    inputs = page.locator("main input:not([type=hidden])")
    assert await inputs.count() == 2
    for i in range(await inputs.count()):
        await expect(inputs.nth(i)).to_have_accessible_name(re.compile(r"\S"))
    await expect(page.get_by_role("textbox", name=SENDER_LABEL)).to_have_id("f-sender_account")
    await expect(page.get_by_role("textbox", name=PROVIDER_LABEL)).to_have_id("f-provider_txn_id")
    order = await tab_through(page, 5)
    assert order == [
        "link:Skip to content",
        f"textbox:{SENDER_LABEL}",
        f"textbox:{PROVIDER_LABEL}",
        f"button:{SUBMIT_MANUAL}",
        f"button:Cancel and return to {shop.name}",
    ]
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    assert await focused(page) == f"textbox:{SENDER_LABEL}"
    await page.keyboard.type("01733-333333")
    await page.keyboard.press("Tab")
    await page.keyboard.type("KB" + secrets.token_hex(5).upper())
    await shot(page, "2-manual-filled-by-keyboard")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Verifying your payment")).to_be_visible()
    assert (await fetch(shop, manual["transaction_id"]))["status"] == "awaiting_verification"
    assert problems == []


# ---- test mode, the local expiry, redirect after a refused form -----------------------------

DHAKA = timezone(timedelta(hours=6))  # Asia/Dhaka: UTC+6 all year, no daylight saving
SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}


def local_expiry_text(expires_at: str) -> re.Pattern[str]:
    """What a customer in Dhaka reads: the time, then "today" or the (short) date."""
    at = datetime.fromisoformat(expires_at.replace("Z", "+00:00")).astimezone(DHAKA)
    if at.date() == datetime.now(DHAKA).date():
        return re.compile(rf"^{at:%H:%M} today$")
    return re.compile(rf"^{at:%H:%M}, \w+,? {at.day} {at:%b}$")


@pytest.mark.parametrize("screen", sorted(SCREENS))
async def test_test_badge_local_expiry_and_redirect_after_a_refused_form(
    shop: Shop, browser: Browser, shot: Shot, screen: str
) -> None:
    context, page = await new_page(browser, timezone_id="Asia/Dhaka", locale="en-GB",
                                   **SCREENS[screen])
    try:
        problems = await prepare(page)
        made = await new_intent(shop, gateway="manual", amount="31")
        txn = made["transaction_id"]
        await page.goto(made["payment_url"])
        badge = page.get_by_test_id("test-mode")
        await expect(badge).to_be_visible()
        await expect(badge).to_have_text("TEST Test mode — not a real payment")
        expires = page.get_by_test_id("expires")
        await expect(expires).to_have_attribute("data-local", "true")
        await expect(expires).to_have_text(local_expiry_text(made["expires_at"]))
        utc = made["expires_at"].replace("T", " ").replace("Z", " UTC")
        await expect(expires).to_have_attribute("title", utc)
        # each piece of the expiry stays on one line, on a phone too
        lines = await expires.locator(".nowrap").evaluate_all(
            "els => els.map(e => e.getClientRects().length)")
        assert lines == [1, 1]
        await assert_fits(page, f"manual pay page ({screen})")
        await shot(page, "1-pay")

        # A refused form: the browser ends on the GET page (303), not on …/pay.
        methods: list[str] = []
        page.on("request", lambda r: methods.append(f"{r.method} {urlsplit(r.url).path}")
                if r.resource_type == "document" else None)
        await page.get_by_label(SENDER_LABEL).fill("01755-555555")
        await page.get_by_role("button", name=SUBMIT_MANUAL).click()
        await expect(page.get_by_role("alert")).to_contain_text(f"{PROVIDER_LABEL} is required.")
        assert page.url == shop.checkout(txn)
        assert methods == [f"POST /checkout/{txn}/pay", f"GET /checkout/{txn}"]
        await expect(page.get_by_label(SENDER_LABEL)).to_have_value("01755-555555")
        await expect(page.get_by_label(PROVIDER_LABEL)).to_be_focused()
        await expect(badge).to_be_visible()
        await shot(page, "2-refused")

        # A refresh is a plain GET: nothing is posted again, the form starts clean.
        methods.clear()
        await page.reload()
        assert methods == [f"GET /checkout/{txn}"]
        await expect(page.get_by_role("alert")).to_have_count(0)
        await expect(page.get_by_label(SENDER_LABEL)).to_have_value("")
        await shot(page, "3-refreshed")

        # The CSRF token of the redirected page works.
        await page.get_by_label(SENDER_LABEL).fill("01755-555555")
        await page.get_by_label(PROVIDER_LABEL).fill("PRG" + secrets.token_hex(5).upper())
        await page.get_by_role("button", name=SUBMIT_MANUAL).click()
        await expect(page.get_by_role("heading", name="Verifying your payment")).to_be_visible()
        await expect(badge).to_be_visible()
        await shot(page, "4-verifying")
        got = await fetch(shop, txn)
        assert got["status"] == "awaiting_verification"
        assert history(got) == ["pending", "awaiting_verification"]

        # Rejected by the operator: neutral wording, the reason, still marked TEST.
        async with shop.api() as api:
            r = await api.post(f"/api/v1/payment-intents/{txn}/reject",
                               json={"reason": "No transfer from 01755-555555 arrived."})
        assert r.status_code == 200, r.text
        await expect(page.get_by_role("heading", name="Payment failed")).to_be_visible(
            timeout=SETTLE_TIMEOUT_MS)
        await expect(page.get_by_test_id("outcome-reason")).to_have_text(
            f"Reason given by {shop.name}: No transfer from 01755-555555 arrived.")
        await expect(page.get_by_test_id("outcome-money")).to_contain_text(
            "If you have already sent the money, please contact")
        await expect(page.get_by_text("No money was taken")).to_have_count(0)
        await expect(badge).to_be_visible()
        await assert_fits(page, f"rejected page ({screen})")
        await shot(page, "5-rejected")
        assert problems == []
    finally:
        await context.close()
