"""``/api/v1/customers``: PII encrypted at rest (a raw read shows no plaintext), lookups by
digest, phone normalisation, idempotent creation, changes, tenant isolation, scopes, bad
input refused in our envelope with nothing changed, and audit rows without PII."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from ownpay.audit.models import AuditEntry
from ownpay.customers.models import Customer
from tests.support.factories import create_merchant, extra_key

pytestmark = pytest.mark.api
CUSTOMERS = "/api/v1/customers"
AYESHA = {"name": "Ayesha Rahman", "email": "Ayesha.Rahman@Example.com",
          "phone": "01712-345678", "metadata": {"crm_id": "C-1042", "vip": True}}


async def count(ctx: Any, merchant_id: int) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Customer).where(
            Customer.merchant_id == merchant_id)) or 0)


async def test_a_customer_is_encrypted_at_rest_and_read_back(client: httpx.AsyncClient,
                                                             ctx: Any) -> None:
    shop = await create_merchant(ctx)
    r = await client.post(CUSTOMERS, headers=shop.auth(), json=AYESHA)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["id"].startswith("cus_") and len(made["id"]) == 20
    assert (made["name"], made["email"], made["phone"]) == (
        "Ayesha Rahman", "Ayesha.Rahman@Example.com", "+8801712345678")
    assert made["metadata"] == {"crm_id": "C-1042", "vip": True}
    assert (made["mode"], made["forgotten"], made["forgotten_at"]) == ("test", False, None)
    got = await client.get(f"{CUSTOMERS}/{made['id']}", headers=shop.auth())
    assert got.status_code == 200 and got.json() == made
    async with ctx.engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT name_enc, email_enc, phone_enc, email_digest, phone_digest "
            "FROM customers WHERE id = :id"), {"id": made["id"]})).one()
    raw = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                   for v in row)
    for plain in (b"Ayesha", b"ayesha", b"Example.com", b"example.com", b"1712345678"):
        assert plain not in raw, plain
    assert len(row.email_digest) == 64 and len(row.phone_digest) == 64
    async with ctx.sessions() as s:
        [audit] = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "customer.created", AuditEntry.object_id == made["id"])))
    assert audit.merchant_id == shop.id
    assert audit.changes == {"fields": ["email", "metadata", "name", "phone"]}


async def test_lookups_by_email_and_phone_go_through_the_digest(client: httpx.AsyncClient,
                                                                ctx: Any) -> None:
    shop = await create_merchant(ctx)
    made = (await client.post(CUSTOMERS, headers=shop.auth(), json=AYESHA)).json()
    await client.post(CUSTOMERS, headers=shop.auth(), json={"email": "someone@example.com"})
    for params in ({"email": "ayesha.rahman@example.com"},
                   {"email": "  AYESHA.RAHMAN@EXAMPLE.COM "},
                   {"phone": "+8801712345678"}, {"phone": "01712345678"},
                   {"phone": "0171 234 5678"}, {"phone": "+880 1712-345678"},
                   {"email": "ayesha.rahman@example.com", "phone": "01712345678"}):
        r = await client.get(CUSTOMERS, headers=shop.auth(), params=params)
        assert r.status_code == 200, r.text
        assert [c["id"] for c in r.json()["data"]] == [made["id"]], params
    none = await client.get(CUSTOMERS, headers=shop.auth(), params={"phone": "01812345678"})
    assert none.json()["data"] == []
    for params, field in (({"phone": "০১৭১২৩৪৫৬৭৮"}, "phone"), ({"phone": "12"}, "phone"),
                          ({"email": "not-an-email"}, "email")):
        r = await client.get(CUSTOMERS, headers=shop.auth(), params=params)
        assert r.status_code == 400 and field in r.json()["errors"], r.text
    everyone = (await client.get(CUSTOMERS, headers=shop.auth())).json()
    assert len(everyone["data"]) == 2 and everyone["has_more"] is False


async def test_one_email_or_phone_is_one_customer(client: httpx.AsyncClient, ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    assert (await client.post(CUSTOMERS, headers=shop.auth(), json=AYESHA)).status_code == 201
    for body, field in (({"email": "ayesha.rahman@EXAMPLE.com"}, "email"),
                        ({"phone": "+8801712345678"}, "phone")):
        r = await client.post(CUSTOMERS, headers=shop.auth(), json=body)
        assert r.status_code == 400 and field in r.json()["errors"], r.text
    assert await count(ctx, shop.id) == 1
    # Another brand, or the other mode, has its own customers.
    assert (await client.post(CUSTOMERS, headers=other.auth(), json=AYESHA)).status_code == 201
    assert (await client.post(CUSTOMERS, headers=shop.auth("live"),
                              json=AYESHA)).status_code == 201


async def test_creation_replays_with_its_idempotency_key(client: httpx.AsyncClient,
                                                         ctx: Any) -> None:
    shop = await create_merchant(ctx)
    headers = {**shop.auth(), "Idempotency-Key": "cust-1"}
    first = await client.post(CUSTOMERS, headers=headers, json={"email": "a@example.com"})
    again = await client.post(CUSTOMERS, headers=headers, json={"email": "a@example.com"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(CUSTOMERS, headers=headers, json={"email": "b@example.com"})
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count(ctx, shop.id) == 1


async def test_a_change_touches_only_what_is_sent(client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    made = (await client.post(CUSTOMERS, headers=shop.auth(), json=AYESHA)).json()
    taken = (await client.post(CUSTOMERS, headers=shop.auth(),
                               json={"email": "taken@example.com"})).json()
    url = f"{CUSTOMERS}/{made['id']}"
    r = await client.patch(url, headers=shop.auth(), json={"phone": "+880 1812 345678",
                                                           "name": None})
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["name"], after["email"], after["phone"]) == (
        None, made["email"], "+8801812345678")
    found = await client.get(CUSTOMERS, headers=shop.auth(), params={"phone": "01812345678"})
    assert [c["id"] for c in found.json()["data"]] == [made["id"]]
    old = await client.get(CUSTOMERS, headers=shop.auth(), params={"phone": "01712345678"})
    assert old.json()["data"] == []
    for body, field in (({}, "request"), ({"email": "TAKEN@example.com"}, "email"),
                        ({"phone": "০১৮১২৩৪৫৬৭৮"}, "phone"), ({"colour": "red"}, "colour"),
                        ({"metadata": {"k": "x" * 501}}, "metadata"),
                        ({"name": "x" * 5000}, "name")):
        r = await client.patch(url, headers=shop.auth(), json=body)
        assert r.status_code == 400 and field in r.json()["errors"], (body, r.text)
    assert (await client.get(url, headers=shop.auth())).json() == after
    assert taken["id"] != made["id"]
    async with ctx.sessions() as s:
        [row] = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "customer.updated", AuditEntry.object_id == made["id"])))
    assert row.changes == {"fields": ["name", "phone"]}


@pytest.mark.parametrize("body, fields", [
    ({"name": "x" * 5000, "email": "e" * 5000, "phone": "1" * 5000}, {"name", "email", "phone"}),
    ({"email": "not an email", "phone": "+8801712345678x"}, {"email", "phone"}),
    ({"phone": "০১৭১২৩৪৫৬৭৮"}, {"phone"}),  # Bengali digits
    ({"phone": "٠١٧١٢٣٤٥٦٧٨"}, {"phone"}),  # Arabic-Indic digits
    ({"phone": "+1-555-0100"}, {"phone"}),  # not a real number
    ({"name": 5, "email": ["a@example.com"]}, {"name", "email"}),
    ({"metadata": "x"}, {"metadata"}),
    ({}, {"request"}),
    ({"name": "  "}, {"request"}),
    ({"nickname": "A"}, {"nickname"}),
])
async def test_bad_input_is_refused_at_once_and_nothing_is_made(
        client: httpx.AsyncClient, ctx: Any, body: dict[str, Any], fields: set[str]) -> None:
    shop = await create_merchant(ctx)
    r = await client.post(CUSTOMERS, headers=shop.auth(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "VALIDATION_ERROR" and set(r.json()["errors"]) >= fields, r.text
    assert await count(ctx, shop.id) == 0


@pytest.mark.parametrize("raw", [
    b'{"name": "A\\u0000B"}', b'{"email": "\\ud800@example.com"}', b'{"name": ',
    b'["a@example.com"]'])
async def test_unreadable_bodies_are_refused_in_our_envelope(client: httpx.AsyncClient,
                                                             ctx: Any, raw: bytes) -> None:
    shop = await create_merchant(ctx)
    r = await client.post(CUSTOMERS, headers={**shop.auth(), "Content-Type":
                                              "application/json"}, content=raw)
    assert r.status_code == 400 and r.json()["error"] is True, r.text
    assert r.json()["code"] == "INVALID_JSON"
    assert await count(ctx, shop.id) == 0


async def test_another_brand_or_mode_sees_404_and_scopes_hold(client: httpx.AsyncClient,
                                                              ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    made = (await client.post(CUSTOMERS, headers=shop.auth(), json=AYESHA)).json()
    url = f"{CUSTOMERS}/{made['id']}"
    for headers in (other.auth(), shop.auth("live")):
        assert (await client.get(url, headers=headers)).status_code == 404
        assert (await client.get(url + "/payments", headers=headers)).status_code == 404
        assert (await client.patch(url, headers=headers, json={"name": "B"})).status_code == 404
        assert (await client.post(url + "/forget", headers=headers)).status_code == 404
        listed = await client.get(CUSTOMERS, headers=headers,
                                  params={"email": AYESHA["email"]})
        assert listed.json()["data"] == []
        bad_cursor = await client.get(CUSTOMERS, headers=headers,
                                      params={"starting_after": made["id"]})
        assert bad_cursor.status_code == 400
    reader = await extra_key(ctx, shop, ("read",))
    assert (await client.post(CUSTOMERS, headers=reader, json=AYESHA)).status_code == 403
    assert (await client.post(url + "/forget", headers=reader)).status_code == 403
    assert (await client.get(url, headers=reader)).status_code == 200
    assert (await client.get(url, headers=shop.auth())).json() == made


async def test_pages_of_customers(client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    made = [(await client.post(CUSTOMERS, headers=shop.auth(), json={
        "email": f"c{n}@example.com"})).json()["id"] for n in range(5)]
    first = (await client.get(CUSTOMERS, headers=shop.auth(), params={"limit": 2})).json()
    assert first["has_more"] and [x["id"] for x in first["data"]] == made[:-3:-1]
    rest = (await client.get(CUSTOMERS, headers=shop.auth(), params={
        "limit": 10, "starting_after": first["next_cursor"]})).json()
    assert [x["id"] for x in rest["data"]] == made[2::-1] and not rest["has_more"]
    bad = await client.get(CUSTOMERS, headers=shop.auth(), params={"starting_after": "cus_x"})
    assert bad.status_code == 400 and "starting_after" in bad.json()["errors"]
