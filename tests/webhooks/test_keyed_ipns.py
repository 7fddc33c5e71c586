"""IPNs of the UddoktaPay and PipraPay facades: a payment's ``webhook_url`` gets that API's
verify body, POSTed through the same outbox, delivery, SSRF guard and retries as every
webhook, with the key that created the payment in ``RT-UDDOKTAPAY-API-KEY`` /
``mh-piprapay-api-key`` (their clients compare it with their configured key) and no other
signature; only that payment's events; the key is stored sealed, never in plaintext."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.compat.facades import PIPRAPAY, UDDOKTAPAY, checkout_body, key, pay_sandbox, switch
from tests.support.factories import MerchantKeys
from tests.support.receivers import Receiver
from tests.support.webhooks import pump


async def _uddoktapay(client: httpx.AsyncClient, shop: MerchantKeys, webhook: str,
                      **extra: Any) -> str:
    r = await client.post("/api/checkout-v2", headers=key(shop, UDDOKTAPAY),
                          json=checkout_body(webhook_url=webhook, **extra))
    assert r.status_code == 200, r.text
    url: str = r.json()["payment_url"]
    return url


async def test_uddoktapay_ipn_carries_the_verify_body_and_the_key(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    await switch(wctx, shop, "uddoktapay")
    url = await _uddoktapay(wclient, shop, receiver.set("/ipn.php"))
    other = await _uddoktapay(wclient, shop, receiver.set("/other.php"))
    r = await pay_sandbox(wclient, url)
    assert r.status_code == 303
    await pump(wctx)
    assert receiver.received("/other.php") == []  # only its own payment's events
    [got] = receiver.received("/ipn.php")
    assert got.headers["rt-uddoktapay-api-key"] == shop.test_key
    assert got.headers["content-type"] == "application/json"
    assert not any(h.startswith(("webhook-", "x-ownpay-signature", "x-signature"))
                   for h in got.headers)
    body = json.loads(got.body)
    assert body["status"] == "COMPLETED" and body["amount"] == "100.00"
    verified = await wclient.post("/api/verify-payment", headers=key(shop, UDDOKTAPAY),
                                  json={"invoice_id": body["invoice_id"]})
    assert verified.json() == body  # what the receiver re-checks is what it was told
    assert other != url
    # The key is sealed in the endpoint and nowhere in plaintext.
    async with wctx.sessions() as s:
        endpoints = list(await s.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.merchant_id == shop.id)))
        bodies = list(await s.scalars(select(WebhookDelivery.body).where(
            WebhookDelivery.merchant_id == shop.id)))
    assert {e.scheme for e in endpoints} == {"uddoktapay"}
    for endpoint in endpoints:
        assert shop.test_key.encode() not in endpoint.secret_enc
    assert all(shop.test_key.encode() not in b for b in bodies)


async def test_piprapay_webhook_and_a_failed_payment(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    await switch(wctx, shop, "piprapay")
    made = []
    for path in ("/paid", "/failed"):
        r = await wclient.post("/api/create-charge", headers=key(shop, PIPRAPAY), json={
            "full_name": "N", "email_mobile": "n@example.com", "amount": "20",
            "metadata": {"invoiceid": 9}, "redirect_url": "https://billing.example/r",
            "cancel_url": "https://billing.example/c", "webhook_url": receiver.set(path),
            "return_type": "GET", "currency": "BDT"})
        assert r.status_code == 200, r.text
        made.append(r.json())
    await pay_sandbox(wclient, made[0]["pp_url"])
    await pay_sandbox(wclient, made[1]["pp_url"], outcome="fail")
    await pump(wctx)
    [paid] = receiver.received("/paid")
    [failed] = receiver.received("/failed")
    assert paid.headers["mh-piprapay-api-key"] == shop.test_key
    assert json.loads(paid.body)["status"] == "completed"
    assert json.loads(paid.body)["pp_id"] == made[0]["pp_id"]
    assert json.loads(failed.body)["status"] == "failed"
