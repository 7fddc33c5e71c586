"""Kill the server with SIGKILL while refunds are in flight, restart it with its worker, and
prove: no refund reached the gateway twice (the sandbox provider's own records count every
request per refund id), none that was acknowledged is lost, a client retrying with its
Idempotency-Key never creates a second refund, nothing is left pending, and the ledger
verifies."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.gateways.state import DbStateStore
from ownpay.ledger import verify as ledger_verify
from ownpay.merchants.models import GatewayAccount
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from tests.support.factories import create_merchant
from tests.support.processes import server_env, start_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
PAYMENTS = 8
SLICES = 10  # each payment of 10.00 is refunded 1.00 at a time


@dataclass
class Attempts:
    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key -> refund id
    unanswered: dict[str, str] = field(default_factory=dict)  # idempotency key -> payment


async def _pay(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post("/api/v1/payment-intents", headers=headers, json={
        "gateway": "sandbox", "amount": "10.00", "currency": "USD",
        "order_id": f"KILL-{secrets.token_hex(5)}", "customer_name": "C",
        "customer_email": "c@example.com", "return_url": "https://shop.example/r"})
    assert r.status_code == 201, r.text
    txn = str(r.json()["transaction_id"])
    token = CSRF.search((await client.get(f"/checkout/{txn}")).text)
    assert token
    await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1),
                                                     "outcome": "succeed"})
    return txn


async def _refund(client: httpx.AsyncClient, headers: dict[str, str], txn: str,
                  key: str) -> httpx.Response:
    return await client.post("/api/v1/refunds", json={"transaction_id": txn, "amount": "1.00"},
                             headers={**headers, "Idempotency-Key": key})


async def _hammer(url: str, headers: dict[str, str], txn: str, seen: Attempts) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for i in range(SLICES):
            key = f"{txn}-{i}"
            try:
                r = await _refund(client, headers, txn, key)
            except httpx.HTTPError:
                seen.unanswered[key] = txn
                return  # the server is gone
            assert r.status_code == 201, r.text
            seen.acknowledged[key] = r.json()["id"]


async def test_sigkill_with_refunds_in_flight(database_url: str, ctx: AppContext,
                                              tmp_path: Path) -> None:
    merchant = await create_merchant(ctx, gateways=(("test", "sandbox"),))
    headers = merchant.auth()
    env = server_env(database_url, tmp_path / "data", OWNPAY_RUN_WORKER="false",
                     OWNPAY_RECONCILE_AFTER="1", OWNPAY_GATEWAY_TIMEOUT="2")
    server = start_server(env, tmp_path / "server1.log")
    seen = Attempts()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            txns = [await _pay(client, headers) for _ in range(PAYMENTS)]
        load = [asyncio.create_task(_hammer(server.url, headers, t, seen)) for t in txns]
        # Poll the counter the load tasks fill; every task ends by itself (bounded loop).
        while len(seen.acknowledged) < PAYMENTS * SLICES // 3 and not all(  # noqa: ASYNC110
                t.done() for t in load):
            await asyncio.sleep(0.01)
        server.stop(signal.SIGKILL)  # mid-flight: refund requests are in every stage
        await asyncio.wait_for(asyncio.gather(*load), timeout=30)
    finally:
        server.stop()
    assert seen.acknowledged and seen.unanswered

    async def refunds() -> dict[str, Refund]:
        async with ctx.sessions() as s:
            return {r.id: r for r in await s.scalars(
                select(Refund).where(Refund.merchant_id == merchant.id))}

    after_crash = await refunds()
    assert set(seen.acknowledged.values()) <= set(after_crash)  # no acknowledged refund lost
    in_flight = sorted(r.stage for r in after_crash.values() if r.status == "pending")
    print(f"killed with {len(after_crash)} refunds, in flight: {in_flight}")

    # Restart with the worker: it sends what was never sent and asks about the rest.
    worker_env = {**env, "OWNPAY_RUN_WORKER": "true", "OWNPAY_WORKER_INTERVAL": "0.2"}
    server = start_server(worker_env, tmp_path / "server2.log")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            # clients retry what got no answer, with the same key: never a second refund
            for key, txn in seen.unanswered.items():
                r = await _refund(client, headers, txn, key)
                assert r.status_code == 201, r.text
                if key in seen.acknowledged:
                    assert r.json()["id"] == seen.acknowledged[key]
                seen.acknowledged[key] = r.json()["id"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if all(r.status != "pending" for r in (await refunds()).values()):
                break
            await asyncio.sleep(0.5)
    finally:
        server.stop()

    final = await refunds()
    assert {r.status for r in final.values()} == {"completed"}, {
        r.id: (r.status, r.stage) for r in final.values() if r.status != "completed"}
    assert set(final) == set(seen.acknowledged.values())  # one refund per key, none extra
    assert len(final) == len(seen.acknowledged)

    # The provider's side: every refund arrived exactly once, and nothing else arrived.
    async with ctx.sessions() as s:
        account_id = await s.scalar(select(GatewayAccount.id).where(
            GatewayAccount.merchant_id == merchant.id, GatewayAccount.gateway == "sandbox"))
        paid = {p.id: p for p in await s.scalars(
            select(PaymentIntent).where(PaymentIntent.merchant_id == merchant.id))}
    assert account_id is not None
    store = DbStateStore(ctx, account_id)
    for refund in final.values():
        record = await store.get(f"refund:{refund.id}")
        assert record is not None and record["requests"] == 1, (refund.id, record)
        assert record["amount_minor"] == refund.amount_minor == 100
    for txn, p in paid.items():
        done = sum(r.amount_minor for r in final.values() if r.payment_id == txn)
        assert (p.refunded_minor, p.refund_reserved_minor) == (done, 0)
        assert p.status == ("refunded" if done == 1000 else
                            "partially_refunded" if done else "completed")
    async with ctx.sessions() as s:
        report = await ledger_verify.operator_verify(s, merchant_id=merchant.id)
    assert report.ok, report.as_dict()["problems"]
