"""``/docs`` in a real browser: Swagger UI (vendored assets, nothing from a CDN) renders the
whole document without errors, and *Authorize* with an API key makes "Try it out" work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ownpay.context import AppContext
from tests.support.factories import create_merchant
from tests.support.processes import ServerProcess


async def test_swagger_ui_renders_and_authorize_works(
    page: Any, live_server: ServerProcess, ctx: AppContext,
    shot: Callable[[Any, str], Awaitable[Path]],
) -> None:
    merchant = await create_merchant(ctx)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    await page.goto(f"{live_server.url}/docs")
    await page.locator(".swagger-ui .info .title", has_text="OwnPay API").wait_for()
    operations = page.locator(".opblock")
    await operations.first.wait_for()
    assert await operations.count() >= 25  # every API operation, plus the events we send
    assert await page.locator(".swagger-ui .errors-wrapper").count() == 0  # no parse errors

    await page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    await dialog.get_by_text("ApiKey").first.wait_for()
    assert await dialog.get_by_text("http, Bearer").count() >= 1
    await dialog.locator("input").first.fill(merchant.test_key)
    # Our Bearer scheme comes first; the facades' key-header schemes follow (compat/).
    await dialog.locator("button.modal-btn.authorize").first.click()
    await dialog.locator("button.modal-btn.btn-done").first.click()

    balances = page.locator("#operations-Ledger-ledger_balances_api_v1_ledger_balances_get")
    await balances.locator(".opblock-summary").click()
    await balances.locator("button.try-out__btn").click()
    await balances.locator("button.execute").click()
    status = balances.locator(".live-responses-table tr.response .response-col_status").first
    await status.wait_for()
    assert (await status.inner_text()).strip() == "200"  # without the key it would be 401
    await shot(page, "docs-authorized")

    outside = [url for url in requested
               if not url.startswith((live_server.url, "data:", "blob:"))]
    assert outside == [], f"/docs fetched from elsewhere: {outside}"
