"""The brand's public URLs use its primary verified domain: ``payment_url`` when created
and when read, payment links' ``url``, a link page's redirect to the checkout, and the
gateway context's root (provider return and webhook addresses); a suspended or removed
primary falls back to the installation's base URL."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from ownpay.domains import service
from ownpay.merchants.accounts import find_active_gateway
from ownpay.tenancy import TenantScope
from tests.support.dns import Zone
from tests.support.factories import create_merchant, intent_body

pytestmark = pytest.mark.api
CUSTOMER = {"customer_name": "Rahim Uddin", "customer_email": "rahim@example.com"}


async def test_payment_and_link_urls_follow_the_primary_domain(
        client: httpx.AsyncClient, ctx: Any, zone: Zone) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        row = await service.add_domain(s, shop.id, f"pay-{shop.id}.urls.example",
                                       settings=ctx.settings)
    zone.prove(row.domain, row.token)
    await service.verify(ctx, shop.id, row.id)
    before = await client.post("/api/v1/payment-intents", json=intent_body(),
                               headers=shop.auth())
    assert before.json()["payment_url"].startswith(ctx.settings.base_url + "/checkout/")
    primary = await client.post(f"/api/v1/domains/{row.id}/primary", headers=shop.auth())
    assert primary.status_code == 200
    root = f"https://{row.domain}"

    made = await client.post("/api/v1/payment-intents", json=intent_body(),
                             headers=shop.auth())
    txn = made.json()["transaction_id"]
    assert made.json()["payment_url"] == f"{root}/checkout/{txn}"
    read = await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())
    assert read.json()["payment_url"] == f"{root}/checkout/{txn}"
    theirs = await client.post("/api/v1/payment-intents", json=intent_body(),
                               headers=other.auth())
    assert theirs.json()["payment_url"].startswith(ctx.settings.base_url + "/checkout/")

    link = await client.post("/api/v1/payment-links", headers=shop.auth(), json={
        "title": "Gift", "currency": "USD", "amount": "5.00"})
    assert link.json()["url"] == f"{root}/pay/{link.json()['slug']}"
    page = await client.get(f"/pay/{link.json()['slug']}", headers={"host": row.domain})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    submission = re.search(r'name="submission" value="([^"]+)"', page.text)
    assert token and submission, page.text
    paid = await client.post(f"/pay/{link.json()['slug']}", headers={"host": row.domain},
                             data={"csrf_token": token.group(1),
                                   "submission": submission.group(1), "gateway": "sandbox",
                                   **CUSTOMER})
    assert paid.status_code == 303, paid.text
    # The customer continues on the host it is on (here the brand's domain): a path, since an
    # answer to a form that redirected to another origin breaks the CSP's form-action.
    assert paid.headers["location"].startswith("/checkout/txn_")
    account = await find_active_gateway_in(ctx, shop.id)
    assert account == root

    zone.clear(row.domain)
    for _ in range(service.SUSPEND_AFTER):
        await service.verify(ctx, shop.id, row.id)
    after = await client.post("/api/v1/payment-intents", json=intent_body(),
                              headers=shop.auth())
    assert after.json()["payment_url"].startswith(ctx.settings.base_url + "/checkout/")
    assert await find_active_gateway_in(ctx, shop.id) is None


async def find_active_gateway_in(ctx: Any, merchant_id: int) -> str | None:
    async with ctx.sessions() as s:
        account = await find_active_gateway(s, TenantScope(merchant_id, "test"), "sandbox")
    assert account is not None
    return account.merchant_base_url
