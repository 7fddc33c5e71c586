"""The UddoktaPay facade (``/api/checkout-v2``, ``/api/verify-payment``,
``/api/refund-payment``), in process: the shapes its PHP library and plugins read, its
``{"status": false, "message"}`` envelope on every refusal with nothing changed, the
per-brand switch, scopes, tenant isolation, idempotency, the return redirect with
``invoice_id`` (GET and POST) and one payment seen through every API."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.payments.models import PaymentIntent
from tests.compat.facades import (
    PIPRAPAY,
    UDDOKTAPAY,
    checkout_body,
    key,
    pay_sandbox,
    state,
    switch,
)
from tests.support.factories import MerchantKeys, create_merchant

pytestmark = pytest.mark.api

BAD_KEY = {"status": False, "message": "Invalid API Key"}
VERIFY_FIELDS = {"full_name", "email", "amount", "fee", "charged_amount", "invoice_id",
                 "metadata", "payment_method", "sender_number", "transaction_id", "date",
                 "status"}


@pytest.fixture
async def shop(ctx: AppContext, merchant: MerchantKeys) -> MerchantKeys:
    await switch(ctx, merchant, "uddoktapay")
    return merchant


async def checkout(client: httpx.AsyncClient, shop: MerchantKeys, **overrides: Any
                   ) -> dict[str, Any]:
    r = await client.post("/api/checkout-v2", json=checkout_body(**overrides),
                          headers=key(shop, UDDOKTAPAY))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def verify(client: httpx.AsyncClient, shop: MerchantKeys, invoice_id: Any,
                 mode: str = "test") -> httpx.Response:
    return await client.post("/api/verify-payment", json={"invoice_id": invoice_id},
                             headers=key(shop, UDDOKTAPAY, mode))


async def paid(client: httpx.AsyncClient, shop: MerchantKeys, **overrides: Any
               ) -> dict[str, Any]:
    """Create, pay on the sandbox, come back: the verify answer."""
    answer = await checkout(client, shop, **overrides)
    r = await pay_sandbox(client, answer["payment_url"])
    assert r.status_code == 303, r.text
    [invoice_id] = parse_qs(urlsplit(r.headers["location"]).query)["invoice_id"]
    v = await verify(client, shop, invoice_id)
    assert v.status_code == 200, v.text
    data: dict[str, Any] = v.json()
    return data


def refused(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    answer = r.json()
    assert set(answer) == {"status", "message"} and answer["status"] is False, answer
    assert isinstance(answer["message"], str) and answer["message"]
    message: str = answer["message"]
    return message


async def test_checkout_pay_return_and_verify(client: httpx.AsyncClient,
                                             shop: MerchantKeys) -> None:
    answer = await checkout(client, shop)
    assert set(answer) == {"status", "message", "payment_url"}
    assert answer["status"] is True and answer["message"] == "Payment Url"
    assert answer["payment_url"].startswith("http://pay.test/checkout/txn_")
    # Before paying: PENDING.
    txn = urlsplit(answer["payment_url"]).path.rsplit("/", 1)[1]
    r = await pay_sandbox(client, answer["payment_url"])
    assert r.status_code == 303, r.text
    back = urlsplit(r.headers["location"])
    query = parse_qs(back.query)
    # The redirect_url's own query stays; invoice_id is appended, nothing else.
    assert back.netloc == "shop.example" and back.path == "/uddoktapay/success"
    assert set(query) == {"order", "invoice_id"} and query["order"] == ["77"]
    [invoice_id] = query["invoice_id"]
    v = await verify(client, shop, invoice_id)
    assert v.status_code == 200, v.text
    data = v.json()
    assert set(data) == VERIFY_FIELDS
    assert data["status"] == "COMPLETED" and data["invoice_id"] == invoice_id
    assert data["amount"] == "100.00" and data["charged_amount"] == "100.00"
    assert data["fee"] == "0.00" and data["transaction_id"] == txn
    assert data["full_name"] == "Karim Ahmed" and data["email"] == "karim@example.com"
    assert data["metadata"] == {"invoice_id": "77", "order_id": "WC-77"}
    assert data["payment_method"] == "sandbox"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", data["date"])


async def test_an_open_payment_verifies_as_pending(client: httpx.AsyncClient,
                                                  ctx: AppContext, shop: MerchantKeys) -> None:
    answer = await checkout(client, shop)
    txn = urlsplit(answer["payment_url"]).path.rsplit("/", 1)[1]
    async with ctx.sessions() as s:
        invoice_id = await s.scalar(select(PaymentIntent.public_id).where(
            PaymentIntent.id == txn))
    data = (await verify(client, shop, invoice_id)).json()
    assert data["status"] == "PENDING" and data["payment_method"] == ""
    # Visible to our API and the CLI's listing at once (a payment like any other).
    listed = (await client.get("/api/v1/transactions", headers=shop.auth())).json()
    assert txn in {t["transaction_id"] for t in listed["data"]}


async def test_one_payment_through_every_api(client: httpx.AsyncClient,
                                            shop: MerchantKeys) -> None:
    data = await paid(client, shop, amount=250.5, currency="BDT")
    txn = data["transaction_id"]
    intent = (await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())).json()
    assert intent["status"] == "completed" and intent["amount"] == 250.5
    assert intent["currency"] == "BDT" and intent["metadata"]["order_id"] == "WC-77"
    merchant_api = (await client.get(f"/api/v1/payments/{data['invoice_id']}",
                                     headers=shop.auth())).json()["data"]
    assert merchant_api["trx_id"] == txn and merchant_api["amount"] == "250.50"


async def test_currency_defaults_to_bdt_and_another_is_honoured(
    client: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    bdt = await paid(client, shop)
    intent = (await client.get(f"/api/v1/payment-intents/{bdt['transaction_id']}",
                               headers=shop.auth())).json()
    assert intent["currency"] == "BDT"
    usd = await paid(client, shop, currency="USD", amount="12.34")
    assert usd["amount"] == "12.34"


async def test_return_type_post_posts_invoice_id_back(client: httpx.AsyncClient,
                                                     shop: MerchantKeys) -> None:
    answer = await checkout(client, shop, return_type="POST")
    txn = urlsplit(answer["payment_url"]).path.rsplit("/", 1)[1]
    r = await pay_sandbox(client, answer["payment_url"])
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}/back"
    page = await client.get(f"/checkout/{txn}/back")
    assert page.status_code == 200, page.text
    form = re.search(r'<form id="return-form" method="post" action="([^"]+)"', page.text)
    assert form and form.group(1) == "https://shop.example/uddoktapay/success?order=77"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             page.text))
    assert set(fields) == {"invoice_id"}
    v = await verify(client, shop, fields["invoice_id"])
    assert v.json()["status"] == "COMPLETED"
    # The auto-submit script runs under the page's CSP nonce; the form may post there.
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce and f'<script nonce="{nonce.group(1)}">' in page.text
    assert "https://shop.example" in csp.split("form-action", 1)[1].split(";", 1)[0]
    assert 'data-testid="return-submit"' in page.text  # works without JavaScript


async def test_the_return_page_of_a_get_or_open_payment_redirects(
    client: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    answer = await checkout(client, shop)
    txn = urlsplit(answer["payment_url"]).path.rsplit("/", 1)[1]
    r = await client.get(f"/checkout/{txn}/back")
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    await pay_sandbox(client, answer["payment_url"])
    r = await client.get(f"/checkout/{txn}/back")
    assert r.status_code == 303
    assert r.headers["location"].startswith("https://shop.example/uddoktapay/success?")


# (fields, a word the message must contain)
BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"full_name": None}, "full_name"),
    ({"email": None}, "email"),
    ({"amount": None}, "amount"),
    ({"redirect_url": None}, "redirect_url"),
    ({"amount": "abc"}, "amount"),
    ({"amount": "-5"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "10.001"}, "amount"),
    ({"amount": [1]}, "amount"),
    ({"amount": 1e400}, "infinity"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": 5}, "currency"),
    ({"redirect_url": "ftp://shop.example/"}, "redirect_url"),
    ({"redirect_url": 7}, "redirect_url"),
    ({"cancel_url": "javascript:alert(1)"}, "cancel_url"),
    ({"webhook_url": "file:///etc/passwd"}, "url"),
    ({"webhook_url": 12}, "webhook_url"),
    ({"metadata": "not an object"}, "metadata"),
    ({"return_type": "PUT"}, "return_type"),
    ({"return_type": 1}, "return_type"),
    ({"email": "not-an-email"}, "email"),
    ({"full_name": "x" * 200}, "full_name"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_BODIES,
                         ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_BODIES)])
async def test_bad_fields_are_refused_in_their_envelope_and_change_nothing(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys, overrides: dict[str, Any],
    field: str,
) -> None:
    before = await state(ctx, shop)
    body = checkout_body()
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    r = await client.post("/api/checkout-v2", content=_dumps(body),
                          headers={**key(shop, UDDOKTAPAY), "Content-Type": "application/json"})
    message = refused(r, 400)
    assert field.split("_")[0] in message.lower(), message
    assert await state(ctx, shop) == before


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'{"amount": 1, "amount": 2}', "application/json", 400),
    (b"", "application/json", 400),
    (b"full_name=x", "application/x-www-form-urlencoded", 415),
    (b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json", 413),
])
async def test_bad_bodies_get_their_envelope(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys, raw: bytes,
    content_type: str, status: int,
) -> None:
    before = await state(ctx, shop)
    for path in ("/api/checkout-v2", "/api/checkout-v2/global", "/api/verify-payment",
                 "/api/refund-payment"):
        r = await client.post(path, content=raw, headers={
            **key(shop, UDDOKTAPAY), "Content-Type": content_type})
        assert "status" in r.json(), (path, r.text)
        refused(r, status)
    assert await state(ctx, shop) == before


async def test_wrong_missing_revoked_or_switched_off_keys_look_the_same(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys
) -> None:
    off = await create_merchant(ctx)  # never switched on
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, shop.slug)
        revoked = await merchants.create_api_key(s, merchant=m, mode="test")
        await merchants.revoke_api_key(s, key_id=revoked.id)
    ctx.api_keys.invalidate()
    before = await state(ctx, shop), await state(ctx, off)
    for headers in ({}, {UDDOKTAPAY: ""}, {UDDOKTAPAY: "wrong"},
                    {UDDOKTAPAY: "op_test_" + "a" * 39}, {UDDOKTAPAY: revoked.api_key},
                    key(off, UDDOKTAPAY), shop.auth(),  # a Bearer header is not this API's
                    key(shop, UDDOKTAPAY, "live"),  # switched on for test mode only
                    key(shop, PIPRAPAY)):
        for path, body in (("/api/checkout-v2", checkout_body()),
                           ("/api/checkout-v2/global", checkout_body()),
                           ("/api/verify-payment", {"invoice_id": str(uuid.uuid4())}),
                           ("/api/refund-payment", {"transaction_id": "txn_0"})):
            r = await client.post(path, json=body, headers=headers)
            assert r.status_code == 401 and r.json() == BAD_KEY, (headers, path, r.text)
            assert shop.test_key not in r.text
    assert (await state(ctx, shop), await state(ctx, off)) == before


async def test_switching_off_refuses_at_once(client: httpx.AsyncClient, ctx: AppContext,
                                            shop: MerchantKeys) -> None:
    data = await paid(client, shop)
    await switch(ctx, shop, "uddoktapay", on=False)
    r = await verify(client, shop, data["invoice_id"])
    assert r.status_code == 401 and r.json() == BAD_KEY
    await switch(ctx, shop, "uddoktapay", on=True)
    assert (await verify(client, shop, data["invoice_id"])).status_code == 200


async def test_scopes_apply(client: httpx.AsyncClient, ctx: AppContext,
                            shop: MerchantKeys) -> None:
    data = await paid(client, shop)
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, shop.slug)
        reader = (await merchants.create_api_key(s, merchant=m, mode="test",
                                                 scopes=("read",))).api_key
        writer = (await merchants.create_api_key(s, merchant=m, mode="test",
                                                 scopes=("write",))).api_key
    before = await state(ctx, shop)
    for path, body in (("/api/checkout-v2", checkout_body()),
                       ("/api/refund-payment", {"transaction_id": data["transaction_id"]})):
        r = await client.post(path, json=body, headers={UDDOKTAPAY: reader})
        assert "write" in refused(r, 403)
    r = await client.post("/api/verify-payment", json={"invoice_id": data["invoice_id"]},
                          headers={UDDOKTAPAY: writer})
    assert "read" in refused(r, 403)
    assert (await client.post("/api/verify-payment", json={"invoice_id": data["invoice_id"]},
                              headers={UDDOKTAPAY: reader})).status_code == 200
    assert await state(ctx, shop) == before


async def test_another_brands_or_modes_invoice_is_not_found(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys
) -> None:
    data = await paid(client, shop)
    other = await create_merchant(ctx)
    await switch(ctx, other, "uddoktapay")
    await switch(ctx, shop, "uddoktapay", mode="live")
    nothing = await verify(client, other, str(uuid.uuid4()))
    assert refused(nothing, 404)
    for r in (await verify(client, other, data["invoice_id"]),
              await verify(client, shop, data["invoice_id"], mode="live")):
        assert r.status_code == 404 and r.json() == nothing.json()
    for value in ("", "not-a-uuid", 5, None, ["x"], {"a": 1}):
        r = await verify(client, shop, value)
        refused(r, 400 if value in ("", None) else 404)
    # Refunds of another brand's transaction: the same "not found".
    r = await client.post("/api/refund-payment", json={"transaction_id": data["transaction_id"]},
                          headers=key(other, UDDOKTAPAY))
    refused(r, 404)


async def test_idempotency_key_is_honoured_and_one_operation_across_facades(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys
) -> None:
    await switch(ctx, shop, "piprapay")
    headers = {**key(shop, UDDOKTAPAY), "Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await client.post("/api/checkout-v2", json=checkout_body(), headers=headers)
    assert first.status_code == 200
    after_first = await state(ctx, shop)
    again = await client.post("/api/checkout-v2", json=checkout_body(), headers=headers)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other_body = await client.post("/api/checkout-v2", json=checkout_body(amount="5"),
                                   headers=headers)
    refused(other_body, 409)
    # The same key on the PipraPay facade (or our API) is another operation: refused.
    pipra = await client.post("/api/create-charge", json={
        "full_name": "K", "email_mobile": "k@example.com", "amount": "100", "metadata": {},
        "redirect_url": "https://shop.example/", "cancel_url": "https://shop.example/",
        "webhook_url": "https://shop.example/ipn", "return_type": "GET", "currency": "BDT"},
        headers={**key(shop, PIPRAPAY), "Idempotency-Key": headers["Idempotency-Key"]})
    assert pipra.status_code == 409 and pipra.json()["status"] is False
    assert await state(ctx, shop) == after_first


async def test_refund_payment(client: httpx.AsyncClient, shop: MerchantKeys) -> None:
    data = await paid(client, shop, amount="300")
    txn = data["transaction_id"]
    r = await client.post("/api/refund-payment", headers=key(shop, UDDOKTAPAY), json={
        "transaction_id": txn, "payment_method": "sandbox", "amount": "100",
        "product_name": "Hosting", "reason": "customer asked"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True and set(r.json()) == {"status", "message"}
    intent = (await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())).json()
    assert intent["status"] == "partially_refunded"
    refunds = (await client.get("/api/v1/refunds", params={"transaction_id": txn},
                                headers=shop.auth())).json()
    assert [x["reason"] for x in refunds["data"]] == ["customer asked"], refunds
    # More than what is left: refused in their envelope.
    r = await client.post("/api/refund-payment", headers=key(shop, UDDOKTAPAY), json={
        "transaction_id": txn, "amount": "250"})
    refused(r, 422 if r.status_code == 422 else r.status_code)
    assert (await verify(client, shop, data["invoice_id"])).json()["status"] == "COMPLETED"
    r = await client.post("/api/refund-payment", headers=key(shop, UDDOKTAPAY),
                          json={"transaction_id": "txn_" + "0" * 16})
    refused(r, 404)
    r = await client.post("/api/refund-payment", headers=key(shop, UDDOKTAPAY),
                          json={"transaction_id": txn, "amount": "abc"})
    refused(r, 400)
