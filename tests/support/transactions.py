"""Transaction-query helpers: a known set of payments per merchant and mode (the ``world``
fixture in ``tests/transactions/conftest.py`` seeds it once per module).

Rows are inserted as ``pending`` intents with chosen creation times (the API stamps "now",
and date filters need a spread), then moved through the real state machine
(``payments.service.transition``: history, fee, ledger and outbox as in production) and
refunded through ``POST /api/v1/refunds``.  ``World.expected`` is the oracle every listing
is compared with: the same rows, filtered and ordered in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, insert

from ownpay.context import AppContext
from ownpay.ids import transaction_id
from ownpay.payments import service as payments
from ownpay.payments.models import PaymentIntent
from ownpay.transactions.schemas import Position, encode_cursor
from tests.support.factories import MerchantKeys

BASE = datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
Where = Callable[["Spec"], bool]
TABLE = cast(Table, PaymentIntent.__table__)
# A legal path from pending to each status (refunded ones also go through the refunds API).
PATHS: dict[str, tuple[str, ...]] = {
    "pending": (),
    "processing": ("processing",),
    "awaiting_verification": ("awaiting_verification",),
    "completed": ("completed",),
    "failed": ("failed",),
    "cancelled": ("cancelled",),
    "expired": ("expired",),
    "partially_refunded": ("completed",),
    "refunded": ("completed",),
}


@dataclass(frozen=True)
class Spec:
    """One seeded payment as the oracle knows it."""

    id: str
    merchant_id: int
    mode: str
    created_at: datetime
    status: str = "pending"
    gateway: str = "sandbox"
    amount_minor: int = 1000
    currency: str = "USD"
    order_id: str = ""
    customer_name: str = "Jane Smith"
    customer_email: str = "jane@example.com"
    customer_phone: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    refunded_minor: int = 0

    def key(self) -> tuple[datetime, str]:
        return (self.created_at, self.id)


def spec(merchant: MerchantKeys, created_at: datetime, *, mode: str = "test",
         **fields: Any) -> Spec:
    txn = transaction_id()
    fields.setdefault("order_id", f"ORD-{txn[-6:]}")
    return Spec(id=txn, merchant_id=merchant.id, mode=mode, created_at=created_at, **fields)


async def insert_specs(ctx: AppContext, specs: list[Spec]) -> None:
    """Insert as pending intents (bulk), then walk each to its status."""
    # Far-off expiry and an inert gateway for ``processing``: a worker running in the same
    # database (the shared live_server's) must not expire or settle the seeded rows.
    expires_at = datetime.now(UTC) + timedelta(days=7)
    rows = [{
        "id": s.id, "merchant_id": s.merchant_id, "mode": s.mode, "gateway": s.gateway,
        "status": "pending", "amount_minor": s.amount_minor, "currency": s.currency,
        "order_id": s.order_id, "customer_name": s.customer_name,
        "customer_email": s.customer_email, "customer_phone": s.customer_phone,
        "description": s.description, "return_url": "https://shop.example/return",
        "metadata": s.metadata, "created_at": s.created_at, "updated_at": s.created_at,
        "expires_at": expires_at, "attempts": 0,
    } for s in specs]
    async with ctx.sessions() as session, session.begin():
        for start in range(0, len(rows), 500):
            await session.execute(insert(TABLE), rows[start:start + 500])
    for s in specs:
        if PATHS[s.status]:
            await move(ctx, s, PATHS[s.status])


async def move(ctx: AppContext, s: Spec, path: tuple[str, ...]) -> None:
    async with ctx.sessions() as session, session.begin():
        current = "pending"
        for to in path:
            moved = await payments.transition(
                session, payment_id=s.id, merchant_id=s.merchant_id, expected=current, to=to,
                actor="test:seed", reason=f"seeded {to}",
            )
            assert moved is not None
            current = to


def ordered(specs: list[Spec]) -> list[Spec]:
    return sorted(specs, key=Spec.key, reverse=True)


@dataclass
class World:
    """Merchant ``a`` (test and live rows) and merchant ``b`` (test rows), seeded once."""

    a: MerchantKeys
    b: MerchantKeys
    specs: list[Spec] = field(default_factory=list)

    def expected(self, merchant: MerchantKeys | None = None, mode: str = "test",
                 where: Callable[[Spec], bool] = lambda s: True) -> list[str]:
        merchant = merchant or self.a
        return [s.id for s in ordered(self.specs)
                if s.merchant_id == merchant.id and s.mode == mode and where(s)]

    def by_id(self, txn: str) -> Spec:
        return next(s for s in self.specs if s.id == txn)


EMAILS = ("Jane@Example.com", "jane@example.com", "bob@example.org", "ALICE@shop.test",
          "jane@example.co")
STATUS_CYCLE = ("completed", "failed", "pending", "cancelled", "expired", "processing",
                "awaiting_verification", "completed")
GATEWAYS = ("sandbox", "manual", "stripe")
AMOUNTS = (("USD", 1000), ("USD", 9999), ("JPY", 500), ("USD", 25050), ("KWD", 1234),
           ("USD", 100), ("JPY", 12000))


def world_specs(a: MerchantKeys, b: MerchantKeys) -> list[Spec]:
    specs: list[Spec] = []
    for i in range(36):
        # Rows 10-12 share one creation time: the id must break the tie.
        at = BASE + timedelta(hours=7 * (10 if 10 <= i <= 12 else i))
        currency, amount = AMOUNTS[i % len(AMOUNTS)]
        status = STATUS_CYCLE[i % len(STATUS_CYCLE)]
        gateway = GATEWAYS[i % len(GATEWAYS)]
        if status == "completed" and i % 3 == 0:
            gateway = "sandbox"
        if status == "processing":
            gateway = "manual"  # no status query: the worker leaves it alone
        specs.append(spec(a, at, status=status, gateway=gateway, currency=currency,
                          amount_minor=amount, customer_email=EMAILS[i % len(EMAILS)],
                          metadata={"i": str(i)} if i % 2 else None))
    # Two refunded payments (sandbox refunds complete at once) and their partial sibling.
    for i, status in enumerate(("refunded", "partially_refunded", "refunded")):
        specs.append(spec(a, BASE + timedelta(days=20, hours=i), status=status,
                          gateway="sandbox", amount_minor=5000,
                          refunded_minor=5000 if status == "refunded" else 1250))
    for i in range(4):  # live mode of the same merchant: same emails and gateways
        specs.append(spec(a, BASE + timedelta(hours=3 + 7 * i), mode="live", status="pending",
                          gateway="manual", customer_email="jane@example.com"))
    for i in range(6):  # another merchant: same emails, order ids and statuses
        specs.append(spec(b, BASE + timedelta(hours=5 + 7 * i), status="completed",
                          gateway="sandbox", customer_email=EMAILS[i % 2],
                          order_id=specs[i].order_id))
    return specs


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pay.test")


async def put_fee_rule(client: httpx.AsyncClient, merchant: MerchantKeys) -> None:
    r = await client.put("/api/v1/fee-rules", headers=merchant.auth(), json={
        "gateway": "sandbox", "currency": "USD", "flat": "0.30", "percent": "2.9"})
    assert r.status_code == 200, r.text


async def refund_through_api(client: httpx.AsyncClient, merchant: MerchantKeys,
                             s: Spec) -> None:
    r = await client.post("/api/v1/refunds", headers=merchant.auth(), json={
        "transaction_id": s.id, "amount": str(s.refunded_minor / 100)})
    assert r.status_code == 201 and r.json()["status"] == "completed", r.text


async def walk(client: httpx.AsyncClient, merchant: MerchantKeys, params: dict[str, Any],
               *, mode: str = "test", between: Callable[[], Any] | None = None,
               max_pages: int = 200) -> list[dict[str, Any]]:
    """Follow next_cursor to the end; returns every item in the order received."""
    items: list[dict[str, Any]] = []
    query = dict(params)
    for _ in range(max_pages):
        r = await client.get("/api/v1/transactions", params=query, headers=merchant.auth(mode))
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["data"])
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return items
        assert body["next_cursor"] and len(body["data"]) == int(query.get("limit", 20))
        query["cursor"] = body["next_cursor"]
        if between is not None:
            await between()
    raise AssertionError("pagination did not end")


def cursor_in_the_middle(world: World) -> str:
    """A cursor positioned at merchant a's middle test-mode row."""
    ids = world.expected()
    middle = world.by_id(ids[len(ids) // 2])
    return encode_cursor(Position(created_at=middle.created_at, transaction_id=middle.id))
