"""The OwnPay merchant API (``/api/v1/payments``), in process: the shapes its clients read
(the WHMCS module and WooCommerce plugin refuse anything but 201; the Node SDK shows
``error``), its envelope on every refusal, validation that changes nothing, idempotency,
the gateway chooser on the checkout page, the return redirect's ``payment_id`` and
``status``, and one payment seen through every API."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.payments.models import PaymentIntent
from ownpay.ratelimit import parse_many
from tests.support.checkout import CSRF, new_intent
from tests.support.factories import MerchantKeys, create_merchant

pytestmark = pytest.mark.api

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def body(**overrides: Any) -> dict[str, Any]:
    """What the WHMCS module sends (amount as a string, a reference, metadata, a logo)."""
    values: dict[str, Any] = {
        "amount": "150.00", "currency": "USD",
        "redirect_url": "https://billing.example/modules/gateways/callback/ownpay.php"
                        "?action=return&invoice_id=42",
        "cancel_url": "https://billing.example/viewinvoice.php?id=42",
        "reference": f"INV-{secrets.token_hex(4)}",
        "customer_name": "Rahim Uddin", "customer_email": "rahim@example.com",
        "metadata": {"whmcs_invoice_id": "42", "module_version": "1.1.0"},
        "logo_url": "https://billing.example/logo.png",  # sent by the module; ignored
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def create(client: httpx.AsyncClient, merchant: MerchantKeys, **overrides: Any
                 ) -> dict[str, Any]:
    r = await client.post("/api/v1/payments", json=body(**overrides), headers=merchant.auth())
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


async def read(client: httpx.AsyncClient, merchant: MerchantKeys, payment_id: str
               ) -> dict[str, Any]:
    r = await client.get(f"/api/v1/payments/{payment_id}", headers=merchant.auth())
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    data: dict[str, Any] = r.json()["data"]
    return data


async def count(ctx: AppContext, merchant: MerchantKeys) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(PaymentIntent).where(
            PaymentIntent.merchant_id == merchant.id)) or 0)


def refusal(r: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert r.status_code == status, r.text
    answer = r.json()
    assert set(answer) == {"success", "error", "errors", "request_id"}, answer
    assert answer["success"] is False and answer["request_id"]
    assert answer["error"] == answer["errors"][0]["message"]
    errors: list[dict[str, Any]] = answer["errors"]
    return errors


async def choose(client: httpx.AsyncClient, checkout_url: str, gateway: str) -> httpx.Response:
    path = urlsplit(checkout_url).path
    page = await client.get(path)
    token = CSRF.search(page.text)
    assert token, page.text[:500]
    return await client.post(f"{path}/method",
                             data={"csrf_token": token.group(1), "gateway": gateway})


async def pay_sandbox(client: httpx.AsyncClient, checkout_url: str, outcome: str = "succeed"
                      ) -> httpx.Response:
    path = urlsplit(checkout_url).path
    page = await client.get(path)
    assert 'name="outcome"' in page.text, page.text[:800]
    token = CSRF.search(page.text)
    assert token
    return await client.post(f"{path}/pay", data={"csrf_token": token.group(1),
                                                   "outcome": outcome})


async def test_create_answers_201_with_what_the_clients_read(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    r = await client.post("/api/v1/payments", json=body(gateway="sandbox"),
                          headers=merchant.auth())
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["success"] is True and set(answer) == {"success", "data"}
    data = answer["data"]
    assert set(data) == {"payment_id", "token", "checkout_url", "status"}
    assert UUID.match(data["payment_id"]) and data["status"] == "pending"
    assert data["checkout_url"] == f"http://pay.test/checkout/{data['token']}"
    page = await client.get(urlsplit(data["checkout_url"]).path)
    assert page.status_code == 200 and "150.00" in page.text


async def test_read_back_and_the_same_payment_through_every_api(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    reference = f"INV-{secrets.token_hex(4)}"
    made = await create(client, merchant, gateway="sandbox", reference=reference,
                        amount=150.5, customer_email=None, customer_mail="buyer@example.com")
    data = await read(client, merchant, made["payment_id"])
    assert data == {
        "id": made["payment_id"], "trx_id": made["token"], "gateway_trx_id": None,
        "amount": "150.50", "currency": "USD", "fee": "0.00", "status": "pending",
        "gateway": "sandbox", "method": data["method"], "reference": reference,
        "created_at": data["created_at"], "completed_at": None,
        "customer": {"name": "Rahim Uddin", "email": "buyer@example.com"},
    }
    assert data["method"]
    # The same payment through the payment-intents and transactions APIs.
    intent = (await client.get(f"/api/v1/payment-intents/{made['token']}",
                               headers=merchant.auth())).json()
    assert intent["order_id"] == reference and intent["amount"] == 150.5
    assert intent["customer"]["email"] == "buyer@example.com"
    listed = (await client.get("/api/v1/transactions", params={"order_id": reference},
                               headers=merchant.auth())).json()
    assert [t["transaction_id"] for t in listed["data"]] == [made["token"]]


async def test_paying_returns_the_customer_with_payment_id_and_status(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    made = await create(client, merchant, gateway="sandbox")
    r = await pay_sandbox(client, made["checkout_url"])
    assert r.status_code == 303
    back = urlsplit(r.headers["location"])
    assert back.netloc == "billing.example"
    query = parse_qs(back.query)
    # The redirect_url's own query stays; ours is appended (what the WHMCS module reads).
    assert query["action"] == ["return"] and query["invoice_id"] == ["42"]
    assert query["payment_id"] == [made["payment_id"]] and query["status"] == ["completed"]
    assert "transaction_id" not in query and "order_id" not in query
    data = await read(client, merchant, made["payment_id"])
    assert data["status"] == "completed" and data["completed_at"]
    assert data["trx_id"] == made["token"]


async def test_payment_intents_keep_their_own_return_parameters(
    client: httpx.AsyncClient, merchant: MerchantKeys, ctx: AppContext
) -> None:
    txn = await new_intent(client, merchant)
    r = await pay_sandbox(client, f"http://pay.test/checkout/{txn}")
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["transaction_id"] == [txn] and "payment_id" not in query
    # …and every payment has a UUID: the merchant API finds it too.
    async with ctx.sessions() as s:
        public_id = await s.scalar(select(PaymentIntent.public_id).where(
            PaymentIntent.id == txn))
    assert public_id and UUID.match(public_id)
    assert (await read(client, merchant, public_id))["status"] == "completed"


async def test_without_a_gateway_the_customer_chooses_one(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    made = await create(client, merchant)  # the merchant has sandbox and manual (test mode)
    path = urlsplit(made["checkout_url"]).path
    page = await client.get(path)
    assert page.status_code == 200 and "Choose how to pay" in page.text
    assert 'value="sandbox"' in page.text and 'value="manual"' in page.text
    assert (await read(client, merchant, made["payment_id"]))["gateway"] is None
    # A method that is not offered, or a forged form, changes nothing.
    r = await choose(client, made["checkout_url"], "stripe")
    assert r.status_code == 422 and "not available" in r.text
    forged = await client.post(f"{path}/method", data={"csrf_token": "0" * 64,
                                                         "gateway": "sandbox"})
    assert forged.status_code == 403
    assert (await read(client, merchant, made["payment_id"]))["gateway"] is None
    r = await choose(client, made["checkout_url"], "sandbox")
    assert r.status_code == 303 and r.headers["location"] == path
    assert (await read(client, merchant, made["payment_id"]))["gateway"] == "sandbox"
    # Chosen once: a second choice does not change it.
    again = await client.post(f"{path}/method", data={
        "csrf_token": CSRF.search((await client.get(path)).text).group(1),  # type: ignore[union-attr]
        "gateway": "manual"})
    assert again.status_code == 303
    assert (await read(client, merchant, made["payment_id"]))["gateway"] == "sandbox"
    r = await pay_sandbox(client, made["checkout_url"])
    assert parse_qs(urlsplit(r.headers["location"]).query)["status"] == ["completed"]


async def test_one_method_only_is_chosen_for_the_customer(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await create_merchant(ctx, gateways=(("test", "sandbox"),))
    made = await create(client, shop)
    assert (await read(client, shop, made["payment_id"]))["gateway"] == "sandbox"
    none = await create_merchant(ctx, gateways=())
    r = await client.post("/api/v1/payments", json=body(), headers=none.auth())
    assert refusal(r, 422)[0]["code"] == "NO_PAYMENT_METHOD"
    assert await count(ctx, none) == 0


@pytest.mark.parametrize(("overrides", "code", "field"), [
    ({"amount": "150.001"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "-5"}, "INVALID_AMOUNT", "amount"),
    ({"amount": None}, "INVALID_AMOUNT", "amount"),
    ({"amount": True}, "INVALID_AMOUNT", "amount"),
    ({"currency": "XXY"}, "INVALID_CURRENCY", "currency"),
    ({"currency": None}, "INVALID_CURRENCY", "currency"),
    ({"redirect_url": "javascript:alert(1)"}, "INVALID_REDIRECT_URL", "redirect_url"),
    ({"redirect_url": None}, "INVALID_REDIRECT_URL", "redirect_url"),
    ({"cancel_url": "ftp://x.example/"}, "INVALID_CANCEL_URL", "cancel_url"),
    ({"callback_url": "file:///etc/passwd"}, "INVALID_CALLBACK_URL", "callback_url"),
    ({"customer_name": "x" * 151}, "VALIDATION_FAILED", "customer_name"),
    ({"customer_email": "not-an-email"}, "VALIDATION_FAILED", "customer_email"),
    ({"reference": "r" * 101}, "VALIDATION_FAILED", "reference"),
    ({"metadata": ["not", "an", "object"]}, "VALIDATION_FAILED", "metadata"),
])
async def test_bad_input_is_422_in_this_envelope_and_changes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys,
    overrides: dict[str, Any], code: str, field: str,
) -> None:
    payload = body(gateway="sandbox")
    for name, value in overrides.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    before = await count(ctx, merchant)
    r = await client.post("/api/v1/payments", json=payload, headers=merchant.auth())
    errors = refusal(r, 422)
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in errors], errors
    assert all(e["message"] for e in errors)
    assert await count(ctx, merchant) == before


async def test_every_problem_is_listed_at_once(client: httpx.AsyncClient,
                                               merchant: MerchantKeys) -> None:
    r = await client.post("/api/v1/payments", headers=merchant.auth(),
                          json={"amount": "1.234", "currency": "usd!", "cancel_url": "nope"})
    codes = {e["code"] for e in refusal(r, 422)}
    assert codes == {"INVALID_CURRENCY", "INVALID_REDIRECT_URL", "INVALID_CANCEL_URL"}


async def test_callback_url_alone_is_also_the_return_address(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    made = await create(client, merchant, gateway="sandbox", redirect_url=None, cancel_url=None,
                        callback_url="http://127.0.0.1:9/callback.php")
    r = await pay_sandbox(client, made["checkout_url"], outcome="succeed")
    assert r.headers["location"].startswith("http://127.0.0.1:9/callback.php?payment_id=")


async def test_json_auth_and_gateway_refusals_use_this_envelope(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    r = await client.post("/api/v1/payments", content=b"{nope", headers={
        **merchant.auth(), "Content-Type": "application/json"})
    assert refusal(r, 400)[0]["code"] == "INVALID_JSON"
    r = await client.post("/api/v1/payments", json=body())
    assert refusal(r, 401)[0]["code"] == "UNAUTHENTICATED"
    assert r.headers["www-authenticate"] == "Bearer"
    r = await client.post("/api/v1/payments", json=body(gateway="stripe"),
                          headers=merchant.auth())
    assert refusal(r, 404)[0]["code"] == "GATEWAY_NOT_FOUND"
    r = await client.post("/api/v1/payments", json=body(gateway="sandbox", currency="JPY",
                                                        amount="10.5"), headers=merchant.auth())
    assert refusal(r, 422)[0]["code"] == "INVALID_AMOUNT"


async def test_reading_unknown_malformed_or_anothers_payment(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    r = await client.get("/api/v1/payments/not-a-uuid", headers=merchant.auth())
    assert refusal(r, 422)[0]["code"] == "INVALID_PAYMENT_ID"
    r = await client.get(f"/api/v1/payments/{uuid.uuid4()}", headers=merchant.auth())
    assert refusal(r, 404)[0]["code"] == "PAYMENT_NOT_FOUND"
    made = await create(client, merchant, gateway="sandbox")
    other = await create_merchant(ctx)
    r = await client.get(f"/api/v1/payments/{made['payment_id']}", headers=other.auth())
    assert refusal(r, 404)[0]["code"] == "PAYMENT_NOT_FOUND"
    r = await client.get(f"/api/v1/payments/{made['payment_id']}", headers=merchant.auth("live"))
    assert refusal(r, 404)[0]["code"] == "PAYMENT_NOT_FOUND"


async def test_idempotency_key_replays_and_refuses_another_body(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    key = {"Idempotency-Key": f"order-{secrets.token_hex(6)}", **merchant.auth()}
    payload = body(gateway="sandbox")
    first = await client.post("/api/v1/payments", json=payload, headers=key)
    before = await count(ctx, merchant)
    again = await client.post("/api/v1/payments", json=payload, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await client.post("/api/v1/payments", json={**payload, "amount": "1.00"},
                              headers=key)
    assert refusal(other, 409)[0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count(ctx, merchant) == before


async def test_a_paid_reference_is_not_charged_twice(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    reference = f"INV-{secrets.token_hex(4)}"
    made = await create(client, merchant, gateway="sandbox", reference=reference)
    await pay_sandbox(client, made["checkout_url"])
    r = await client.post("/api/v1/payments", json=body(gateway="sandbox", reference=reference),
                          headers=merchant.auth())
    assert refusal(r, 409)[0]["code"] == "ORDER_ALREADY_PAID"


async def test_one_idempotency_key_is_one_operation_across_the_apis(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    from tests.support.factories import intent_body

    key = {"Idempotency-Key": f"shared-{secrets.token_hex(6)}", **merchant.auth()}
    first = await client.post("/api/v1/payments", json=body(gateway="sandbox"), headers=key)
    assert first.status_code == 201
    before = await count(ctx, merchant)
    other = await client.post("/api/v1/payment-intents", json=intent_body(), headers=key)
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count(ctx, merchant) == before


async def test_a_rate_limited_key_gets_429_in_this_envelope(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ctx.rate_limiter.rules, "api_key", parse_many("1/hour"))
    first = await client.post("/api/v1/payments", json=body(), headers=merchant.auth())
    assert first.status_code == 201, first.text
    before = await count(ctx, merchant)
    r = await client.post("/api/v1/payments", json=body(), headers=merchant.auth())
    assert refusal(r, 429)[0]["code"] == "RATE_LIMITED"
    assert int(r.headers["retry-after"]) > 0
    assert await count(ctx, merchant) == before
