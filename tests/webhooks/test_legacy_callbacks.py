"""Webhooks in the scheme of OwnPay's merchant-API clients (``ownpay-legacy``): a payment's
own ``callback_url`` receives that payment's events only, as the flat body those clients
parse, with ``X-OwnPay-Signature`` = hex HMAC-SHA256 of the raw body under the brand's
callback secret (no prefix, no timestamp in the MAC), never ``X-Signature`` or
``X-OP-Signature`` (the WHMCS module and WooCommerce plugin read those first); a merchant
endpoint can be switched to the same scheme.  Against a loopback receiver, in process."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.tenancy import TenantScope
from ownpay.webhooks import callbacks, verify_signature
from tests.support.checkout import CSRF
from tests.support.factories import MerchantKeys
from tests.support.receivers import Receiver
from tests.support.webhooks import add_endpoint, pump

LEGACY_FIELDS = {"event", "payment_id", "transaction_id", "trx_id", "gateway_trx_id",
                 "reference", "amount", "currency", "fee", "gateway", "status", "customer",
                 "metadata", "timestamp"}


def legacy_mac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def callback_secret(ctx: AppContext, shop: MerchantKeys, *, rotate: bool = False) -> str:
    async with ctx.sessions() as s, s.begin():
        return await callbacks.secret(s, ctx.keyring, TenantScope(shop.id, "test"),
                                      rotate=rotate)


async def new_payment(client: httpx.AsyncClient, shop: MerchantKeys, callback: str,
                      **extra: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/payments", headers=shop.auth(), json={
        "amount": "150.00", "currency": "USD", "gateway": "sandbox", "reference": "INV-7",
        "callback_url": callback, "customer_name": "Anwar Hossain — ঢাকা",
        "customer_email": "anwar@example.com", "customer_phone": "+8801700000000",
        "metadata": {"whmcs_invoice_id": "7"}, **extra})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


async def pay(client: httpx.AsyncClient, checkout_url: str, outcome: str = "succeed") -> None:
    path = urlsplit(checkout_url).path
    token = CSRF.search((await client.get(path)).text)
    assert token
    r = await client.post(f"{path}/pay", data={"csrf_token": token.group(1),
                                               "outcome": outcome})
    assert r.status_code == 303, r.text


async def test_a_payments_callback_gets_the_flat_body_signed_the_legacy_way(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    secret = await callback_secret(wctx, shop)
    made = await new_payment(wclient, shop, receiver.set("/whmcs/callback.php"))
    other = await new_payment(wclient, shop, receiver.set("/other.php"), reference="INV-8")
    await pay(wclient, made["checkout_url"])
    await pump(wctx)

    [got] = receiver.received("/whmcs/callback.php")
    assert receiver.received("/other.php") == []  # only its own payment's events
    h = got.headers
    assert h["x-ownpay-signature"] == legacy_mac(secret, got.body)
    assert "x-signature" not in h and "x-op-signature" not in h
    assert abs(int(h["x-ownpay-timestamp"]) - time.time()) < 30
    # The Standard Webhooks headers stay: a receiver can use their libraries instead.
    verify_signature(secret, {k: v for k, v in h.items() if k.startswith("webhook-")},
                     got.body)
    payload = json.loads(got.body)
    assert set(payload) == LEGACY_FIELDS
    assert payload["event"] == "payment.completed" and payload["status"] == "completed"
    assert payload["payment_id"] == made["payment_id"]
    assert payload["trx_id"] == payload["transaction_id"] == made["token"]
    assert payload["reference"] == "INV-7" and payload["metadata"] == {"whmcs_invoice_id": "7"}
    assert payload["amount"] == "150.00" and payload["fee"] == "0.00"
    assert payload["currency"] == "USD" and payload["gateway"] == "sandbox"
    assert payload["customer"] == {"name": "Anwar Hossain — ঢাকা", "email": "anwar@example.com",
                                   "phone": "+8801700000000"}
    assert isinstance(payload["timestamp"], str) and payload["timestamp"].endswith("Z")
    # Compact, with non-ASCII characters as they are: what a receiver that re-serialises
    # the parsed body with JSON.stringify gets back byte for byte.
    assert got.body == json.dumps(payload, separators=(",", ":"),
                                  ensure_ascii=False).encode()
    assert "ঢাকা".encode() in got.body
    assert other["payment_id"] != made["payment_id"]


async def test_failed_and_cancelled_payments_and_refunds(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    secret = await callback_secret(wctx, shop)
    failed = await new_payment(wclient, shop, receiver.set("/failed"), reference="INV-F")
    await pay(wclient, failed["checkout_url"], outcome="fail")
    paid = await new_payment(wclient, shop, receiver.set("/paid"), reference="INV-P")
    await pay(wclient, paid["checkout_url"])
    r = await wclient.post("/api/v1/refunds", headers=shop.auth(),
                           json={"transaction_id": paid["token"], "amount": "50.00"})
    assert r.status_code == 201, r.text
    for _ in range(5):
        await pump(wctx)
    events = [json.loads(x.body) for x in receiver.received("/failed")]
    assert [e["event"] for e in events] == ["payment.failed"]
    paid_events = [json.loads(x.body) for x in receiver.received("/paid")]
    assert [e["event"] for e in paid_events] == ["payment.completed", "refund.completed"]
    refund = paid_events[1]
    assert refund["status"] == "partially_refunded" and refund["refunded_amount"] == "50.00"
    for got in receiver.received():
        assert got.headers["x-ownpay-signature"] == legacy_mac(secret, got.body)


async def test_rotating_the_callback_secret_signs_what_is_still_to_be_sent(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    old = await callback_secret(wctx, shop)
    made = await new_payment(wclient, shop, receiver.set("/cb"))
    new = await callback_secret(wctx, shop, rotate=True)
    assert new != old and new.startswith("whsec_")
    assert await callback_secret(wctx, shop) == new
    await pay(wclient, made["checkout_url"])
    await pump(wctx)
    [got] = receiver.received("/cb")
    assert got.headers["x-ownpay-signature"] == legacy_mac(new, got.body)


async def test_a_merchant_endpoint_can_use_the_legacy_scheme(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    legacy = await add_endpoint(wclient, shop, receiver.set("/legacy"), scheme="ownpay-legacy")
    ours = await add_endpoint(wclient, shop, receiver.set("/ours"))
    assert legacy["scheme"] == "ownpay-legacy" and ours["scheme"] == "ownpay"
    r = await wclient.post("/api/v1/payments", headers=shop.auth(), json={
        "amount": "20.00", "currency": "USD", "gateway": "sandbox",
        "redirect_url": "https://shop.example/done"})
    made = r.json()["data"]
    await pay(wclient, made["checkout_url"])
    await pump(wctx)
    # The legacy endpoint hears only the events its clients know: not payment.processing etc.
    [flat] = receiver.received("/legacy")
    assert json.loads(flat.body)["payment_id"] == made["payment_id"]
    assert flat.headers["x-ownpay-signature"] == legacy_mac(legacy["secret"], flat.body)
    ours_got = receiver.received("/ours")
    assert ours_got and ours_got[-1].headers["x-ownpay-signature"].startswith("sha256=")
    assert "payment_id" not in json.loads(ours_got[-1].body)
    # Switched back, the endpoint gets our own events again.
    r = await wclient.patch(f"/api/v1/webhook-endpoints/{legacy['id']}", headers=shop.auth(),
                            json={"scheme": "ownpay"})
    assert r.status_code == 200 and r.json()["scheme"] == "ownpay"
    r = await wclient.patch(f"/api/v1/webhook-endpoints/{legacy['id']}", headers=shop.auth(),
                            json={"scheme": "md5"})
    assert r.status_code == 400 and "scheme" in r.json()["errors"]


async def test_callback_endpoints_are_not_the_merchants_endpoints(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    await new_payment(wclient, shop, receiver.set("/cb"))
    listed = (await wclient.get("/api/v1/webhook-endpoints", headers=shop.auth())).json()
    assert all(e["url"] != receiver.set("/cb") for e in listed["data"])


@pytest.mark.parametrize("callback", [
    "gopher://127.0.0.1/", "https://user:pw@x.example/", "not a url", "http://"])
async def test_unsafe_callback_urls_are_refused(
    wclient: httpx.AsyncClient, shop: MerchantKeys, callback: str
) -> None:
    r = await wclient.post("/api/v1/payments", headers=shop.auth(), json={
        "amount": "20.00", "currency": "USD", "gateway": "sandbox", "callback_url": callback})
    assert r.status_code == 422, r.text
    assert [(e["code"], e["field"]) for e in r.json()["errors"]] == [
        ("INVALID_CALLBACK_URL", "callback_url")]
