"""The browser harness itself: Chromium starts, renders our checkout, and the shop stub works."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ServerProcess, intent_body, ownpay_cli


async def test_checkout_renders_in_chromium(live_server: ServerProcess, page: Any, shot: Any) -> None:
    made = ownpay_cli(live_server.env, "init", "--json")
    assert made.returncode == 0, made.stderr
    key = ownpay_cli(live_server.env, "api-keys", "create", "--merchant", "demo", "--mode", "test",
                     "--json")
    api_key = httpx.Response(200, content=key.stdout).json()["api_key"]
    r = httpx.post(f"{live_server.url}/api/v1/payment-intents", json=intent_body(),
                   headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 201, r.text
    await page.goto(r.json()["payment_url"])
    assert await page.get_by_role("heading", name="Payment received").count() == 0
    await shot(page, "checkout")
    await page.goto("https://shop.example/return?x=1")
    assert "Back at the shop" in await page.content()
