"""Kill the server with SIGKILL in the middle of payments and prove nothing was lost or
done twice: every intent that got a 201 exists, no payment completed twice, and every
completion has exactly one history row and one outbox event."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from tests.support.commands import ownpay_cli
from tests.support.processes import server_env, start_server
from tests.support.settings import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def _pay(client: httpx.AsyncClient, txn: str) -> None:
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    if token:
        await client.post(f"/checkout/{txn}/pay",
                          data={"csrf_token": token.group(1), "outcome": "succeed"})


async def _hammer(url: str, key: str, created: list[str], stop_after: int) -> None:
    """Create intents and pay each twice concurrently until the server dies."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        for i in range(stop_after):
            try:
                r = await client.post("/api/v1/payment-intents", headers=headers, json={
                    "gateway": "sandbox", "amount": "10.00", "currency": "USD",
                    "order_id": f"CRASH-{secrets.token_hex(4)}-{i}", "customer_name": "C",
                    "customer_email": "c@example.com", "return_url": "https://shop.example/r"})
                if r.status_code == 201:
                    txn = r.json()["transaction_id"]
                    created.append(txn)
                    await asyncio.gather(_pay(client, txn), _pay(client, txn))
            except httpx.HTTPError:
                return  # the server is gone


async def test_sigkill_mid_payments_loses_nothing_and_completes_once(database_url: str,
                                                                     tmp_path: Path) -> None:
    env = server_env(database_url, tmp_path / "data", OWNPAY_RUN_WORKER="false")
    slug = "crash-" + secrets.token_hex(4)
    ownpay_cli(env, "migrate")
    ownpay_cli(env, "merchants", "create", "--slug", slug, "--name", "Crash Shop")
    ownpay_cli(env, "gateways", "enable", "sandbox", "--merchant", slug, "--mode", "test")
    import json

    key = json.loads(ownpay_cli(env, "api-keys", "create", "--merchant", slug, "--mode", "test",
                                "--json").stdout)["api_key"]
    server = start_server(env, tmp_path / "server1.log")
    created: list[str] = []
    load = asyncio.create_task(_hammer(server.url, key, created, stop_after=10_000))
    # Polls a list the load task fills; SIGKILL must land while requests are in flight.
    while len(created) < 15 and not load.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    server.stop(signal.SIGKILL)  # mid-flight: requests are in progress
    await asyncio.wait_for(load, timeout=30)
    assert len(created) >= 15

    ctx = AppContext.create(make_settings(database_url, tmp_path / "data"))
    try:
        async with ctx.sessions() as s:
            intents = await s.scalars(select(PaymentIntent).where(PaymentIntent.id.in_(created)))
            rows = {p.id: p.status for p in intents}
        assert set(rows) == set(created)  # every 201 is durable
        assert set(rows.values()) <= {"pending", "completed"}

        # restart and finish the job: the unpaid ones can still be paid, the paid ones cannot
        server = start_server(env, tmp_path / "server2.log")
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                await asyncio.gather(*[_pay(client, t) for t in created])
        finally:
            server.stop()
        async with ctx.sessions() as s:
            for txn in created:
                status = await s.scalar(select(PaymentIntent.status).where(PaymentIntent.id == txn))
                history = await s.scalar(select(func.count()).select_from(PaymentStatusHistory)
                                         .where(PaymentStatusHistory.payment_id == txn))
                events = await s.scalar(select(func.count()).select_from(OutboxEvent)
                                        .where(OutboxEvent.payment_id == txn,
                                               OutboxEvent.type == "payment.completed"))
                assert (status, history, events) == ("completed", 1, 1), txn
    finally:
        await ctx.close()
