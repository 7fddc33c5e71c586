"""Paying by card in Chromium on the real checkout page of a real server process.

The merchant's Stripe account points ``api_base`` and ``js_url`` at localstripe (see
``tests/simulators/stripe.py``): the page loads the stand-in's Stripe.js mock under our strict
CSP, the customer types a test card, Stripe.js confirms, and the server verifies with the
stand-in before sending the customer back to the shop.

The shop is a small HTTP server on loopback, not a Playwright route: Playwright does not
route the follow-up request of a redirect (our 303 to ``return_url``).
"""

from __future__ import annotations

from typing import Any

import httpx

from ownpay.context import AppContext
from tests.support.factories import intent_body
from tests.support.processes import ServerProcess
from tests.support.stripe import CARD_3DS, CARD_DECLINED, CARD_OK, StandIn, history, stripe_merchant


async def _payment_url(
    ctx: AppContext, server: ServerProcess, stand: StandIn, shop: str, **body: Any
) -> tuple[str, str]:
    merchant = await stripe_merchant(ctx, stand, name="Nordic Goods", primary_color="#0f766e")
    async with httpx.AsyncClient() as c:
        r = await c.post(
            f"{server.url}/api/v1/payment-intents",
            headers=merchant.auth(),
            json=intent_body(gateway="stripe", return_url=f"{shop}/return", **body),
        )
    assert r.status_code == 201, r.text
    return r.json()["payment_url"], r.json()["transaction_id"]


async def _type_card(page: Any, number: str) -> None:
    # The stand-in's card Element is plain inputs; real Stripe.js draws an iframe instead.
    await page.get_by_placeholder("number").fill(number)
    await page.get_by_placeholder("exp_month").fill("12")
    await page.get_by_placeholder("exp_year").fill("34")
    await page.get_by_placeholder("cvc").fill("123")
    await page.get_by_placeholder("postal_code").fill("10115")


async def test_pay_by_card_lands_on_return_url_completed(
    ctx: AppContext,
    live_server: ServerProcess,
    standin: StandIn,
    page: Any,
    shot: Any,
    shop_site: str,
) -> None:
    url, txn = await _payment_url(
        ctx, live_server, standin, shop_site, amount=42.5, currency="EUR",
        description="Wool blanket",
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(url)
    await page.get_by_role("button", name="Pay €42.50").wait_for()
    assert await page.get_by_label("Card details").count() == 1
    await _type_card(page, CARD_OK)
    await shot(page, "card-entered")
    await page.get_by_role("button", name="Pay €42.50").click()
    await page.wait_for_url(f"{shop_site}/return?**")
    assert "status=completed" in page.url and f"transaction_id={txn}" in page.url
    assert await history(ctx, txn) == [("pending", "completed", "gateway:stripe")]
    assert not [e for e in errors if "Content Security Policy" in e], errors
    await shot(page, "back-at-shop")


async def test_decline_then_another_card(
    ctx: AppContext,
    live_server: ServerProcess,
    standin: StandIn,
    page: Any,
    shot: Any,
    shop_site: str,
) -> None:
    url, txn = await _payment_url(
        ctx, live_server, standin, shop_site, amount=99.99, currency="USD"
    )
    await page.goto(url)
    pay = page.get_by_role("button", name="Pay $99.99")
    await pay.wait_for()
    await _type_card(page, CARD_DECLINED)
    await pay.click()
    alert = page.locator("#card-errors")
    await alert.filter(has_text="Your card was declined.").wait_for()
    assert await alert.get_attribute("role") == "alert"
    assert await pay.is_enabled()
    await shot(page, "declined")
    assert await history(ctx, txn) == []

    await _type_card(page, CARD_OK)
    await pay.click()
    await page.wait_for_url(f"{shop_site}/return?**")
    assert "status=completed" in page.url


async def test_three_d_secure_challenge(
    ctx: AppContext,
    live_server: ServerProcess,
    standin: StandIn,
    phone_page: Any,
    shot: Any,
    shop_site: str,
) -> None:
    url, txn = await _payment_url(
        ctx, live_server, standin, shop_site, amount=1500, currency="JPY"
    )
    page = phone_page
    await page.goto(url)
    pay = page.get_by_role("button", name="Pay ¥1,500")
    await pay.wait_for()
    await _type_card(page, CARD_3DS)
    await pay.click()
    challenge = page.get_by_role("button", name="Complete authentication")
    await challenge.wait_for()
    await shot(page, "3ds-challenge")
    await challenge.click()
    await page.wait_for_url(f"{shop_site}/return?**")
    assert "status=completed" in page.url
    assert await history(ctx, txn) == [("pending", "completed", "gateway:stripe")]
