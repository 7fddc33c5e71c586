"""The PipraPay facade (``/api/create-charge``, ``/api/verify-payments``), in process: the
shapes its WHMCS module and SDKs read, 400 ``{"status": false, "message"}`` for a wrong key
and every bad input with nothing changed, ``Missing required field(s): …``, the switch,
scopes, tenant isolation, the return with ``pp_id`` (GET and POST) and one payment seen
through every API."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from tests.compat.facades import PIPRAPAY, UDDOKTAPAY, key, pay_sandbox, state, switch
from tests.support.factories import MerchantKeys, create_merchant

pytestmark = pytest.mark.api

BAD_KEY = {"status": False, "message": "Unauthorized request. Invalid API key."}
INVALID = {"status": False, "message": "Invalid Transaction"}
REQUIRED = ("full_name", "email_mobile", "amount", "metadata", "redirect_url", "cancel_url",
            "webhook_url", "return_type", "currency")
VERIFY_FIELDS = {"pp_id", "customer_name", "customer_email_mobile", "payment_method", "amount",
                 "fee", "refund_amount", "total", "currency", "metadata", "sender_number",
                 "transaction_id", "status", "date"}


def charge_body(**overrides: Any) -> dict[str, Any]:
    """What the WHMCS module sends."""
    values: dict[str, Any] = {
        "full_name": "Nusrat Jahan", "email_mobile": "nusrat@example.com", "amount": "500.00",
        "metadata": {"invoiceid": 42}, "redirect_url": "https://billing.example/viewinvoice.php?id=42",
        "cancel_url": "https://billing.example", "return_type": "GET", "currency": "BDT",
        "webhook_url": "https://billing.example/modules/gateways/callback/piprapay.php",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
async def shop(ctx: AppContext, merchant: MerchantKeys) -> MerchantKeys:
    await switch(ctx, merchant, "piprapay")
    return merchant


async def charge(client: httpx.AsyncClient, shop: MerchantKeys, **overrides: Any
                 ) -> dict[str, Any]:
    r = await client.post("/api/create-charge", json=charge_body(**overrides),
                          headers=key(shop, PIPRAPAY))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def verify(client: httpx.AsyncClient, shop: MerchantKeys, pp_id: Any,
                 mode: str = "test") -> httpx.Response:
    return await client.post("/api/verify-payments", json={"pp_id": pp_id},
                             headers=key(shop, PIPRAPAY, mode))


def refused(r: httpx.Response, status: int = 400) -> str:
    assert r.status_code == status, r.text
    answer = r.json()
    assert set(answer) == {"status", "message"} and answer["status"] is False, answer
    message: str = answer["message"]
    assert message
    return message


async def test_charge_pay_return_and_verify(client: httpx.AsyncClient,
                                           shop: MerchantKeys) -> None:
    made = await charge(client, shop)
    assert set(made) == {"status", "pp_id", "pp_url"} and made["status"] is True
    assert (await verify(client, shop, made["pp_id"])).json() == INVALID  # not paid yet
    r = await pay_sandbox(client, made["pp_url"])
    assert r.status_code == 303, r.text
    back = urlsplit(r.headers["location"])
    query = parse_qs(back.query)
    assert back.netloc == "billing.example" and query == {"id": ["42"], "pp_id": [made["pp_id"]]}
    v = await verify(client, shop, made["pp_id"])
    assert v.status_code == 200, v.text
    data = v.json()
    assert set(data) == VERIFY_FIELDS
    assert data["status"] == "completed" and data["pp_id"] == made["pp_id"]
    assert data["amount"] == "500.00" and data["total"] == "500.00"
    assert data["refund_amount"] == "0.00" and data["currency"] == "BDT"
    assert data["metadata"] == {"invoiceid": 42}
    assert data["customer_email_mobile"] == "nusrat@example.com"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", data["date"])
    txn = data["transaction_id"]
    intent = (await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())).json()
    assert intent["status"] == "completed" and intent["amount"] == 500
    assert intent["metadata"] == {"invoiceid": 42}
    merchant_api = (await client.get(f"/api/v1/payments/{made['pp_id']}",
                                     headers=shop.auth())).json()["data"]
    assert merchant_api["trx_id"] == txn


async def test_a_mobile_number_is_the_customers_phone(client: httpx.AsyncClient,
                                                     shop: MerchantKeys) -> None:
    made = await charge(client, shop, email_mobile="01712345678")
    await pay_sandbox(client, made["pp_url"])
    data = (await verify(client, shop, made["pp_id"])).json()
    assert data["customer_email_mobile"] == "01712345678"
    intent = (await client.get(f"/api/v1/payment-intents/{data['transaction_id']}",
                               headers=shop.auth())).json()
    assert intent["customer"]["phone"] == "01712345678"


async def test_return_type_post_posts_pp_id_back(client: httpx.AsyncClient,
                                                shop: MerchantKeys) -> None:
    made = await charge(client, shop, return_type="POST")
    txn = urlsplit(made["pp_url"]).path.rsplit("/", 1)[1]
    r = await pay_sandbox(client, made["pp_url"])
    assert r.headers["location"] == f"/checkout/{txn}/back"
    page = await client.get(f"/checkout/{txn}/back")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             page.text))
    assert fields == {"pp_id": made["pp_id"]}
    assert 'action="https://billing.example/viewinvoice.php?id=42"' in page.text


@pytest.mark.parametrize("missing", [REQUIRED, ("metadata",), ("return_type", "currency")],
                         ids=["all", "metadata", "two"])
async def test_missing_fields_are_listed(client: httpx.AsyncClient, ctx: AppContext,
                                         shop: MerchantKeys, missing: tuple[str, ...]) -> None:
    before = await state(ctx, shop)
    r = await client.post("/api/create-charge", headers=key(shop, PIPRAPAY),
                          json=charge_body(**dict.fromkeys(missing)))
    assert refused(r) == f"Missing required field(s): {', '.join(missing)}"
    assert await state(ctx, shop) == before


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"amount": "abc"}, "amount"), ({"amount": "-1"}, "amount"), ({"amount": [5]}, "amount"),
    ({"amount": "1.005"}, "amount"), ({"currency": "ZZZ"}, "currency"),
    ({"currency": 12}, "currency"), ({"redirect_url": "ftp://x.example/"}, "url"),
    ({"redirect_url": 1}, "redirect_url"), ({"cancel_url": "javascript:1"}, "url"),
    ({"webhook_url": "file:///etc/passwd"}, "url"), ({"metadata": "x"}, "metadata"),
    ({"return_type": "PATCH"}, "return_type"), ({"email_mobile": 5}, "email_mobile"),
    ({"email_mobile": "bad@"}, "email"), ({"full_name": "x" * 200}, "full_name"),
]


@pytest.mark.parametrize(("overrides", "word"), BAD_FIELDS,
                         ids=[f"{w}-{i}" for i, (_, w) in enumerate(BAD_FIELDS)])
async def test_bad_fields_are_400_and_change_nothing(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys, overrides: dict[str, Any],
    word: str,
) -> None:
    before = await state(ctx, shop)
    r = await client.post("/api/create-charge", headers=key(shop, PIPRAPAY),
                          json=charge_body(**overrides))
    assert word.split("_")[0] in refused(r).lower()
    assert await state(ctx, shop) == before


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"{not json", "application/json", 400), (b"[]", "application/json", 400),
    (b"", "application/json", 400), (b"a=b", "application/x-www-form-urlencoded", 415),
    (b'{"a": "' + b"x" * (100 * 1024) + b'"}', "application/json", 413),
    (b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json", 413),
])
async def test_bad_bodies_get_their_envelope(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys, raw: bytes,
    content_type: str, status: int,
) -> None:
    before = await state(ctx, shop)
    for path in ("/api/create-charge", "/api/verify-payments"):
        r = await client.post(path, content=raw, headers={**key(shop, PIPRAPAY),
                                                           "Content-Type": content_type})
        refused(r, status)
    assert await state(ctx, shop) == before


async def test_wrong_missing_revoked_switched_off_or_scopeless_keys_are_400(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys
) -> None:
    off = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, shop.slug)
        revoked = await merchants.create_api_key(s, merchant=m, mode="test")
        await merchants.revoke_api_key(s, key_id=revoked.id)
    ctx.api_keys.invalidate()
    before = await state(ctx, shop), await state(ctx, off)
    for headers in ({}, {PIPRAPAY: "nope"}, {PIPRAPAY: revoked.api_key}, key(off, PIPRAPAY),
                    shop.auth(), key(shop, PIPRAPAY, "live"), key(shop, UDDOKTAPAY)):
        for path, body in (("/api/create-charge", charge_body()),
                           ("/api/verify-payments", {"pp_id": str(uuid.uuid4())})):
            r = await client.post(path, json=body, headers=headers)
            assert r.status_code == 400 and r.json() == BAD_KEY, (headers, path, r.text)
    assert (await state(ctx, shop), await state(ctx, off)) == before
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, shop.slug)
        reader = (await merchants.create_api_key(s, merchant=m, mode="test",
                                                 scopes=("read",))).api_key
    r = await client.post("/api/create-charge", json=charge_body(), headers={PIPRAPAY: reader})
    assert "write" in refused(r)
    assert (await state(ctx, shop)) == before[0]


async def test_another_brands_or_modes_payment_is_an_invalid_transaction(
    client: httpx.AsyncClient, ctx: AppContext, shop: MerchantKeys
) -> None:
    made = await charge(client, shop)
    await pay_sandbox(client, made["pp_url"])
    other = await create_merchant(ctx)
    await switch(ctx, other, "piprapay")
    await switch(ctx, shop, "piprapay", mode="live")
    for r in (await verify(client, other, made["pp_id"]),
              await verify(client, shop, made["pp_id"], mode="live"),
              await verify(client, shop, str(uuid.uuid4())),
              await verify(client, shop, "181055228"), await verify(client, shop, 5)):
        assert r.status_code == 400 and r.json() == INVALID
    assert refused(await verify(client, shop, "")) == "Missing required field(s): pp_id"


async def test_idempotency_key_replays(client: httpx.AsyncClient, ctx: AppContext,
                                       shop: MerchantKeys) -> None:
    headers = {**key(shop, PIPRAPAY), "Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await client.post("/api/create-charge", json=charge_body(), headers=headers)
    counted = await state(ctx, shop)
    again = await client.post("/api/create-charge", json=charge_body(), headers=headers)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    refused(await client.post("/api/create-charge", json=charge_body(amount="1"),
                              headers=headers), 409)
    assert await state(ctx, shop) == counted
