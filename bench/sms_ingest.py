"""SMS ingest benchmark (issue 13): messages per second through the device upload API,
with parsing, storing once, the sequence and balance checks and matching, on PostgreSQL.

    .venv/bin/python bench/sms_ingest.py [--payments 4000] [--phones 4] [--singles 1000]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

1. Creates a throw-away PostgreSQL database beside the one named, migrates it, makes one
   brand with ``bkash_personal`` and inserts ``--payments`` + ``--singles`` payments already
   ``awaiting_verification`` (the customer typed sender and TrxID), as after the checkout.
2. Starts ``ownpay serve`` (one process, no embedded worker) and pairs ``--phones``
   simulated phones through ``POST /api/mobile/v1/devices``.
3. **batches** -- the phones upload, concurrently, the money-received SMS of the first
   ``--payments`` payments in encrypted batches of 200 (each message matched and the payment
   completed in the upload's transaction);
   **singles** -- one message per request, 16 at a time (how a forwarder-style client
   uploads), for the other ``--singles`` payments;
   **ignored** -- batches of 200 OTP messages (stored, classified, never matched): the cost
   of ingest without matching.
4. Prints messages/s for each and checks that every payment completed exactly once.

The phones encrypt on the same 2-core machine, so the client's AES-GCM and JSON work is
included; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from common import create_database, drop_database, free_port  # bench/common.py
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET_KEY = "C" * 43
SENDER = "01812345678"


async def setup(ctx: Any, count: int) -> tuple[int, list[tuple[str, str]]]:
    from ownpay import ids
    from ownpay.db import utcnow
    from ownpay.merchants import service as merchants
    from ownpay.payments.models import PaymentIntent

    async with ctx.sessions() as s, s.begin():
        m = await merchants.create_merchant(s, slug="smsbench-" + secrets.token_hex(3),
                                            name="SMS Bench")
        await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                       gateway="bkash_personal",
                                       values={"wallet_number": "01712345678"})
    now = utcnow()
    pairs = [(ids.transaction_id(), f"B{i:09d}") for i in range(count)]
    rows = [{
        "id": txn, "merchant_id": m.id, "mode": "test", "gateway": "bkash_personal",
        "status": "awaiting_verification", "amount_minor": 50000, "currency": "BDT",
        "order_id": f"SMS-{i}", "customer_name": "Bench", "customer_email": "b@example.com",
        "return_url": "https://shop.example/r", "metadata": {}, "created_at": now,
        "updated_at": now, "expires_at": now + timedelta(hours=1), "attempts": 0,
        "provider_txn_id": trx, "submission": {"sender_number": SENDER, "trx_id": trx},
    } for i, (txn, trx) in enumerate(pairs)]
    async with ctx.sessions() as s, s.begin():
        for start in range(0, len(rows), 1000):
            await s.execute(insert(PaymentIntent), rows[start:start + 1000])
    return int(m.id), pairs


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "ownpay", "serve"],
                            env={**env, "OWNPAY_PORT": str(port)},
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"ownpay serve did not start; see {log}")


async def phones(ctx: Any, client: httpx.AsyncClient, merchant_id: int, count: int) -> list[Any]:
    from tests.support.sms_device import Phone, pairing_code

    made = []
    for _ in range(count):
        phone = Phone(client)
        r = await phone.pair(await pairing_code(ctx, merchant_id))
        assert r.status_code == 201, r.text  # noqa: S101 - a benchmark's precondition
        made.append(phone)
    return made


def credit(phone: Any, trx: str) -> dict[str, Any]:
    from tests.support.sms_device import received

    return phone.message("bKash", received("bkash", amount_minor=50000, party=SENDER, trx=trx))


async def batches(all_phones: list[Any], trxs: list[str]) -> tuple[int, float]:
    async def one_phone(phone: Any, mine: list[str]) -> int:
        done = 0
        for start in range(0, len(mine), 200):
            r = await phone.upload(*[credit(phone, t) for t in mine[start:start + 200]])
            assert r.status_code == 200, r.text  # noqa: S101
            done += sum(m["match"] == "matched" for m in r.json()["results"])
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*[one_phone(p, trxs[i::len(all_phones)])
                                    for i, p in enumerate(all_phones)])
    return sum(counts), time.perf_counter() - started


async def singles(phone: Any, trxs: list[str], concurrency: int = 16) -> tuple[int, float]:
    gate = asyncio.Semaphore(concurrency)
    matched = 0

    async def send(trx: str) -> None:
        nonlocal matched
        async with gate:
            r = await phone.upload(credit(phone, trx))
            matched += r.json()["results"][0]["match"] == "matched"

    started = time.perf_counter()
    await asyncio.gather(*[send(t) for t in trxs])
    return matched, time.perf_counter() - started


async def ignored(all_phones: list[Any], count: int) -> tuple[int, float]:
    async def one_phone(phone: Any, n: int) -> int:
        for start in range(0, n, 200):
            size = min(200, n - start)
            r = await phone.upload(*[phone.message(
                "bKash", f"Your bKash verification code is {secrets.randbelow(10**6):06d}. "
                f"It expires in 2 minutes. Never share it. {secrets.token_hex(4)}")
                for _ in range(size)])
            assert r.status_code == 200, r.text  # noqa: S101
        return n

    started = time.perf_counter()
    done = await asyncio.gather(*[one_phone(p, count // len(all_phones)) for p in all_phones])
    return sum(done), time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    from ownpay.config import load_settings
    from ownpay.context import AppContext
    from ownpay.logs import configure_logging
    from ownpay.migrate import upgrade
    from ownpay.payments.models import PaymentIntent, PaymentStatusHistory

    url = await create_database(args.database_url)
    data = ROOT / "test-output" / "bench-sms"
    data.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWNPAY_")}
    env.update({"OWNPAY_DATABASE_URL": url, "OWNPAY_SECRET_KEY": SECRET_KEY,
                "OWNPAY_DATA_DIR": str(data), "OWNPAY_LOG_LEVEL": "warning",
                "OWNPAY_RUN_WORKER": "false", "OWNPAY_RATE_LIMIT_DEVICE_PAIRING_IP": "off",
                "OWNPAY_RATE_LIMIT_API_IP": "off"})
    settings = load_settings(env)
    configure_logging(settings)
    ctx = AppContext.create(settings)
    port = free_port()
    server = None
    try:
        await upgrade(ctx.engine)
        merchant_id, pairs = await setup(ctx, args.payments + args.singles)
        server = serve(env, port, data / "server.log")
        print(f"# {os.cpu_count()} CPUs; PostgreSQL {args.database_url.rsplit('@', 1)[-1]}; "
              f"one `ownpay serve` process; {args.phones} phones; client on the same machine")
        trxs = [trx for _, trx in pairs]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
            paired = await phones(ctx, c, merchant_id, args.phones)
            matched, secs = await batches(paired, trxs[:args.payments])
            print(f"batches of 200, {args.phones} phones at once: {matched} messages matched "
                  f"in {secs:.2f} s = {matched / secs:.0f} messages/s")
            matched_single, secs = await singles(paired[0], trxs[args.payments:])
            print(f"one message per request, 16 in flight: {matched_single} matched in "
                  f"{secs:.2f} s = {matched_single / secs:.0f} messages/s")
            count, secs = await ignored(paired, args.payments)
            print(f"batches of 200 OTPs (stored, never matched): {count} in {secs:.2f} s = "
                  f"{count / secs:.0f} messages/s")
        async with ctx.sessions() as s:
            completed = await s.scalar(select(func.count()).select_from(PaymentIntent).where(
                PaymentIntent.merchant_id == merchant_id, PaymentIntent.status == "completed"))
            twice = await s.scalar(select(func.count()).select_from(
                select(PaymentStatusHistory.payment_id)
                .where(PaymentStatusHistory.to_status == "completed")
                .group_by(PaymentStatusHistory.payment_id)
                .having(func.count() > 1).subquery()))
        print(f"check: {completed} of {len(pairs)} payments completed, {twice} completed twice")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        await ctx.close()
        await drop_database(args.database_url, url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "OWNPAY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--payments", type=int, default=4000)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--phones", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
