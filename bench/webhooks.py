"""Webhook delivery benchmark: deliveries per second and completion-to-receipt latency.

    .venv/bin/python bench/webhooks.py [--database-url postgresql://postgres@127.0.0.1:5432/test]

Creates a throw-away PostgreSQL database next to the one named, a merchant with several
webhook endpoints pointing at a local receiver (uvicorn + a bare ASGI app in its own
process), and then, for 1 and 2 ``ownpay worker`` processes:

* **throughput** — completes ``--payments`` payments while no worker runs (so the outbox
  holds ``payments × endpoints`` deliveries), starts the workers and measures deliveries per
  second between the first and the last receipt;
* **latency** — with the workers running, completes payments at ``--rate`` per second for
  ``--seconds`` seconds and measures, per delivery, the time from the commit of the status
  transition (the outbox write) to the receiver reading the request: p50 / p99 / max.

The worker's poll interval is the main term of the latency; it is printed with the figures
(``--interval``, default 1.0 s = the product default).  Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from common import create_database, drop_database, free_port  # bench/common.py
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "B" * 43


# ---- the receiver (runs in its own process) ------------------------------------------------

RECORDS: list[tuple[float, str, str]] = []


async def receiver_app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    now = time.time()
    out = b""
    if scope["method"] == "POST" and scope["path"] != "/reset":
        headers = dict(scope["headers"])
        txn = json.loads(body).get("transaction_id", "")
        RECORDS.append((now, headers.get(b"x-ownpay-delivery", b"").decode(), txn))
    elif scope["path"] == "/reset":
        RECORDS.clear()
    elif scope["path"] == "/dump":
        out = json.dumps(RECORDS).encode()
    elif scope["path"] == "/count":
        out = str(len(RECORDS)).encode()
    await send({"type": "http.response.start", "status": 200 if out else 204,
                "headers": [(b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})


def run_receiver(port: int) -> None:
    import uvicorn

    uvicorn.run(receiver_app, host="127.0.0.1", port=port, log_level="warning",
                access_log=False, loop="uvloop", http="httptools")


# ---- set-up ----------------------------------------------------------------------------------


def wait_port(port: int, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


async def setup(ctx: Any, receiver_url: str, endpoints: int) -> int:
    from ownpay.merchants import service as merchants
    from ownpay.tenancy import TenantScope
    from ownpay.webhooks import service as webhooks

    async with ctx.sessions() as s, s.begin():
        m = await merchants.create_merchant(s, slug="bench-" + secrets.token_hex(3), name="Bench")
        await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test", gateway="sandbox",
                                       values={})
        for i in range(endpoints):
            await webhooks.create_endpoint(
                s, ctx.keyring, ctx.settings, scope=TenantScope(m.id, "test"),
                body={"url": f"{receiver_url}/e{i}", "events": ["payment.completed"]},
            )
        return int(m.id)


async def new_intents(ctx: Any, merchant_id: int, count: int) -> list[str]:
    from ownpay import ids
    from ownpay.db import utcnow
    from ownpay.payments.models import PaymentIntent

    now = utcnow()
    rows = [{
        "id": ids.transaction_id(), "merchant_id": merchant_id, "mode": "test",
        "gateway": "sandbox", "status": "pending", "amount_minor": 9999, "currency": "USD",
        "order_id": f"BENCH-{i}-{secrets.token_hex(3)}", "customer_name": "Bench",
        "customer_email": "bench@example.com", "return_url": "https://shop.example/r",
        "metadata": {"i": str(i)}, "created_at": now, "updated_at": now,
        "expires_at": now + timedelta(hours=1), "attempts": 0,
    } for i in range(count)]
    async with ctx.sessions() as s, s.begin():
        await s.execute(insert(PaymentIntent), rows)
    return [r["id"] for r in rows]


async def complete(ctx: Any, merchant_id: int, txn: str) -> float:
    """One status transition in its own transaction; returns the wall time after COMMIT."""
    from ownpay.payments import service

    async with ctx.sessions() as s, s.begin():
        moved = await service.transition(s, payment_id=txn, merchant_id=merchant_id,
                                         expected="pending", to="completed", actor="bench")
        assert moved is not None
    return time.time()


class Workers:
    def __init__(self, env: dict[str, str], count: int) -> None:
        self.procs = [subprocess.Popen([sys.executable, "-m", "ownpay", "worker"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for _ in range(count)]

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


async def wait_count(client: httpx.AsyncClient, expected: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if int((await client.get("/count")).text or 0) >= expected:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"only {(await client.get('/count')).text} of {expected} deliveries arrived")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# ---- the runs ------------------------------------------------------------------------------


async def throughput(ctx: Any, env: dict[str, str], client: httpx.AsyncClient, merchant_id: int,
                     *, payments: int, endpoints: int, workers: int) -> dict[str, float]:
    await client.post("/reset")
    for txn in await new_intents(ctx, merchant_id, payments):
        await complete(ctx, merchant_id, txn)
    expected = payments * endpoints
    started = time.time()
    pool = Workers(env, workers)
    try:
        await wait_count(client, expected, within=600)
    finally:
        pool.stop()
    records = (await client.get("/dump")).json()
    times = sorted(r[0] for r in records)
    unique = len({r[1] for r in records})
    return {"deliveries": unique, "requests": len(records),
            "per_second": (len(times) - 1) / (times[-1] - times[0]),
            "wall_from_start": times[-1] - started}


async def latency(ctx: Any, env: dict[str, str], client: httpx.AsyncClient, merchant_id: int,
                  *, rate: float, seconds: float, endpoints: int, workers: int) -> dict[str, float]:
    await client.post("/reset")
    count = int(rate * seconds)
    txns = await new_intents(ctx, merchant_id, count)
    pool = Workers(env, workers)
    committed: dict[str, float] = {}
    try:
        await asyncio.sleep(3)  # let the workers start
        t0 = time.monotonic()
        for i, txn in enumerate(txns):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            committed[txn] = await complete(ctx, merchant_id, txn)
        await wait_count(client, count * endpoints, within=120)
    finally:
        pool.stop()
    records = (await client.get("/dump")).json()
    lat = [(t - committed[txn]) * 1000 for t, _d, txn in records if txn in committed]
    return {"deliveries": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "max_ms": max(lat), "mean_ms": statistics.fmean(lat)}


async def main(args: argparse.Namespace) -> None:
    from ownpay.config import load_settings
    from ownpay.context import AppContext
    from ownpay.logs import configure_logging
    from ownpay.migrate import upgrade

    url = await create_database(args.database_url)
    port = free_port()
    # Started before the event loop has work; the bench owns the whole process.
    receiver = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, __file__, "--receiver", str(port)]
    )
    try:
        wait_port(port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OWNPAY_")}
        env.update({"OWNPAY_DATABASE_URL": url, "OWNPAY_SECRET_KEY": SECRET_KEY,
                    "OWNPAY_DATA_DIR": str(ROOT / "test-output" / "bench-data"),
                    "OWNPAY_WEBHOOKS_ALLOW_PRIVATE": "true", "OWNPAY_LOG_LEVEL": "warning",
                    "OWNPAY_WORKER_INTERVAL": str(args.interval)})
        settings = load_settings(env)
        configure_logging(settings)
        ctx = AppContext.create(settings)
        await upgrade(ctx.engine)
        merchant_id = await setup(ctx, f"http://127.0.0.1:{port}", args.endpoints)
        print(f"# {os.cpu_count()} CPUs; PostgreSQL {args.database_url.rsplit('@', 1)[-1]}; "
              f"{args.endpoints} endpoints on one local receiver; "
              f"worker interval {args.interval} s; "
              f"concurrency {settings.webhook_concurrency}/worker, {settings.webhook_per_endpoint}"
              f"/endpoint")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for workers in (1, 2):
                tp = await throughput(ctx, env, client, merchant_id, payments=args.payments,
                                      endpoints=args.endpoints, workers=workers)
                print(f"throughput  workers={workers}  {tp['deliveries']} deliveries "
                      f"({tp['requests']} requests)  {tp['per_second']:.0f}/s")
                lat = await latency(ctx, env, client, merchant_id, rate=args.rate,
                                    seconds=args.seconds, endpoints=args.endpoints, workers=workers)
                print(f"latency     workers={workers}  {lat['deliveries']} deliveries at "
                      f"{args.rate:g} payments/s  p50 {lat['p50_ms']:.0f} ms  "
                      f"p99 {lat['p99_ms']:.0f} ms"
                      f"  max {lat['max_ms']:.0f} ms")
        await ctx.close()
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=30)
        await drop_database(args.database_url, url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "OWNPAY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--rate", type=float, default=20.0, help="payments/s in the latency run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=1.0, help="OWNPAY_WORKER_INTERVAL")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    cli = parser.parse_args()
    if cli.receiver:
        run_receiver(cli.receiver)
    else:
        asyncio.run(main(cli))
