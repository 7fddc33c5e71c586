"""Contracts that only a real deployment can show: a real ``ownpay serve`` (two HTTP worker
processes on PostgreSQL, one on SQLite) and the ``ownpay`` CLI as separate processes.

* 20 concurrent identical requests with one ``Idempotency-Key`` create exactly one intent
  and all get the same answer -- across processes, not only inside one event loop.
* A key revoked from another process (the CLI) is refused by every server process once
  ``OWNPAY_AUTH_CACHE_TTL`` has passed, as docs/operations.md promises.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.payments.models import PaymentIntent
from tests.support.commands import ownpay_cli
from tests.support.factories import create_merchant, intent_body
from tests.support.processes import ServerProcess, server_env, start_server

pytestmark = pytest.mark.e2e

AUTH_CACHE_TTL = 2.0


@pytest.fixture(scope="module")
def server(
    database_url: str, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("live-api")
    env = server_env(
        database_url, data,
        OWNPAY_WORKERS="2" if backend == "postgresql" else "1",
        OWNPAY_AUTH_CACHE_TTL=str(AUTH_CACHE_TTL),
        OWNPAY_RUN_WORKER="false",
    )
    proc = start_server(env, data / "server.log")
    try:
        yield proc
    finally:
        proc.stop()


@dataclass(frozen=True)
class Tenant:
    merchant_id: int
    key: str
    key_id: int


async def new_tenant(ctx: AppContext) -> Tenant:
    made = await create_merchant(ctx)
    async with ctx.sessions() as s:
        row = await merchants.get_merchant(s, made.slug)
        key_id = next(k.id for k in await merchants.list_api_keys(s, merchant=row)
                      if k.mode == "test")
    return Tenant(merchant_id=made.id, key=made.test_key, key_id=key_id)


async def test_twenty_concurrent_identical_requests_create_one_intent(
    server: ServerProcess, ctx: AppContext
) -> None:
    tenant = await new_tenant(ctx)
    order_id = "IDEM-" + secrets.token_hex(4)
    body = orjson.dumps(intent_body(order_id=order_id))
    headers = {"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json",
               "Idempotency-Key": "checkout-" + secrets.token_hex(6)}
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
        responses = await asyncio.gather(*[
            client.post("/api/v1/payment-intents", content=body, headers=headers)
            for _ in range(20)
        ])
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    replays = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replays.count("true") == 19 and replays.count(None) == 1
    async with ctx.sessions() as s:
        count = await s.scalar(select(func.count()).select_from(PaymentIntent).where(
            PaymentIntent.merchant_id == tenant.merchant_id, PaymentIntent.order_id == order_id))
    assert count == 1
    # The same key with another body is refused, not silently replayed.
    other = orjson.dumps(intent_body(order_id=order_id, amount="1.00"))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.post("/api/v1/payment-intents", content=other, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_revocation_from_another_process_applies_within_the_cache_ttl(
    server: ServerProcess, ctx: AppContext
) -> None:
    tenant = await new_tenant(ctx)
    auth = {"Authorization": f"Bearer {tenant.key}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        # Warm every server process's key cache (requests spread over the workers).
        made = await client.post("/api/v1/payment-intents", json=intent_body(), headers=auth)
        assert made.status_code == 201, made.text
        path = f"/api/v1/payment-intents/{made.json()['transaction_id']}"
        for _ in range(10):
            assert (await client.get(path, headers=auth)).status_code == 200

        revoked = ownpay_cli(server.env, "api-keys", "revoke", str(tenant.key_id), "--json")
        assert json.loads(revoked.stdout) == {"id": tenant.key_id, "revoked": True}
        # The documented bound: once the TTL has run out, no process accepts the key.
        await asyncio.sleep(AUTH_CACHE_TTL + 0.5)
        answers = [await client.get(path, headers=auth) for _ in range(10)]
    assert [r.status_code for r in answers] == [401] * 10, [r.text for r in answers]
    assert all(r.json()["code"] == "UNAUTHENTICATED" for r in answers)
