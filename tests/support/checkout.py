"""What a customer and a merchant's server do over HTTP: create an intent, pay on the hosted
checkout (sandbox outcomes, or a manual transfer approved through the API), read the
payment and refund it through the API."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from tests.support.factories import MerchantKeys, intent_body

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def new_intent(client: httpx.AsyncClient, merchant: MerchantKeys, *, mode: str = "test",
                     **overrides: Any) -> str:
    r = await client.post("/api/v1/payment-intents", json=intent_body(**overrides),
                          headers=merchant.auth(mode))
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def checkout(client: httpx.AsyncClient, txn: str, **form: str) -> httpx.Response:
    """Open the checkout page and submit its form with ``form``."""
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    assert token, page.text[:500]
    return await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1), **form})


async def refused(client: httpx.AsyncClient, response: httpx.Response,
                  txn: str) -> httpx.Response:
    """A refused checkout form: redirected (303) to the payment's page, which shows why."""
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == f"/checkout/{txn}"
    page = await client.get(response.headers["location"])
    assert page.status_code == 200, page.text[:500]
    return page


async def paid(client: httpx.AsyncClient, merchant: MerchantKeys, amount: str = "99.99",
               *, gateway: str = "sandbox", mode: str = "test", **overrides: Any) -> str:
    """A payment completed through the hosted checkout (manual: submitted, then approved)."""
    txn = await new_intent(client, merchant, gateway=gateway, amount=amount, mode=mode,
                           **overrides)
    if gateway == "manual":
        r = await checkout(client, txn, sender_account="01700000000",
                           provider_txn_id="T" + secrets.token_hex(6))
        assert r.status_code == 303, r.text
        r = await client.post(f"/api/v1/payment-intents/{txn}/approve",
                              headers=merchant.auth(mode))
        assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    else:
        r = await checkout(client, txn, outcome="succeed")
        assert r.status_code == 303, r.text
        assert (await payment(client, merchant, txn, mode=mode))["status"] == "completed"
    return txn


async def failed_payment(client: httpx.AsyncClient, merchant: MerchantKeys) -> str:
    txn = await new_intent(client, merchant)
    await checkout(client, txn, outcome="fail")
    return txn


async def payment(client: httpx.AsyncClient, merchant: MerchantKeys, txn: str,
                  *, mode: str = "test") -> dict[str, Any]:
    r = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth(mode))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def refund(client: httpx.AsyncClient, merchant: MerchantKeys, txn: str,
                 amount: Any = None, *, mode: str = "test", key: str | None = None,
                 **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"transaction_id": txn, **extra}
    if amount is not None:
        body["amount"] = amount
    headers = merchant.auth(mode)
    if key:
        headers["Idempotency-Key"] = key
    return await client.post("/api/v1/refunds", json=body, headers=headers)
