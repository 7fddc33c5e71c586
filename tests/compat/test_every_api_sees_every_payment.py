"""One brand, one payment created through each API we speak (ours, OwnPay's merchant API,
UddoktaPay's and PipraPay's), all paid on the sandbox: every API reads every one of them by
its id, the transaction list and the CLI export hold all four, and another brand sees none."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets

import httpx
import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.payments.models import PaymentIntent
from tests.compat.facades import PIPRAPAY, UDDOKTAPAY, checkout_body, key, pay_sandbox, switch
from tests.support.checkout import new_intent
from tests.support.commands import app_env, in_process
from tests.support.factories import MerchantKeys, create_merchant

pytestmark = pytest.mark.api


async def made_through_each_api(client: httpx.AsyncClient, ctx: AppContext,
                                shop: MerchantKeys) -> dict[str, tuple[str, str]]:
    """API name → (transaction id, UUID) of a paid payment it created."""
    await switch(ctx, shop, "uddoktapay")
    await switch(ctx, shop, "piprapay")
    urls: dict[str, str] = {}
    ours = await new_intent(client, shop, amount=100, currency="BDT")
    urls["ours"] = f"/checkout/{ours}"
    r = await client.post("/api/v1/payments", headers=shop.auth(), json={
        "amount": "100.00", "currency": "BDT", "reference": f"INV-{secrets.token_hex(3)}",
        "redirect_url": "https://shop.example/done"})
    assert r.status_code == 201, r.text
    urls["ownpay"] = r.json()["data"]["checkout_url"]
    r = await client.post("/api/checkout-v2", json=checkout_body(amount="100"),
                          headers=key(shop, UDDOKTAPAY))
    assert r.status_code == 200, r.text
    urls["uddoktapay"] = r.json()["payment_url"]
    r = await client.post("/api/create-charge", headers=key(shop, PIPRAPAY), json={
        "full_name": "Nusrat Jahan", "email_mobile": "nusrat@example.com", "amount": "100",
        "metadata": {}, "redirect_url": "https://shop.example/done",
        "cancel_url": "https://shop.example", "return_type": "GET", "currency": "BDT",
        "webhook_url": "https://shop.example/hook"})
    assert r.status_code == 200, r.text
    urls["piprapay"] = r.json()["pp_url"]
    for url in urls.values():
        assert (await pay_sandbox(client, url)).status_code == 303
    async with ctx.sessions() as s:
        rows = list(await s.scalars(select(PaymentIntent).where(
            PaymentIntent.merchant_id == shop.id)))
    assert len(rows) == 4 and {p.status for p in rows} == {"completed"}
    by_api = {p.api or "ours": (p.id, p.public_id) for p in rows}
    assert set(by_api) == {"ours", "ownpay", "uddoktapay", "piprapay"}, by_api
    return by_api


async def test_every_api_reads_every_payment_and_the_cli_lists_them(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    made = await made_through_each_api(client, ctx, merchant)
    other = await create_merchant(ctx)
    await switch(ctx, other, "uddoktapay")
    await switch(ctx, other, "piprapay")
    txns = {txn for txn, _ in made.values()}
    for api, (txn, uuid) in made.items():
        r = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
        assert r.status_code == 200 and r.json()["status"] == "completed", (api, r.text)
        r = await client.post("/api/verify-payment", json={"invoice_id": uuid},
                              headers=key(merchant, UDDOKTAPAY))
        assert r.status_code == 200 and r.json()["status"] == "COMPLETED", (api, r.text)
        r = await client.post("/api/verify-payments", json={"pp_id": uuid},
                              headers=key(merchant, PIPRAPAY))
        assert r.status_code == 200 and r.json()["status"] == "completed", (api, r.text)
        r = await client.get(f"/api/v1/payments/{uuid}", headers=merchant.auth())
        assert r.status_code == 200 and r.json()["data"]["trx_id"] == txn, (api, r.text)
        assert r.json()["data"]["status"] == "completed"
        # Another brand's keys find none of them, through any API.
        assert (await client.get(f"/api/v1/payment-intents/{txn}",
                                 headers=other.auth())).status_code == 404
        assert (await client.get(f"/api/v1/payments/{uuid}",
                                 headers=other.auth())).status_code == 404
        assert (await client.post("/api/verify-payment", json={"invoice_id": uuid},
                                  headers=key(other, UDDOKTAPAY))).status_code == 404
        assert (await client.post("/api/verify-payments", json={"pp_id": uuid},
                                  headers=key(other, PIPRAPAY))).status_code == 400
    listed = (await client.get("/api/v1/transactions", headers=merchant.auth(),
                               params={"limit": 10})).json()
    assert {t["transaction_id"] for t in listed["data"]} == txns
    exported = await asyncio.to_thread(in_process, app_env(ctx), "transactions", "export",
                                       "--merchant", merchant.slug, "--mode", "test")
    assert exported.exit_code == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {row["transaction_id"] for row in rows} == txns
    assert {row["status"] for row in rows} == {"completed"}
