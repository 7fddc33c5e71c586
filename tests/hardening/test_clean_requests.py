"""Finding 5 of issue 16: NUL characters and lone surrogates anywhere in a request are a
clear 400 in the surface's envelope -- never a 500, and nothing is stored."""

from __future__ import annotations

import re

import pytest

from tests.support.factories import MerchantKeys, intent_body

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
BAD = ["%00", "%ED%A0%80", "%FF", "a%00b"]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("path", [
    "/api/v1/payment-intents/txn_{bad}",
    "/api/v1/refunds/rf_{bad}",
    "/api/v1/transactions?status={bad}",
    "/api/v1/refunds?transaction_id={bad}",
    "/api/v1/webhooks/deliveries?event_type={bad}",
    "/api/v1/transactions?order_id={bad}",
])
async def test_api_urls_with_nul_or_invalid_utf8_are_400(client, merchant: MerchantKeys,
                                                          path: str, bad: str) -> None:
    r = await client.get(path.format(bad=bad), headers=merchant.auth())
    assert r.status_code == 400, r.text
    assert r.json() == {"error": True, "message": "Validation failed.",
                        "code": "VALIDATION_ERROR", "errors": {"request": [
                            "The URL contains a NUL character or invalid UTF-8."]}}


@pytest.mark.parametrize("bad", BAD)
async def test_provider_webhook_paths_are_400_too(client, bad: str) -> None:
    r = await client.post(f"/gateways/stripe/webhooks/shop{bad}/test", content=b"{}")
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("bad", BAD)
async def test_checkout_paths_are_400_not_500(client, bad: str) -> None:
    r = await client.get(f"/checkout/txn_{bad}")
    assert r.status_code == 400
    assert r.text == "The URL contains a NUL character or invalid UTF-8."


@pytest.mark.parametrize("value", ["01700\x00000000", "T\udc80X"])
async def test_checkout_forms_with_nul_or_surrogates_store_nothing(
    client, merchant: MerchantKeys, value: str
) -> None:
    r = await client.post("/api/v1/payment-intents", json=intent_body(gateway="manual"),
                          headers=merchant.auth())
    txn = r.json()["transaction_id"]
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    assert token is not None
    body = f"csrf_token={token.group(1)}&provider_txn_id=TX1&sender_account=".encode() + \
        value.encode("utf-8", "surrogatepass").replace(b"\x00", b"%00")
    sent = await client.post(f"/checkout/{txn}/pay", content=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert sent.status_code == 400
    assert "characters that cannot be accepted" in sent.text
    got = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert got.json()["status"] == "pending" and got.json()["provider_transaction_id"] is None


async def test_clean_urls_still_work(client, merchant: MerchantKeys) -> None:
    r = await client.get("/api/v1/transactions?order_id=%C3%A4-ok", headers=merchant.auth())
    assert r.status_code == 200
