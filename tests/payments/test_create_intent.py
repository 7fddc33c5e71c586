"""POST /api/v1/payment-intents against the spec's shapes, on every backend."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.support.factories import MerchantKeys, create_merchant, intent_body

SPEC_EXAMPLE = {
    "gateway": "stripe",
    "amount": 99.99,
    "currency": "USD",
    "order_id": "ORDER-20240615-001",
    "customer_name": "Jane Smith",
    "customer_email": "jane@example.com",
    "customer_phone": "+1-555-0100",
    "description": "Annual subscription — Professional Plan",
    "return_url": "https://yoursite.com/order/success",
    "cancel_url": "https://yoursite.com/order/cancel",
    "metadata": {"user_id": "42", "plan": "professional"},
}
TXN = re.compile(r"^txn_[0-9a-f]{16}$")


async def test_spec_example_gets_201_with_exact_shape(client, merchant: MerchantKeys) -> None:
    body = dict(SPEC_EXAMPLE, gateway="sandbox")
    before = datetime.now(UTC).replace(microsecond=0)
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 201, r.text
    data = r.json()
    assert list(data) == ["success", "transaction_id", "payment_url", "status", "expires_at"]
    assert data["success"] is True
    assert TXN.match(data["transaction_id"])
    assert data["payment_url"] == f"http://pay.test/checkout/{data['transaction_id']}"
    assert data["status"] == "pending"
    expires = datetime.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before + timedelta(minutes=30) <= expires <= before + timedelta(minutes=30, seconds=5)

    got = (await client.get(f"/api/v1/payment-intents/{data['transaction_id']}",
                            headers=merchant.auth())).json()
    assert got["amount"] == 99.99 and got["currency"] == "USD"
    assert got["order_id"] == "ORDER-20240615-001"
    assert got["customer"] == {"name": "Jane Smith", "email": "jane@example.com",
                               "phone": "+1-555-0100"}
    assert got["metadata"] == {"user_id": "42", "plan": "professional"}
    assert got["description"] == "Annual subscription — Professional Plan"
    assert got["cancel_url"] == "https://yoursite.com/order/cancel"
    assert got["status"] == "pending" and got["paid_at"] is None and got["mode"] == "test"
    assert got["status_history"][0]["to_status"] == "pending"


async def test_spec_validation_example_reproduced_exactly(client, merchant: MerchantKeys) -> None:
    body = dict(SPEC_EXAMPLE, gateway="sandbox", currency="ZZZ")
    del body["amount"]
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 400
    assert r.json() == {
        "error": True,
        "message": "Validation failed.",
        "code": "VALIDATION_ERROR",
        "errors": {"amount": ["The amount field is required."],
                   "currency": ["Invalid currency code."]},
    }


async def test_spec_gateway_example_reproduced_exactly(client, merchant: MerchantKeys) -> None:
    r = await client.post("/api/v1/payment-intents", json=SPEC_EXAMPLE, headers=merchant.auth())
    assert r.status_code == 404
    assert r.json() == {
        "error": True,
        "message": "Gateway 'stripe' is not configured or inactive.",
        "code": "GATEWAY_NOT_FOUND",
    }


async def test_every_bad_field_reported_at_once(client, merchant: MerchantKeys) -> None:
    body = {
        "gateway": "sandbox",
        "amount": "12.345",
        "currency": "usd",
        "order_id": "x" * 101,
        "customer_name": "",
        "customer_email": "not-an-email",
        "customer_phone": "1" * 31,
        "description": "d" * 501,
        "return_url": "ftp://example.com/x",
        "cancel_url": "/relative",
        "metadata": {"k" * 41: "v", "ok": {"nested": True}, "long": "x" * 501},
        "expires_in": 30,
        "unknown_field": "refused",
    }
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert set(errors) == {
        "amount", "order_id", "customer_name", "customer_email", "customer_phone",
        "description", "return_url", "cancel_url", "metadata", "expires_in", "unknown_field",
    }
    assert errors["unknown_field"] == ["Unknown field."]
    assert errors["amount"] == ["The amount may have at most 2 decimal places for USD."]
    assert errors["customer_name"] == ["The customer name field is required."]
    assert errors["customer_email"] == ["The customer email must be a valid email address."]
    assert len(errors["metadata"]) == 3


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        (0, "USD", "The amount must be greater than 0."),
        (-5, "USD", "The amount must be greater than 0."),
        ("abc", "USD", "The amount must be a number."),
        (True, "USD", "The amount must be a number."),
        ("1.5", "JPY", "The amount must be a whole number for JPY."),
        ("1.2345", "KWD", "The amount may have at most 3 decimal places for KWD."),
        ("2000000000", "USD", "The amount must not exceed 1000000000.00 USD."),
    ],
)
async def test_amount_rules(client, merchant: MerchantKeys, amount, currency, message) -> None:
    r = await client.post(
        "/api/v1/payment-intents", json=intent_body(amount=amount, currency=currency),
        headers=merchant.auth(),
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {"amount": [message]}


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("500", "JPY", 500), (1.234, "kwd", 1.234), ("0.01", "USD", 0.01), (10, "BDT", 10)],
)
async def test_amounts_round_trip_exactly(client, merchant: MerchantKeys, amount, currency,
                                          expected) -> None:
    r = await client.post(
        "/api/v1/payment-intents", json=intent_body(amount=amount, currency=currency),
        headers=merchant.auth(),
    )
    assert r.status_code == 201, r.text
    got = (await client.get(f"/api/v1/payment-intents/{r.json()['transaction_id']}",
                            headers=merchant.auth())).json()
    assert got["amount"] == expected and got["currency"] == currency.upper()


async def test_exact_decimal_text_never_goes_through_float(client, merchant: MerchantKeys) -> None:
    # 0.1 + float noise: a float-based parser would accept this as 0.10.
    raw = (
        b'{"gateway":"sandbox","amount":0.1000000000000000055511151231257827,"currency":"USD",'
        b'"order_id":"F1","customer_name":"J","customer_email":"j@example.com",'
        b'"return_url":"https://x.example/r"}'
    )
    r = await client.post(
        "/api/v1/payment-intents", content=raw,
        headers={**merchant.auth(), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert "amount" in r.json()["errors"]


async def test_a_misspelt_field_is_refused_and_creates_nothing(client, ctx,
                                                              merchant: MerchantKeys) -> None:
    # "expire_in" used to be dropped silently: the link then lived the default 30 minutes.
    r = await client.post("/api/v1/payment-intents", json=intent_body(expire_in=60),
                          headers=merchant.auth())
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert r.json()["errors"] == {"expire_in": ["Unknown field."]}
    listed = await client.get("/api/v1/transactions", headers=merchant.auth())
    assert listed.json()["data"] == []


async def test_expires_in(client, merchant: MerchantKeys) -> None:
    r = await client.post("/api/v1/payment-intents", json=intent_body(expires_in=3600),
                          headers=merchant.auth())
    expires = datetime.strptime(r.json()["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    for bad in (59, 7 * 86400 + 1, "60", 100.5):
        r = await client.post("/api/v1/payment-intents", json=intent_body(expires_in=bad),
                              headers=merchant.auth())
        assert r.status_code == 400 and "expires_in" in r.json()["errors"], bad


@pytest.mark.parametrize(
    ("content", "ctype", "status", "code"),
    [
        (b"[1,2]", "application/json", 400, "INVALID_JSON"),
        (b"{not json", "application/json", 400, "INVALID_JSON"),
        (b"", "application/json", 400, "INVALID_JSON"),
        (b"gateway=sandbox", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b'{"a":"' + b"x" * (64 * 1024) + b'"}', "application/json", 413, "PAYLOAD_TOO_LARGE"),
    ],
)
async def test_body_errors(client, merchant: MerchantKeys, content, ctype, status, code) -> None:
    r = await client.post(
        "/api/v1/payment-intents", content=content,
        headers={**merchant.auth(), "Content-Type": ctype},
    )
    assert r.status_code == status
    assert r.json()["code"] == code and r.json()["error"] is True


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic abc", "Bearer op_test_short", "Bearer op_test_" + "a" * 39,
     "Bearer sk_live_xyz"],
)
async def test_unauthenticated(client, header) -> None:
    headers = {"Authorization": header} if header else {}
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHENTICATED"


async def test_scopes(client, ctx) -> None:
    from ownpay.merchants import service

    m = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        merchant = await service.get_merchant(s, m.slug)
        read_only = await service.create_api_key(s, merchant=merchant, mode="test",
                                                 scopes=("read",))
    headers = {"Authorization": f"Bearer {read_only.api_key}"}
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "INSUFFICIENT_SCOPE"
    created = await client.post("/api/v1/payment-intents", json=intent_body(), headers=m.auth())
    r = await client.get(f"/api/v1/payment-intents/{created.json()['transaction_id']}",
                         headers=headers)
    assert r.status_code == 200


async def test_tenant_and_mode_isolation(client, ctx) -> None:
    a = await create_merchant(ctx)
    b = await create_merchant(ctx)
    created = await client.post("/api/v1/payment-intents", json=intent_body(), headers=a.auth())
    txn = created.json()["transaction_id"]
    for headers in (b.auth("test"), b.auth("live"), a.auth("live")):
        r = await client.get(f"/api/v1/payment-intents/{txn}", headers=headers)
        assert r.status_code == 404
        assert r.json() == {"error": True, "message": "Payment intent not found.",
                            "code": "NOT_FOUND"}
    assert (await client.get(f"/api/v1/payment-intents/{txn}", headers=a.auth())).status_code == 200
    # sandbox is test-only: a live key cannot use it even though the slug exists
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=a.auth("live"))
    assert r.status_code == 404 and r.json()["code"] == "GATEWAY_NOT_FOUND"
    r = await client.post("/api/v1/payment-intents", json=intent_body(gateway="manual"),
                          headers=a.auth("live"))
    assert r.status_code == 201
    got = await client.get(f"/api/v1/payment-intents/{r.json()['transaction_id']}",
                           headers=a.auth("live"))
    assert got.json()["mode"] == "live"


async def test_revoked_key_is_rejected(client, ctx) -> None:
    from ownpay.merchants import service

    m = await create_merchant(ctx)
    created = await client.post("/api/v1/payment-intents", json=intent_body(), headers=m.auth())
    assert created.status_code == 201
    async with ctx.sessions() as s, s.begin():
        merchant = await service.get_merchant(s, m.slug)
        key_id = [k.id for k in await service.list_api_keys(s, merchant=merchant)
                  if k.mode == "test"][0]
        await service.revoke_api_key(s, key_id=key_id)
    ctx.api_keys.invalidate()
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=m.auth())
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"


async def test_disabled_gateway_is_not_found(client, ctx) -> None:
    from ownpay.merchants import service

    m = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        merchant = await service.get_merchant(s, m.slug)
        await service.disable_gateway(s, merchant=merchant, mode="test", gateway="sandbox")
    ctx.gateway_accounts.invalidate()
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=m.auth())
    assert r.status_code == 404
    assert r.json()["message"] == "Gateway 'sandbox' is not configured or inactive."


async def test_idempotency_replay_and_reuse(client, merchant: MerchantKeys) -> None:
    body = orjson.dumps(intent_body())
    headers = {**merchant.auth(), "Content-Type": "application/json", "Idempotency-Key": "key-1"}
    first = await client.post("/api/v1/payment-intents", content=body, headers=headers)
    second = await client.post("/api/v1/payment-intents", content=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers.get("Idempotent-Replayed") == "true"
    other = await client.post(
        "/api/v1/payment-intents", content=orjson.dumps(intent_body(amount=1)), headers=headers
    )
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    # keys are per merchant+mode: the live key may reuse the name
    live = await client.post(
        "/api/v1/payment-intents", content=orjson.dumps(intent_body(gateway="manual")),
        headers={**headers, **merchant.auth("live")},
    )
    assert live.status_code == 201


async def test_idempotency_under_20_concurrent_requests(client, ctx,
                                                        merchant: MerchantKeys) -> None:
    from sqlalchemy import func, select

    from ownpay.payments.models import PaymentIntent

    body = orjson.dumps(intent_body(order_id="CONCURRENT-1"))
    headers = {**merchant.auth(), "Content-Type": "application/json",
               "Idempotency-Key": "concurrent"}
    responses = await asyncio.gather(
        *[client.post("/api/v1/payment-intents", content=body, headers=headers) for _ in range(20)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    async with ctx.sessions() as s:
        count = await s.scalar(
            select(func.count()).select_from(PaymentIntent).where(
                PaymentIntent.merchant_id == merchant.id, PaymentIntent.order_id == "CONCURRENT-1"
            )
        )
    assert count == 1


async def test_order_already_paid(client, ctx, merchant: MerchantKeys) -> None:
    from ownpay.payments import service

    first = await client.post("/api/v1/payment-intents", json=intent_body(order_id="PAID-1"),
                              headers=merchant.auth())
    again = await client.post("/api/v1/payment-intents", json=intent_body(order_id="PAID-1"),
                              headers=merchant.auth())
    assert again.status_code == 201  # unpaid order: a new intent is fine
    async with ctx.sessions() as s, s.begin():
        await service.transition(
            s, payment_id=first.json()["transaction_id"], merchant_id=merchant.id,
            expected="pending", to="completed", actor="test",
        )
    r = await client.post("/api/v1/payment-intents", json=intent_body(order_id="PAID-1"),
                          headers=merchant.auth())
    assert r.status_code == 409
    assert r.json() == {"error": True, "message": "Order 'PAID-1' has already been paid.",
                        "code": "ORDER_ALREADY_PAID"}
    live = await client.post("/api/v1/payment-intents",
                             json=intent_body(order_id="PAID-1", gateway="manual"),
                             headers=merchant.auth("live"))
    assert live.status_code == 201  # another mode is another book


async def test_merchant_base_url_is_used(client, ctx) -> None:
    m = await create_merchant(ctx, base_url="https://pay.brand.example")
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=m.auth())
    assert r.json()["payment_url"].startswith("https://pay.brand.example/checkout/txn_")


async def test_health_and_openapi(client) -> None:
    r = await client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["database"] == "ok"
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"]["/api/v1/payment-intents"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "413", "415"} <= set(op["responses"])
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    required = {"gateway", "amount", "currency", "order_id", "customer_email", "return_url"}
    assert required <= set(schema["required"])
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert (await client.get("/docs-assets/swagger-ui-bundle.js")).status_code == 200


async def test_unknown_route_uses_envelope(client) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


async def test_revocation_reaches_other_processes_within_cache_ttl(ctx) -> None:
    """Another process's revoke is seen once this process's cache entry (TTL) runs out."""
    from ownpay.cache import TTLCache
    from ownpay.context import AppContext
    from ownpay.errors import Unauthenticated
    from ownpay.merchants import auth, service

    m = await create_merchant(ctx)
    other = AppContext(settings=ctx.settings, engine=ctx.engine, sessions=ctx.sessions,
                       keyring=ctx.keyring, api_keys=TTLCache(0.3))
    principal = await auth.load_principal(other, m.test_key)
    async with ctx.sessions() as s, s.begin():
        await service.revoke_api_key(s, key_id=principal.api_key_id)
    # still cached in the other process: documented staleness of at most the TTL
    assert (await auth.load_principal(other, m.test_key)).api_key_id == principal.api_key_id
    await asyncio.sleep(0.35)
    with pytest.raises(Unauthenticated):
        await auth.load_principal(other, m.test_key)


async def test_last_used_at_is_recorded(client, ctx) -> None:
    from ownpay.merchants import service

    m = await create_merchant(ctx)
    await client.post("/api/v1/payment-intents", json=intent_body(), headers=m.auth())
    for _ in range(50):  # written off the request path; bounded wait
        async with ctx.sessions() as s:
            merchant = await service.get_merchant(s, m.slug)
            keys = {k.mode: k for k in await service.list_api_keys(s, merchant=merchant)}
        if keys["test"].last_used_at is not None:
            break
        await asyncio.sleep(0.05)
    assert keys["test"].last_used_at is not None and keys["live"].last_used_at is None
