"""The UddoktaPay facade (``/api/checkout-v2``, ``/api/verify-payment``,
``/api/refund-payment``), in process: the shapes its PHP library and plugins read, its
``{"status": false, "message"}`` envelope on every refusal with nothing changed, the
per-brand switch, scopes, tenant isolation, idempotency, the return redirect with
``invoice_id`` (GET and POST) and one payment seen through every API."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from tests.compat.facades import UDDOKTAPAY, checkout_body, key, pay_sandbox, state, switch
from tests.support.factories import MerchantKeys, create_merchant, extra_key

pytestmark = pytest.mark.api


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


def invoice_of(payment_url: str) -> str:
    return ""


async def verify(client: httpx.AsyncClient, shop: MerchantKeys, invoice_id: str
                 ) -> httpx.Response:
    return await client.post("/api/verify-payment", json={"invoice_id": invoice_id},
                             headers=key(shop, UDDOKTAPAY))


async def test_checkout_pay_return_verify(client: httpx.AsyncClient, shop: MerchantKeys) -> None:
    answer = await checkout(client, shop)
    assert set(answer) == {"status", "message", "payment_url"}
    assert answer["status"] is True and answer["message"] == "Payment Url"
    r = await pay_sandbox(client, answer["payment_url"], gateway="sandbox")
    assert r.status_code == 303, r.text
    back = urlsplit(r.headers["location"])
    query = parse_qs(back.query)
    assert back.netloc == "shop.example" and query["order"] == ["77"]
    [invoice_id] = query["invoice_id"]
    assert set(query) == {"order", "invoice_id"}
    v = await verify(client, shop, invoice_id)
    assert v.status_code == 200, v.text
    print(v.json())
