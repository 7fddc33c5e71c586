"""Transaction-query benchmark (issue #7): listing latency and CSV export on 1,000,000 rows.

    .venv/bin/python bench/transactions.py [--rows 1000000] [--requests 100] [--walk 300]
        [--one-merchant] [--database-url postgresql://postgres@127.0.0.1:5432/test] [--keep]

1. Creates a throw-away PostgreSQL database beside the one named, migrates it, creates five
   merchants with a read-only live key each, and loads ``--rows`` payment intents with
   ``COPY`` (asyncpg's binary copy), then ``ANALYZE``.  The data: two years of creation
   times growing over time, merchants sharing 40/25/15/12/8 % of the rows, 85 % live mode
   (``--one-merchant``: all rows to one merchant's live mode, for a 1,000,000-row export),
   statuses (62 % completed, 12 % expired, 9 % failed, 5 % cancelled, 3 % refunded, 2 %
   partially refunded, 3.5 % awaiting verification, 3 % pending, 0.5 % processing),
   gateways (stripe 55 %, bkash 25 %, manual 12 %, sandbox 8 %), currencies (USD, BDT, EUR,
   JPY) with log-normal amounts, fees and nets on paid rows, a pool of customers where a few
   thousand regulars make 30 % of the payments (e-mail case varies), metadata on half.
2. Starts a real ``ownpay serve`` (one process, embedded worker off so it does not expire
   the old pending rows during the run) and, for the biggest merchant's live mode, sends
   ``--requests`` sequential requests per scenario over one keep-alive connection and prints
   p50 / p95 / max: page 1 and a cursor positioned near the end (95 % down that filter's
   result) for no filter and each filter; plus a walk following ``next_cursor`` for
   ``--walk`` pages.
3. Exports all of that merchant's live rows through ``GET /api/v1/transactions/export``
   (and a filtered export a tenth the size) while sampling the server's RSS from
   ``/proc/<pid>/status`` every 20 ms: rows/s, MB/s, and the peak RSS against the RSS before.
4. Prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the main filter combinations, as sent by the API.

Figures are printed (and the whole output is copied to ``bench/results/``); nothing is
asserted.  The machine's load average is printed at the start and end.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import create_database, drop_database, free_port  # bench/common.py
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET_KEY = "B" * 43
SEED = 7

MERCHANT_SHARES = (0.40, 0.25, 0.15, 0.12, 0.08)
STATUSES = (("completed", 62), ("expired", 12), ("failed", 9), ("cancelled", 5),
            ("refunded", 3), ("partially_refunded", 2), ("awaiting_verification", 3.5),
            ("pending", 3), ("processing", 0.5))
GATEWAYS = (("stripe", 55), ("bkash", 25), ("manual", 12), ("sandbox", 8))
CURRENCIES = (("USD", 60, 2, 3.5), ("BDT", 25, 2, 7.5), ("EUR", 10, 2, 3.3), ("JPY", 5, 0, 8.0))
PAID = {"completed", "refunded", "partially_refunded"}
COLUMNS = (
    "id", "merchant_id", "mode", "gateway", "status", "amount_minor", "currency", "order_id",
    "customer_name", "customer_email", "customer_phone", "description", "return_url",
    "cancel_url", "metadata", "created_at", "updated_at", "expires_at", "paid_at",
    "provider_reference", "provider_txn_id", "submission", "failure_reason", "attempts",
    "fee_minor", "net_minor", "refunded_minor", "refund_reserved_minor",
)
FIRST = ("Jane", "John", "Amina", "Rahim", "Lena", "Marco", "Sofia", "Wei", "Ola", "Priya")
LAST = ("Smith", "Khan", "Rahman", "Müller", "Rossi", "Chen", "Okafor", "Das", "Nilsen")


# ---- data --------------------------------------------------------------------------------------


def _cumulative(weights: tuple[tuple[Any, ...], ...]) -> tuple[list[Any], list[float]]:
    total = sum(w[1] for w in weights)
    acc, edges = 0.0, []
    for w in weights:
        acc += w[1] / total
        edges.append(acc)
    return [w[0] for w in weights], edges


def _pick(rng: random.Random, values: list[Any], edges: list[float]) -> Any:
    u = rng.random()
    for value, edge in zip(values, edges, strict=True):
        if u <= edge:
            return value
    return values[-1]


def email_for(merchant_index: int, customer: int, rng: random.Random) -> str:
    local = f"{FIRST[customer % len(FIRST)].lower()}.{customer}"
    domain = ("example.com", "mail.test", "shop.example")[customer % 3]
    address = f"{local}@m{merchant_index}.{domain}"
    return address.capitalize() if rng.random() < 0.1 else address


def rows(count: int, merchants: list[int], start: datetime, span: timedelta,
         shares: tuple[float, ...], live_share: float) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of COPY records, oldest first (the table's physical order, as in life)."""
    rng = random.Random(SEED)
    statuses, status_edges = _cumulative(STATUSES)
    gateways, gateway_edges = _cumulative(GATEWAYS)
    currencies, currency_edges = _cumulative(tuple((c[0], c[1]) for c in CURRENCIES))
    shape = {c[0]: (c[2], c[3]) for c in CURRENCIES}
    orders = [0] * len(merchants)
    batch: list[tuple[Any, ...]] = []
    span_us = span / timedelta(microseconds=1)
    merchant_indexes = list(range(len(merchants)))
    merchant_edges = list(itertools.accumulate(shares))
    # Sorted uniform draws through sqrt: the rate of payments grows over the two years.
    for k in range(count):
        u = math.sqrt((k + rng.random()) / count)
        created = start + timedelta(microseconds=int(u * span_us))
        mi = _pick(rng, merchant_indexes, merchant_edges)
        status = _pick(rng, statuses, status_edges)
        gateway = _pick(rng, gateways, gateway_edges)
        currency = _pick(rng, currencies, currency_edges)
        exp, mu = shape[currency]
        amount = max(1, int(rng.lognormvariate(mu, 1.0) * 10 ** exp))
        regular = rng.random() < 0.3
        customer = rng.randrange(2000) if regular else 2000 + rng.randrange(150_000)
        orders[mi] += 1
        fee = net = None
        paid_at = None
        refunded = 0
        if status in PAID:
            fee = min(amount, 30 * 10 ** max(exp - 2, 0) + amount * 29 // 1000)
            net = amount - fee
            paid_at = created + timedelta(seconds=rng.randrange(20, 900))
            refunded = amount if status == "refunded" else (
                amount // 4 if status == "partially_refunded" else 0)
        meta = json.dumps({"cart": str(rng.randrange(10**6)), "channel": "web"}) if (
            rng.random() < 0.5) else None
        name = f"{FIRST[customer % len(FIRST)]} {LAST[customer % len(LAST)]}"
        batch.append((
            "txn_" + rng.getrandbits(64).to_bytes(8, "big").hex(), merchants[mi],
            "live" if rng.random() < live_share else "test", gateway, status, amount, currency,
            f"ORD-{mi}-{orders[mi]:08d}", name, email_for(mi, customer, rng),
            None, f"Order {orders[mi]}", "https://shop.example/return", None, meta,
            created.replace(tzinfo=None), (paid_at or created).replace(tzinfo=None),
            (created + timedelta(minutes=30)).replace(tzinfo=None),
            paid_at.replace(tzinfo=None) if paid_at else None,
            None, None, None, None, 1 if status != "pending" else 0,
            fee, net, refunded, 0,
        ))
        if len(batch) == 50_000:
            yield batch
            batch = []
    if batch:
        yield batch


async def load(engine: AsyncEngine, count: int, merchants: list[int],
               shares: tuple[float, ...], live_share: float) -> float:
    start = datetime.now(UTC) - timedelta(days=730)
    t0 = time.perf_counter()
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        apg: Any = raw.driver_connection
        loaded = 0
        for batch in rows(count, merchants, start, timedelta(days=730), shares, live_share):
            await apg.copy_records_to_table("payment_intents", records=batch, columns=COLUMNS)
            loaded += len(batch)
            print(f"  loaded {loaded:>9,} rows  {time.perf_counter() - t0:6.1f} s", flush=True)
        await conn.commit()
        await conn.execute(text("ANALYZE payment_intents"))
        await conn.commit()
    return time.perf_counter() - t0


# ---- set-up --------------------------------------------------------------------------------


async def create_merchants(ctx: Any, count: int) -> list[tuple[int, str]]:
    from ownpay.merchants import service as merchants

    made = []
    async with ctx.sessions() as s, s.begin():
        for i in range(count):
            m = await merchants.create_merchant(s, slug=f"bench-{i}", name=f"Bench shop {i}")
            key = await merchants.create_api_key(s, merchant=m, mode="live", scopes=("read",))
            made.append((int(m.id), key.api_key))
    return made


@contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = int(env["OWNPAY_PORT"])
    log = open(ROOT / "test-output" / "bench-transactions-server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "ownpay", "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("server exited early; see test-output/bench-transactions-"
                                 "server.log")
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("server did not start")
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# ---- measuring -----------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed_gets(client: httpx.Client, params: dict[str, Any], n: int) -> tuple[list[float], int]:
    client.get("/api/v1/transactions", params=params)  # warm the path once
    times, count = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get("/api/v1/transactions", params=params)
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{params}: {r.status_code} {r.text[:300]}")
        count = len(r.json()["data"])
    return times, count


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def export_run(url: str, key: str, pid: int, params: dict[str, Any]) -> dict[str, float]:
    stop = threading.Event()
    peak = [rss_kib(pid)]
    before = peak[0]

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = size = 0
    t0 = time.perf_counter()
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                          timeout=600) as client, client.stream(
                "GET", "/api/v1/transactions/export", params=params) as r:
            if r.status_code != 200:
                raise SystemExit(f"export: {r.status_code} {r.read()[:300]!r}")
            for chunk in r.iter_raw():
                size += len(chunk)
                lines += chunk.count(b"\n")  # chunks split anywhere, even inside a CRLF
    finally:
        elapsed = time.perf_counter() - t0
        stop.set()
        sampler.join()
    rows_out = lines - 1  # the header (no field of the bench data holds a line break)
    return {"rows": rows_out, "seconds": elapsed, "rows_per_s": rows_out / elapsed,
            "mb_per_s": size / elapsed / 1e6, "mb": size / 1e6,
            "rss_before_mib": before / 1024, "rss_peak_mib": peak[0] / 1024}


async def explain_plans(engine: AsyncEngine, merchant_id: int,
                        scenarios: list[tuple[str, dict[str, Any]]]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the listing sends (captured, not
    rebuilt), on the benchmark data."""
    from ownpay.tenancy import TenantScope
    from ownpay.transactions import schemas, service

    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if statement.startswith("SELECT") and "FROM payment_intents" in statement:
            captured.append((statement, parameters))

    for name, params in scenarios:
        query = schemas.parse_list_query(_items(params))
        captured.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            async with engine.connect() as conn:
                from sqlalchemy.ext.asyncio import AsyncSession

                async with AsyncSession(bind=conn) as session:
                    await service.list_transactions(
                        session, scope=TenantScope(merchant_id, "live"), query=query)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
        statement, parameters = captured[-1]
        async with engine.connect() as conn:
            result = await conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
            plan = "\n".join(f"    {row[0]}" for row in result.all())
        print(f"\n  -- {name}: {json.dumps(params)}\n{plan}")


def cursor_at(position: tuple[datetime, str]) -> str:
    from ownpay.transactions.schemas import Position, encode_cursor

    return encode_cursor(Position(created_at=position[0], transaction_id=position[1]))


async def deep_cursor(engine: AsyncEngine, merchant_id: int, params: dict[str, Any],
                      fraction: float = 0.95) -> tuple[str | None, int]:
    """A cursor at the row ``fraction`` of the way down this filter's newest-first order
    (None when the filter selects too few rows to have a deep page), and the row count."""
    from sqlalchemy import func, select

    from ownpay.tenancy import TenantScope
    from ownpay.transactions import schemas, service

    filters = schemas.parse_filters(_items(params))
    every = service.page_statement("postgresql", scope=TenantScope(merchant_id, "live"),
                                   filters=filters, after=None, limit=10**9)
    async with engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(every.subquery()))
                 ).scalar_one()
        if total < 40:
            return None, int(total)
        row = (await conn.execute(every.limit(1).offset(int(total * fraction)))).one()
    return cursor_at((row.created_at, row.id)), int(total)


def _items(params: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])]


async def regular_email(engine: AsyncEngine, merchant_id: int) -> tuple[str, str, int]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT lower(customer_email), min(order_id), count(*) FROM payment_intents "
            "WHERE merchant_id = :m AND mode = 'live' GROUP BY lower(customer_email) "
            "ORDER BY count(*) DESC LIMIT 1"), {"m": merchant_id})).one()
    return row[0].upper(), row[1], int(row[2])


@dataclass(frozen=True)
class Scenario:
    name: str
    params: dict[str, Any]
    matches: int
    deep: str | None


def measure(env: dict[str, str], key: str, scenarios: list[Scenario],
            args: argparse.Namespace) -> None:
    """The HTTP part, against a real ``ownpay serve`` (blocking client: runs in a thread)."""
    with server(env) as (base, pid):
        print(f"\n## GET /api/v1/transactions, merchant bench-0 live, limit 20, "
              f"{args.requests} sequential requests each (ms)")
        print(f"  {'scenario':<40} {'matches':>8} {'page':<14} {'rows':>4} {'p50':>7} "
              f"{'p95':>7} {'max':>7}")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as client:
            for sc in scenarios:
                pages: list[tuple[str, dict[str, Any]]] = [("first", {})]
                if sc.deep is not None:
                    pages.append(("cursor @95 %", {"cursor": sc.deep}))
                for page, extra in pages:
                    times, n = timed_gets(client, {**sc.params, **extra}, args.requests)
                    print(f"  {sc.name:<40} {sc.matches:>8,} {page:<14} {n:>4} "
                          f"{pct(times, 50):7.2f} {pct(times, 95):7.2f} {max(times):7.2f}")
            walk_times: list[float] = []
            query: dict[str, Any] = {"limit": 100}
            for _ in range(args.walk):
                t0 = time.perf_counter()
                body = client.get("/api/v1/transactions", params=query).json()
                walk_times.append((time.perf_counter() - t0) * 1000)
                query["cursor"] = body["next_cursor"]
            print(f"  following next_cursor, limit 100, {args.walk} pages "
                  f"({args.walk * 100:,} rows deep): p50 {pct(walk_times, 50):.2f}  "
                  f"p95 {pct(walk_times, 95):.2f}  last 10 pages p50 "
                  f"{statistics.median(walk_times[-10:]):.2f} ms")

        print("\n## GET /api/v1/transactions/export, merchant bench-0 live")
        for label, params in (("all rows", {}),
                              ("status=failed,cancelled", {"status": "failed,cancelled"})):
            res = export_run(base, key, pid, params)
            print(f"  {label:<26} {res['rows']:>9,} rows in {res['seconds']:6.1f} s = "
                  f"{res['rows_per_s']:>8,.0f} rows/s ({res['mb_per_s']:.1f} MB/s, "
                  f"{res['mb']:.0f} MB); server RSS {res['rss_before_mib']:.0f} MiB "
                  f"before, peak {res['rss_peak_mib']:.0f} MiB")
        print(f"  server VmHWM (peak RSS since start): {rss_kib(pid, 'VmHWM') / 1024:.0f} MiB")


async def run(args: argparse.Namespace) -> None:
    from ownpay.config import load_settings
    from ownpay.context import AppContext
    from ownpay.migrate import upgrade

    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; PostgreSQL at "
          f"{args.database_url.rsplit('@', 1)[-1]}")
    url = await create_database(args.database_url, "ownpay_bench_tx")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWNPAY_")}
    env.update({"OWNPAY_DATABASE_URL": url, "OWNPAY_SECRET_KEY": SECRET_KEY,
                "OWNPAY_DATA_DIR": str(ROOT / "test-output" / "bench-data"),
                "OWNPAY_PORT": str(free_port()), "OWNPAY_RUN_WORKER": "false",
                "OWNPAY_LOG_LEVEL": "warning"})
    (ROOT / "test-output").mkdir(exist_ok=True)
    ctx = AppContext.create(load_settings(env))
    try:
        await upgrade(ctx.engine)
        shares, live_share = ((1.0,), 1.0) if args.one_merchant else (MERCHANT_SHARES, 0.85)
        merchants = await create_merchants(ctx, len(shares))
        print(f"\n## loading {args.rows:,} payment intents (COPY), merchant shares {shares}, "
              f"live {live_share:.0%}")
        seconds = await load(ctx.engine, args.rows, [m for m, _ in merchants], shares,
                             live_share)
        print(f"  {args.rows:,} rows loaded and analysed in {seconds:.1f} s "
              f"({args.rows / seconds:,.0f} rows/s)")
        big, key = merchants[0]
        async with ctx.engine.connect() as conn:
            live = (await conn.execute(text(
                "SELECT count(*) FROM payment_intents WHERE merchant_id = :m AND mode = 'live'"),
                {"m": big})).scalar_one()
            size = (await conn.execute(text(
                "SELECT pg_size_pretty(pg_table_size('payment_intents')), "
                "pg_size_pretty(pg_indexes_size('payment_intents'))"))).one()
        print(f"  merchant bench-0 live: {live:,} rows; table {size[0]}, indexes {size[1]}")
        email, order_id, email_rows = await regular_email(ctx.engine, big)
        recent_week = (datetime.now(UTC) - timedelta(days=60)).replace(microsecond=0)
        wanted: list[tuple[str, dict[str, Any]]] = [
            ("no filter", {}),
            ("status=refunded (3 %)", {"status": "refunded"}),
            ("status=completed (62 %)", {"status": "completed"}),
            ("status=failed,cancelled", {"status": "failed,cancelled"}),
            ("gateway=manual", {"gateway": "manual"}),
            (f"customer_email (a regular, {email_rows} rows)", {"customer_email": email}),
            ("order_id", {"order_id": order_id}),
            ("created range (7 days)", {"created_from": recent_week.isoformat(),
                                        "created_to": (recent_week + timedelta(days=7))
                                        .isoformat()}),
            ("amount 100-200 USD", {"currency": "USD", "amount_min": "100",
                                    "amount_max": "200"}),
            ("status=completed + gateway=bkash", {"status": "completed", "gateway": "bkash"}),
            ("status=refunded + last 90 days", {"status": "refunded", "created_from": (
                recent_week - timedelta(days=30)).isoformat()}),
        ]
        scenarios = []
        for name, params in wanted:
            deep, matches = await deep_cursor(ctx.engine, big, params)
            scenarios.append(Scenario(name, params, matches, deep))
        await asyncio.to_thread(measure, env, key, scenarios, args)

        print("\n## EXPLAIN (ANALYZE, BUFFERS) of the listing's statements, merchant bench-0")
        plans = [(sc.name, sc.params) for sc in scenarios] + [
            (f"{sc.name}, cursor @95 %", {**sc.params, "cursor": sc.deep})
            for sc in scenarios[:3] if sc.deep is not None]
        await explain_plans(ctx.engine, big, plans)
        print(f"\n# end; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        await ctx.close()
        if not args.keep:
            await drop_database(args.database_url, url)
        else:
            print(f"# kept database {url}")


class Tee(io.TextIOBase):
    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
            s.flush()
        return len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "OWNPAY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--walk", type=int, default=300, help="pages to follow (limit 100)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--one-merchant", action="store_true",
                        help="every row to one merchant's live mode (a 1,000,000-row export)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"transactions-{datetime.now(UTC):%Y%m%d-%H%M%S}.txt"
    with out.open("w") as raw, redirect_stdout(Tee(sys.stdout, raw)):
        asyncio.run(run(args))
    print(f"(output kept in {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
