"""End to end with real processes on loopback: ``ownpay serve`` (embedded worker) and
``ownpay worker`` deliver to receivers in this process and to PHP's built-in server running
the published PHP receiver; workers are killed with SIGKILL mid-request; two workers share
PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.ports import free_port
from tests.support.processes import server_env, start_server, start_worker, stop_process
from tests.support.receivers import Receiver
from tests.support.webhooks import (
    Contexts,
    add_endpoint,
    client_for,
    create_intent,
    drop_endpoints,
    move,
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
PHP_RECEIVER = ROOT / "tests" / "webhooks" / "receivers" / "verify.php"
SPEC_FIELDS = {
    "event",
    "transaction_id",
    "order_id",
    "amount",
    "currency",
    "status",
    "paid_at",
    "gateway",
}
PHP = shutil.which("php")


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {within} s: {what}")


def php_verifies(secret: str, timestamp: str, signature: str, body: bytes, tmp: Path) -> int:
    body_file = tmp / f"body-{time.monotonic_ns()}.json"
    body_file.write_bytes(body)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OWNPAY_WEBHOOK_SECRET": secret,
        "OWNPAY_TIMESTAMP": timestamp,
        "OWNPAY_SIGNATURE": signature,
        "OWNPAY_BODY_FILE": str(body_file),
    }
    assert PHP is not None
    return subprocess.run(
        [PHP, str(PHP_RECEIVER)], env=env, capture_output=True, timeout=30, check=False
    ).returncode


def start_php(port: int, secret: str) -> subprocess.Popen[bytes]:
    """The published receiver (verify.php) as an endpoint script under PHP's built-in server."""
    assert PHP is not None
    proc = subprocess.Popen(
        [PHP, "-S", f"127.0.0.1:{port}", str(PHP_RECEIVER)],
        env={"PATH": os.environ.get("PATH", ""), "OWNPAY_WEBHOOK_SECRET": secret},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("php -S did not start")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
async def e2e_shop(contexts: Contexts) -> AsyncIterator[MerchantKeys]:
    ctx = contexts()
    shop = await create_merchant(ctx)
    yield shop
    await drop_endpoints(ctx, shop.id)


@pytest.mark.skipif(PHP is None, reason="php is not installed")
async def test_serve_delivers_a_signed_payment_completed_and_retries_to_a_dead_letter(
    contexts: Contexts,
    wh_database_url: str,
    e2e_shop: MerchantKeys,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    ctx = contexts()
    env = server_env(
        wh_database_url,
        tmp_path / "data",
        OWNPAY_WEBHOOK_RETRY_SCHEDULE="1,1",
        OWNPAY_WEBHOOK_TIMEOUT="1",
        OWNPAY_WORKER_INTERVAL="0.1",
        OWNPAY_WEBHOOK_LEASE="5",
    )
    server = start_server(env, tmp_path / "server.log")
    php_port, down_port = free_port(), free_port()
    php_server: subprocess.Popen[bytes] | None = None
    revived: Receiver | None = None
    shop = e2e_shop
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
            ok = await add_endpoint(api, shop, receiver.set("/e2e"), events=["payment.completed"])
            php_ep = await add_endpoint(api, shop, f"http://127.0.0.1:{php_port}/ownpay/webhooks")
            down = await add_endpoint(api, shop, f"http://127.0.0.1:{down_port}/hooks")
            slow = await add_endpoint(api, shop, receiver.set("/slow", delay=2.5))
            php_server = start_php(php_port, php_ep["secret"])
            txn = await create_intent(api, shop, order_id="ORDER-E2E-1", metadata={"user_id": "42"})
            completed_at = time.time()
            await move(ctx, txn, "completed")  # exactly what the checkout does on success

            await receiver.wait_for(lambda r: any(x.path == "/e2e" for x in r), within=15)
            [got] = receiver.received("/e2e")
            assert got.at - completed_at < 10
            payload = json.loads(got.body)
            assert set(payload) == SPEC_FIELDS | {"id", "created_at", "mode", "metadata"}
            assert payload["event"] == "payment.completed" and payload["transaction_id"] == txn
            assert payload["order_id"] == "ORDER-E2E-1" and payload["amount"] == 99.99
            assert payload["currency"] == "USD" and payload["status"] == "completed"
            assert payload["gateway"] == "sandbox" and payload["paid_at"].endswith("Z")
            assert payload["mode"] == "test" and payload["metadata"] == {"user_id": "42"}
            assert payload["id"].startswith("evt_") and payload["created_at"].endswith("Z")
            ts, sig = got.headers["x-ownpay-timestamp"], got.headers["x-ownpay-signature"]
            mac = hmac.new(ok["secret"].encode(), f"{ts}.".encode() + got.body, hashlib.sha256)
            assert sig == "sha256=" + mac.hexdigest()
            assert php_verifies(ok["secret"], ts, sig, got.body, tmp_path) == 0
            assert (
                php_verifies(ok["secret"], ts, sig, got.body.replace(b"99.99", b"0.01"), tmp_path)
                == 1
            )
            assert php_verifies(php_ep["secret"], ts, sig, got.body, tmp_path) == 1

            async def status_of(endpoint: dict[str, Any], want: str) -> dict[str, Any] | None:
                r = await api.get(
                    "/api/v1/webhooks/deliveries",
                    headers=shop.auth(),
                    params={"endpoint_id": endpoint["id"]},
                )
                rows = r.json()["data"]
                return rows[0] if rows and rows[0]["status"] == want else None

            # PHP's built-in server running the published receiver answered 204: it verified
            await eventually(lambda: status_of(php_ep, "succeeded"), within=15, what="PHP accepted")

            dead = await eventually(lambda: status_of(down, "dead"), within=15, what="dead letter")
            detail = (
                await api.get(f"/api/v1/webhooks/deliveries/{dead['id']}", headers=shop.auth())
            ).json()
            assert [a["number"] for a in detail["attempts"]] == [1, 2, 3]
            assert all(
                "connection" in a["error"] and a["status_code"] is None for a in detail["attempts"]
            )
            started = [
                datetime.fromisoformat(a["started_at"].replace("Z", "+00:00"))
                for a in detail["attempts"]
            ]
            # retried on the (compressed) schedule: one second between attempts, not at once
            assert all(
                (b - a).total_seconds() >= 1 for a, b in zip(started, started[1:], strict=False)
            )

            timed_out = await eventually(
                lambda: status_of(slow, "retrying"), within=15, what="slow"
            )
            slow_detail = (
                await api.get(f"/api/v1/webhooks/deliveries/{timed_out['id']}", headers=shop.auth())
            ).json()
            first = slow_detail["attempts"][0]
            assert first["error"].startswith("timeout") and 900 <= first["duration_ms"] < 2400

            revived = Receiver(port=down_port)  # the receiver is back; replay by hand
            r = await api.post(
                f"/api/v1/webhooks/deliveries/{dead['id']}/retry", headers=shop.auth()
            )
            assert r.status_code == 202, r.text
            await eventually(lambda: status_of(down, "succeeded"), within=15, what="replayed")
            [again] = revived.received()
            assert (
                again.delivery_id == dead["id"] and json.loads(again.body)["transaction_id"] == txn
            )
            mac = hmac.new(
                down["secret"].encode(),
                again.headers["x-ownpay-timestamp"].encode() + b"." + again.body,
                hashlib.sha256,
            )
            assert again.headers["x-ownpay-signature"] == "sha256=" + mac.hexdigest()
            assert len(receiver.received("/e2e")) == 1  # delivered once, never repeated
    finally:
        server.stop()
        if php_server is not None:
            php_server.terminate()
            php_server.wait(timeout=10)
        if revived is not None:
            revived.close()


async def _deliveries(ctx: AppContext, endpoint_ids: list[str]) -> list[WebhookDelivery]:
    async with ctx.sessions() as s:
        return list(
            await s.scalars(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
            )
        )


async def _attempt_counts(ctx: AppContext, ids: list[str]) -> Counter[str]:
    async with ctx.sessions() as s:
        rows = await s.execute(
            select(WebhookAttempt.delivery_id, func.count())
            .where(WebhookAttempt.delivery_id.in_(ids))
            .group_by(WebhookAttempt.delivery_id)
        )
        return Counter({str(k): int(v) for k, v in rows.all()})


async def test_sigkill_mid_delivery_loses_nothing(
    contexts: Contexts,
    wh_database_url: str,
    e2e_shop: MerchantKeys,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    ctx = contexts()
    env = server_env(
        wh_database_url,
        tmp_path / "data",
        OWNPAY_WEBHOOK_TIMEOUT="3",
        OWNPAY_WEBHOOK_LEASE="5",
        OWNPAY_WORKER_INTERVAL="0.1",
        OWNPAY_WEBHOOK_PER_ENDPOINT="2",
        OWNPAY_WEBHOOK_RETRY_SCHEDULE="1,1,1",
    )
    async with client_for(ctx) as api:
        endpoint = await add_endpoint(api, e2e_shop, receiver.set("/crash", stall=True))
        txns = [await create_intent(api, e2e_shop) for _ in range(6)]
    for txn in txns:
        await move(ctx, txn, "completed")

    worker = start_worker(env, tmp_path / "worker1.log")
    try:
        in_flight = await receiver.wait_for(lambda r: len(r) >= 2, within=30)
        worker.send_signal(signal.SIGKILL)  # mid-request: the receiver has not answered yet
        worker.wait(timeout=10)
    finally:
        stop_process(worker)
    killed_ids = {r.delivery_id for r in in_flight}
    assert len(killed_ids) == 2  # the per-endpoint limit held the rest back
    receiver.set("/crash")  # answer at once from now on
    receiver.release()
    rows = await _deliveries(ctx, [endpoint["id"]])
    assert len(rows) == 6
    for row in rows:  # nothing was recorded for the requests the kill interrupted
        assert row.attempts == 0 and row.status == "pending"
        assert (row.locked_until is not None) == (row.id in killed_ids)

    worker = start_worker(env, tmp_path / "worker2.log")
    try:

        async def all_done() -> bool:
            return all(r.status == "succeeded" for r in await _deliveries(ctx, [endpoint["id"]]))

        await eventually(all_done, within=40, what="every delivery succeeded after the restart")
    finally:
        stop_process(worker)

    rows = await _deliveries(ctx, [endpoint["id"]])
    got = receiver.received("/crash")
    per_id = Counter(r.delivery_id for r in got)
    assert set(per_id) == {r.id for r in rows}  # every event delivered, none lost
    duplicated = {i for i, n in per_id.items() if n > 1}
    assert duplicated <= killed_ids  # only what was in flight at the kill is sent twice
    assert all(n <= 2 for n in per_id.values())
    for delivery_id in per_id:  # a resend is the same delivery: same id, same bytes
        assert len({r.body for r in got if r.delivery_id == delivery_id}) == 1
    assert {json.loads(r.body)["transaction_id"] for r in got} == set(txns)
    assert all(r.attempts == 1 for r in rows)
    assert set((await _attempt_counts(ctx, [r.id for r in rows])).values()) == {1}


async def test_two_workers_on_postgresql_attempt_each_delivery_once_per_due_time(
    backend: str,
    contexts: Contexts,
    wh_database_url: str,
    e2e_shop: MerchantKeys,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    if backend != "postgresql":
        pytest.skip("several workers need PostgreSQL (SQLite runs the embedded worker)")
    ctx = contexts()
    env = server_env(
        wh_database_url,
        tmp_path / "data",
        OWNPAY_WEBHOOK_RETRY_SCHEDULE="1",
        OWNPAY_WORKER_INTERVAL="0.05",
        OWNPAY_WEBHOOK_CONCURRENCY="4",
        OWNPAY_WEBHOOK_PER_ENDPOINT="2",
        OWNPAY_WEBHOOK_TIMEOUT="5",
    )
    async with client_for(ctx) as api:
        endpoints = [
            await add_endpoint(api, e2e_shop, receiver.set(f"/w{i}", fail_first=1, delay=0.03))
            for i in range(3)
        ]
        workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
        try:
            for _ in range(40):
                await move(ctx, await create_intent(api, e2e_shop), "completed")
            ids = [e["id"] for e in endpoints]

            async def all_done() -> bool:
                rows = await _deliveries(ctx, ids)
                return len(rows) == 120 and all(r.status == "succeeded" for r in rows)

            await eventually(all_done, within=60, what="120 deliveries succeeded")
        finally:
            for w in workers:
                stop_process(w)
    rows = await _deliveries(ctx, ids)
    per_id = Counter((r.path, r.delivery_id) for r in receiver.received())
    assert len(per_id) == 120
    # first attempt answered 500, the retry 200: exactly two requests per delivery, never more
    assert set(per_id.values()) == {2}, Counter(per_id.values())
    assert all(r.attempts == 2 for r in rows)
    assert set((await _attempt_counts(ctx, [r.id for r in rows])).values()) == {2}
    for i in range(2):  # both workers took part
        assert "webhook_attempt" in (tmp_path / f"worker{i}.log").read_text(errors="replace")
