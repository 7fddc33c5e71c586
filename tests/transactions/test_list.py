"""``GET /api/v1/transactions`` and ``GET /api/v1/transactions/{id}`` over HTTP, on both
engines: every filter and combinations against an oracle, validation, cursor pagination
(also while payments are being created), tenant and mode isolation, scopes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.timefmt import iso_required
from ownpay.transactions.schemas import Position, decode_cursor, encode_cursor
from tests.support.factories import create_merchant, intent_body
from tests.support.transactions import BASE, Spec, Where, World, insert_specs, spec, walk


async def ids(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], *, mode: str = "test",
) -> list[str]:
    return [item["transaction_id"] for item in await walk(client, world.a, params, mode=mode)]


async def test_unfiltered_listing_is_every_row_newest_first(
    client: httpx.AsyncClient, world: World,
) -> None:
    r = await client.get("/api/v1/transactions", headers=world.a.auth())
    assert r.status_code == 200, r.text
    body = r.json()
    expected = world.expected()
    assert len(expected) > 20
    assert [t["transaction_id"] for t in body["data"]] == expected[:20]  # default limit 20
    assert body["has_more"] is True and body["next_cursor"]
    assert r.headers["cache-control"] == "no-store"
    assert await ids(client, world, {"limit": 100}) == expected


async def test_an_item_has_every_field(client: httpx.AsyncClient, world: World) -> None:
    refunded = next(s for s in world.specs if s.status == "partially_refunded")
    items = await walk(client, world.a, {"limit": 100})
    item = next(t for t in items if t["transaction_id"] == refunded.id)
    assert set(item) == {
        "transaction_id", "status", "mode", "gateway", "amount", "currency", "fee",
        "net_amount", "refunded_amount", "order_id", "customer", "description", "metadata",
        "created_at", "paid_at"}
    assert (item["status"], item["mode"], item["gateway"]) == (
        "partially_refunded", "test", "sandbox")
    # USD 50.00 under the fee rule 0.30 + 2.9 %: 1.45 + 0.30 = 1.75; 12.50 refunded so far.
    assert (item["amount"], item["currency"], item["fee"], item["net_amount"]) == (
        50, "USD", 1.75, 48.25)
    assert item["refunded_amount"] == 12.5
    assert item["customer"] == {"name": "Jane Smith", "email": "jane@example.com",
                                "phone": None}
    assert item["order_id"] == refunded.order_id
    assert item["created_at"] == iso_required(refunded.created_at)
    assert item["paid_at"] and item["paid_at"].endswith("Z")
    pending = next(t for t in items if t["status"] == "pending")
    assert pending["fee"] is None and pending["net_amount"] is None
    assert pending["paid_at"] is None and pending["refunded_amount"] == 0
    with_meta = next(t for t in items if t["metadata"])
    assert with_meta["metadata"] == world.by_id(with_meta["transaction_id"]).metadata


def _in_range(lo: int | None, hi: int | None, currency: str) -> Where:
    return lambda s: s.currency == currency and (lo is None or s.amount_minor >= lo) and (
        hi is None or s.amount_minor <= hi)


FILTERS: list[tuple[str, dict[str, Any], Any]] = [
    ("one status", {"status": "completed"}, lambda s: s.status == "completed"),
    ("statuses comma", {"status": "failed,cancelled"},
     lambda s: s.status in ("failed", "cancelled")),
    ("statuses repeated", {"status": ["refunded", "partially_refunded", "expired"]},
     lambda s: s.status in ("refunded", "partially_refunded", "expired")),
    ("gateway", {"gateway": "manual"}, lambda s: s.gateway == "manual"),
    ("email any case", {"customer_email": "JANE@example.COM"},
     lambda s: s.customer_email.lower() == "jane@example.com"),
    ("email exact, not a prefix", {"customer_email": "jane@example.co"},
     lambda s: s.customer_email == "jane@example.co"),
    ("created from", {"created_from": iso_required(BASE + timedelta(days=5))},
     lambda s: s.created_at >= BASE + timedelta(days=5)),
    ("created to (exclusive)", {"created_to": (BASE + timedelta(hours=70)).isoformat()},
     lambda s: s.created_at < BASE + timedelta(hours=70)),
    ("created range, naive = UTC",
     {"created_from": "2025-03-02T00:00:00", "created_to": "2025-03-06T00:00:00+00:00"},
     lambda s: BASE.replace(day=2, hour=0, microsecond=0) <= s.created_at
     < BASE.replace(day=6, hour=0, microsecond=0)),
    ("currency", {"currency": "jpy"}, lambda s: s.currency == "JPY"),
    ("amount min", {"currency": "USD", "amount_min": "99.99"}, _in_range(9999, None, "USD")),
    ("amount max", {"currency": "USD", "amount_max": "10"}, _in_range(None, 1000, "USD")),
    ("amount range JPY", {"currency": "JPY", "amount_min": "500", "amount_max": "500"},
     _in_range(500, 500, "JPY")),
    ("amount KWD three decimals", {"currency": "KWD", "amount_min": "1.234"},
     _in_range(1234, None, "KWD")),
    ("status + gateway", {"status": "completed", "gateway": "sandbox"},
     lambda s: s.status == "completed" and s.gateway == "sandbox"),
    ("status + email + range",
     {"status": ["completed", "failed", "pending"], "customer_email": "jane@EXAMPLE.com",
      "created_from": iso_required(BASE + timedelta(days=2))},
     lambda s: s.status in ("completed", "failed", "pending")
     and s.customer_email.lower() == "jane@example.com"
     and s.created_at >= BASE + timedelta(days=2)),
    ("gateway + amount + range",
     {"gateway": "sandbox", "currency": "USD", "amount_min": "10.00", "amount_max": "250.50",
      "created_to": iso_required(BASE + timedelta(days=30))},
     lambda s: s.gateway == "sandbox" and _in_range(1000, 25050, "USD")(s)
     and s.created_at < BASE + timedelta(days=30)),
    ("nothing matches", {"status": "completed", "gateway": "no-such-gateway"},
     lambda s: False),
]


@pytest.mark.parametrize(("params", "where"), [(p, w) for _n, p, w in FILTERS],
                         ids=[n for n, _p, _w in FILTERS])
async def test_filters_match_the_oracle(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], where: Where,
) -> None:
    expected = world.expected(where=where)
    got = await ids(client, world, {**params, "limit": 4})
    assert got == expected
    if params.get("gateway") != "no-such-gateway":
        assert expected, "the filter should select something in the seeded data"


async def test_order_id_filter_is_exact(client: httpx.AsyncClient, world: World) -> None:
    target = world.by_id(world.expected()[7])
    assert await ids(client, world, {"order_id": target.order_id}) == [target.id]
    assert await ids(client, world, {"order_id": target.order_id[:-1]}) == []
    assert await ids(client, world, {"order_id": target.order_id.lower()}) == []


async def test_pagination_walk_equals_the_full_set_in_order(
    client: httpx.AsyncClient, world: World,
) -> None:
    expected = world.expected()
    for limit in (1, 3, 7, 100):
        items = await walk(client, world.a, {"limit": limit})
        got = [t["transaction_id"] for t in items]
        assert got == expected, limit
        assert len(set(got)) == len(got)
    # Rows 10-12 of the seed share one created_at: the id orders them, across page ends.
    tied = [s for s in world.specs if s.created_at == BASE + timedelta(hours=70)]
    assert len(tied) == 3
    positions = [expected.index(s.id) for s in tied]
    assert sorted(positions) == list(range(min(positions), min(positions) + 3))


async def test_cursor_is_opaque_and_holds_the_exact_position(
    client: httpx.AsyncClient, world: World,
) -> None:
    r = await client.get("/api/v1/transactions", params={"limit": 2},
                         headers=world.a.auth())
    cursor = r.json()["next_cursor"]
    assert "txn_" not in cursor and ":" not in cursor  # base64url, not a readable id
    last = world.by_id(r.json()["data"][-1]["transaction_id"])
    assert decode_cursor(cursor) == Position(created_at=last.created_at, transaction_id=last.id)


async def test_pages_are_stable_while_payments_are_created(
    client: httpx.AsyncClient, ctx: AppContext, app: Any,
) -> None:
    m = await create_merchant(ctx)
    existing = [spec(m, BASE + timedelta(minutes=i), amount_minor=100 + i) for i in range(23)]
    # Same creation time for a run of rows, to cross a page end inside a tie.
    existing += [spec(m, BASE + timedelta(minutes=11), amount_minor=500 + i) for i in range(5)]
    await insert_specs(ctx, existing)
    before = [s.id for s in sorted(existing, key=Spec.key, reverse=True)]
    created: list[str] = []

    async def create_two() -> None:
        for _ in range(2):
            r = await client.post("/api/v1/payment-intents", json=intent_body(),
                                  headers=m.auth())
            assert r.status_code == 201, r.text
            created.append(r.json()["transaction_id"])

    items = await walk(client, m, {"limit": 4}, between=create_two)
    got = [t["transaction_id"] for t in items]
    assert got == before  # no duplicates, no gaps, same order
    assert len(created) == 12 and not set(created) & set(got)
    # The new rows are all there for a client that starts again.
    fresh = [t["transaction_id"] for t in await walk(client, m, {"limit": 100})]
    assert set(fresh[:len(created)]) == set(created) and fresh[len(created):] == before


async def test_pages_are_stable_under_truly_concurrent_inserts(
    client: httpx.AsyncClient, ctx: AppContext,
) -> None:
    m = await create_merchant(ctx)
    existing = [spec(m, BASE + timedelta(seconds=i)) for i in range(40)]
    await insert_specs(ctx, existing)
    before = [s.id for s in sorted(existing, key=Spec.key, reverse=True)]
    stop = asyncio.Event()
    created = 0

    async def writer() -> None:
        nonlocal created
        for _ in range(60):  # bounded: ends by itself even if the reader fails
            if stop.is_set():
                return
            r = await client.post("/api/v1/payment-intents", json=intent_body(),
                                  headers=m.auth())
            assert r.status_code == 201, r.text
            created += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        pages: list[str] = []
        query: dict[str, Any] = {"limit": 3}
        # The snapshot a client starts from: the first page, then follow the cursors.
        for _ in range(100):
            r = await client.get("/api/v1/transactions", params=query, headers=m.auth())
            assert r.status_code == 200, r.text
            body = r.json()
            pages.extend(t["transaction_id"] for t in body["data"])
            if not body["has_more"]:
                break
            query["cursor"] = body["next_cursor"]
            await asyncio.sleep(0)
    finally:
        stop.set()
        await task
    assert len(pages) == len(set(pages))
    seeded = [t for t in pages if t in set(before)]
    assert seeded == before  # every pre-existing row exactly once, in order
    assert created > 0


async def test_other_merchants_and_modes_never_appear(
    client: httpx.AsyncClient, world: World,
) -> None:
    a_test = set(await ids(client, world, {"limit": 100}))
    a_live = await ids(client, world, {"limit": 100}, mode="live")
    b_test = [t["transaction_id"] for t in await walk(client, world.b, {"limit": 100})]
    assert a_live == world.expected(mode="live") and len(a_live) == 4
    assert b_test == world.expected(world.b) and len(b_test) == 6
    assert not a_test & set(a_live) and not a_test & set(b_test)
    # Filters that match the other tenant's rows (same email, same order id) do not leak them.
    shared_order = world.by_id(b_test[0]).order_id
    for params in ({"customer_email": "jane@example.com"}, {"order_id": shared_order},
                   {"status": "completed", "gateway": "sandbox"}):
        assert not set(await ids(client, world, params)) & set(b_test)
        live = await ids(client, world, params, mode="live")
        assert set(live) <= set(a_live)
    # A cursor from merchant b's listing only positions merchant a's own listing.
    r = await client.get("/api/v1/transactions", params={"limit": 1}, headers=world.b.auth())
    cursor = r.json()["next_cursor"]
    r = await client.get("/api/v1/transactions", params={"limit": 100, "cursor": cursor},
                         headers=world.a.auth())
    assert set(t["transaction_id"] for t in r.json()["data"]) <= a_test


async def test_validation_reports_every_bad_parameter_at_once(
    client: httpx.AsyncClient, world: World,
) -> None:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("status", "completed,bogus"), ("limit", "0"), ("created_from", "yesterday"),
        ("created_to", "2025-13-01"), ("amount_min", "1.00"), ("amount_max", "abc"),
        ("cursor", "not-a-cursor"), ("gateway", "sandbox"), ("gateway", "manual"),
        ("stauts", "completed"), ("order_id", "x" * 101),
    ]
    r = await client.get("/api/v1/transactions", params=params, headers=world.a.auth())
    assert r.status_code == 400
    body = r.json()
    assert (body["error"], body["code"], body["message"]) == (
        True, "VALIDATION_ERROR", "Validation failed.")
    assert set(body["errors"]) == {
        "status", "limit", "created_from", "created_to", "amount_min", "amount_max",
        "cursor", "gateway", "stauts", "order_id"}
    assert "bogus" in body["errors"]["status"][0]
    assert "currency" in body["errors"]["amount_min"][0]
    assert body["errors"]["stauts"] == ["Unknown parameter."]


@pytest.mark.parametrize(("params", "field", "fragment"), [
    ({"currency": "USD", "amount_min": "1.234"}, "amount_min", "at most 2 decimal places"),
    ({"currency": "JPY", "amount_max": "10.5"}, "amount_max", "whole number"),
    ({"currency": "USD", "amount_min": "-1"}, "amount_min", "negative"),
    ({"currency": "USD", "amount_min": "20", "amount_max": "10"}, "amount_max", "less than"),
    ({"currency": "USDX", "amount_min": "1"}, "currency", "3 characters"),
    ({"currency": "ZZZ", "amount_min": "1"}, "currency", "Invalid currency"),
    ({"amount_max": "1"}, "amount_max", "give currency"),
    ({"created_from": "2025-03-05T00:00:00Z", "created_to": "2025-03-05T00:00:00Z"},
     "created_to", "later than"),
    ({"limit": "101"}, "limit", "1 to 100"),
    ({"limit": "ten"}, "limit", "1 to 100"),
    ({"limit": "²"}, "limit", "1 to 100"),
    ({"created_from": "0001-01-01T00:00:00+05:00"}, "created_from", "ISO 8601"),
    ({"status": ""}, "status", "empty"),
    ({"customer_email": "  "}, "customer_email", "empty"),
    ({"cursor": encode_cursor(Position(BASE, "txn_0123456789abcdef"))[:-2] + "!!"},
     "cursor", "not valid"),
])
async def test_one_bad_parameter(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], field: str, fragment: str,
) -> None:
    r = await client.get("/api/v1/transactions", params=params, headers=world.a.auth())
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR" and list(body["errors"]) == [field]
    assert fragment in body["errors"][field][0]


async def test_zero_bounds_and_a_cursor_past_the_end(
    client: httpx.AsyncClient, world: World,
) -> None:
    usd = world.expected(where=lambda s: s.currency == "USD")
    assert await ids(client, world, {"currency": "USD", "amount_min": "0"}) == usd
    oldest = world.by_id(world.expected()[-1])
    cursor = encode_cursor(Position(oldest.created_at, oldest.id))
    r = await client.get("/api/v1/transactions", params={"cursor": cursor},
                         headers=world.a.auth())
    assert r.json() == {"data": [], "has_more": False, "next_cursor": None}


async def test_detail_is_the_item_plus_submission_and_status_history(
    client: httpx.AsyncClient, world: World,
) -> None:
    s = next(x for x in world.specs if x.status == "refunded")
    items = await walk(client, world.a, {"limit": 100})
    item = next(t for t in items if t["transaction_id"] == s.id)
    r = await client.get(f"/api/v1/transactions/{s.id}", headers=world.a.auth())
    assert r.status_code == 200, r.text
    detail = r.json()
    history = detail.pop("status_history")
    assert detail.pop("customer_submission") is None  # a card payment: nothing typed in
    assert detail == item
    assert [h["to_status"] for h in history] == ["pending", "completed", "refunded"]
    assert history[1]["reason"] == "seeded completed" and history[1]["at"].endswith("Z")
    assert (detail["refunded_amount"], detail["net_amount"]) == (50, 48.25)


async def test_detail_of_another_tenant_or_mode_is_404(
    client: httpx.AsyncClient, world: World,
) -> None:
    b_txn = world.expected(world.b)[0]
    live_txn = world.expected(mode="live")[0]
    for headers, txn in ((world.a.auth(), b_txn), (world.a.auth(), live_txn),
                         (world.a.auth("live"), world.expected()[0]),
                         (world.a.auth(), "txn_0000000000000000"), (world.a.auth(), "nope")):
        r = await client.get(f"/api/v1/transactions/{txn}", headers=headers)
        assert r.status_code == 404, (txn, r.text)
        assert r.json()["code"] == "NOT_FOUND" and r.json()["error"] is True
    assert (await client.get(f"/api/v1/transactions/{b_txn}", headers=world.b.auth())
            ).status_code == 200


@pytest.mark.parametrize("path", ["", "/export", "/txn_0000000000000000"])
async def test_scope_read_is_required(
    client: httpx.AsyncClient, ctx: AppContext, world: World, path: str,
) -> None:
    url = "/api/v1/transactions" + path
    r = await client.get(url)
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, world.a.slug)
        key = await merchants.create_api_key(s, merchant=m, mode="test", scopes=("write",))
    r = await client.get(url, headers={"Authorization": f"Bearer {key.api_key}"})
    assert r.status_code == 403 and r.json()["code"] == "INSUFFICIENT_SCOPE"
