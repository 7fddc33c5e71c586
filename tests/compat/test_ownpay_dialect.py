"""The routes OwnPay's merchant API shares with ours (``/api/v1/transactions``,
``/api/v1/refunds``), answered in its shapes to a key made with ``--dialect ownpay`` — and
in ours to every other key.  The WHMCS module refunds with ``{"trx_id", "amount"}`` and
accepts only 201 with ``success``; the Node SDK lists with ``page``/``per_page`` and reads
``meta``."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from tests.support.checkout import CSRF
from tests.support.factories import MerchantKeys, create_merchant

pytestmark = pytest.mark.api


async def dialect_key(ctx: AppContext, shop: MerchantKeys) -> dict[str, str]:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, shop.slug)
        key = await merchants.create_api_key(s, merchant=m, mode="test", dialect="ownpay")
    return {"Authorization": f"Bearer {key.api_key}"}


async def paid(client: httpx.AsyncClient, key: dict[str, str]) -> dict[str, Any]:
    r = await client.post("/api/v1/payments", headers=key, json={
        "amount": "150.00", "currency": "USD", "gateway": "sandbox",
        "reference": f"INV-{secrets.token_hex(3)}", "redirect_url": "https://b.example/r"})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()["data"]
    path = urlsplit(made["checkout_url"]).path
    token = CSRF.search((await client.get(path)).text)
    assert token
    r = await client.post(f"{path}/pay", data={"csrf_token": token.group(1),
                                               "outcome": "succeed"})
    assert r.status_code == 303
    return made


async def test_a_whmcs_refund_answers_201_with_success_and_data(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    key = await dialect_key(ctx, merchant)
    made = await paid(client, key)
    r = await client.post("/api/v1/refunds", headers=key, json={
        "trx_id": made["token"], "amount": "50.00", "reason": "Customer request"})
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["success"] is True
    refund = answer["data"]
    assert refund["trx_id"] == refund["transaction_id"] == made["token"]
    assert refund["uuid"].startswith("rf_") and refund["amount"] == "50.00"
    assert refund["status"] == "completed" and refund["reason"] == "Customer request"
    # The same payment, as the payment-intents API sees it now.
    intent = (await client.get(f"/api/v1/payment-intents/{made['token']}",
                               headers=merchant.auth())).json()
    assert intent["status"] == "partially_refunded"
    # Read back: by transaction (the SDK's refunds.get) and listed with page metadata.
    one = (await client.get(f"/api/v1/refunds/{made['token']}", headers=key)).json()
    assert one == {"success": True, "data": refund}
    listed = (await client.get("/api/v1/refunds", headers=key,
                               params={"trx_id": made["token"], "page": 1})).json()
    assert listed["data"] == [refund]
    assert listed["meta"] == {"page": 1, "per_page": 25, "total": 1, "total_pages": 1}
    # Every other key keeps our API: trx_id is not one of our fields.
    ours = await client.post("/api/v1/refunds", headers=merchant.auth(), json={
        "trx_id": made["token"], "amount": "1.00"})
    assert ours.status_code == 400 and ours.json()["code"] == "VALIDATION_ERROR"
    ours_list = (await client.get("/api/v1/refunds", headers=merchant.auth(),
                                  params={"transaction_id": made["token"]})).json()
    assert "success" not in ours_list and ours_list["data"][0]["id"] == refund["id"]


async def test_refund_refusals_change_nothing_and_use_that_envelope(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    key = await dialect_key(ctx, merchant)
    made = await paid(client, key)
    r = await client.post("/api/v1/refunds", headers=key,
                          json={"trx_id": made["token"], "amount": "151.00"})
    assert r.status_code == 422 and r.json()["success"] is False, r.text
    assert r.json()["errors"][0]["field"] == "amount"
    stranger = await dialect_key(ctx, await create_merchant(ctx))
    r = await client.post("/api/v1/refunds", headers=stranger,
                          json={"trx_id": made["token"], "amount": "1.00"})
    assert r.status_code == 404 and r.json()["success"] is False
    listed = (await client.get("/api/v1/refunds", headers=key,
                               params={"trx_id": made["token"]})).json()
    assert listed["meta"]["total"] == 0


async def test_a_refund_replays_with_its_idempotency_key(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    key = await dialect_key(ctx, merchant)
    made = await paid(client, key)
    headers = {**key, "Idempotency-Key": f"rf-{secrets.token_hex(4)}"}
    body = {"transaction_id": made["token"], "amount": "10.00"}
    first = await client.post("/api/v1/refunds", headers=headers, json=body)
    again = await client.post("/api/v1/refunds", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    listed = (await client.get("/api/v1/refunds", headers=key,
                               params={"trx_id": made["token"]})).json()
    assert listed["meta"]["total"] == 1


async def test_transactions_by_page_and_one_by_id(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await create_merchant(ctx)
    key = await dialect_key(ctx, shop)
    made = [await paid(client, key) for _ in range(3)]
    first = (await client.get("/api/v1/transactions", headers=key,
                              params={"per_page": 2, "status": "completed"})).json()
    assert first["success"] is True
    assert first["meta"] == {"page": 1, "per_page": 2, "total": 3, "total_pages": 2}
    second = (await client.get("/api/v1/transactions", headers=key,
                               params={"per_page": 2, "page": 2})).json()
    seen = [t["trx_id"] for t in first["data"] + second["data"]]
    assert sorted(seen) == sorted(m["token"] for m in made)  # newest first, each once
    one = (await client.get(f"/api/v1/transactions/{made[0]['token']}", headers=key)).json()
    assert one["data"]["trx_id"] == made[0]["token"] and one["data"]["amount"] == "150.00"
    assert one["data"]["payment_id"] == made[0]["payment_id"]
    stranger = await dialect_key(ctx, await create_merchant(ctx))
    r = await client.get(f"/api/v1/transactions/{made[0]['token']}", headers=stranger)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "TRANSACTION_NOT_FOUND"
    bad = await client.get("/api/v1/transactions", headers=key, params={"per_page": 101})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "per_page"
    for page in ("0", str(10**30), "-1", "x"):
        bad = await client.get("/api/v1/refunds", headers=key, params={"page": page})
        assert bad.status_code == 422 and bad.json()["success"] is False, (page, bad.text)
    bad = await client.get("/api/v1/transactions", headers=key, params={"from": "yesterday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"
    # Our own keys get our transactions API on the same path.
    ours = (await client.get("/api/v1/transactions", headers=shop.auth())).json()
    assert "success" not in ours and "meta" not in ours


async def test_webhook_test_deliveries_and_health_in_its_shapes(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await create_merchant(ctx)
    key = await dialect_key(ctx, shop)
    r = await client.post("/api/v1/webhooks/tests", headers=key)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "WEBHOOK_NOT_CONFIGURED"
    r = await client.post("/api/v1/webhook-endpoints", headers=shop.auth(), json={
        "url": "http://127.0.0.1:9/hooks", "scheme": "ownpay-legacy"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/webhooks/tests", headers=key)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"status_code", "response_time_ms"} and data["status_code"] is None
    r = await client.get("/api/v1/webhooks/deliveries", headers=key)
    assert r.status_code == 200 and r.json() == {"success": True, "data": []}
    health = (await client.get("/api/v1/health", headers=key)).json()
    assert health["success"] is True and health["data"]["status"] == "healthy"
    assert health["data"]["db"] == "connected" and health["data"]["gateways"] == 2
    assert "success" not in (await client.get("/api/v1/health")).json()


async def test_the_sdks_customers_and_api_key_calls_answer_404_in_its_envelope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await create_merchant(ctx)
    key = await dialect_key(ctx, shop)
    calls = [("GET", "/api/v1/customers", "CUSTOMERS_NOT_AVAILABLE"),
             ("POST", "/api/v1/customers", "CUSTOMERS_NOT_AVAILABLE"),
             ("GET", "/api/v1/customers/cus_1", "CUSTOMERS_NOT_AVAILABLE"),
             ("PATCH", "/api/v1/customers/cus_1", "CUSTOMERS_NOT_AVAILABLE"),
             ("GET", "/api/v1/api-keys", "API_KEYS_NOT_AVAILABLE"),
             ("DELETE", "/api/v1/api-keys/7", "API_KEYS_NOT_AVAILABLE")]
    for method, path, code in calls:
        r = await client.request(method, path, headers=key,
                                 json={"name": "A"} if method in ("POST", "PATCH") else None)
        assert r.status_code == 404, (method, path, r.text)
        body = r.json()
        assert body["success"] is False and body["errors"][0]["code"] == code
        assert body["error"] == body["errors"][0]["message"] and body["request_id"]
    # Our keys are not routed there.
    r = await client.get("/api/v1/api-keys", headers=shop.auth())
    assert r.status_code == 404 and "success" not in r.json()
