"""Dashboard Payments page benchmark (issue #18): the list at 1,000,000 payments.

    .venv/bin/python bench/dashboard_payments.py [--rows 1000000] [--requests 50]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--keep]

1. Creates a throw-away PostgreSQL database beside the one named, migrates it, creates one
   brand and loads ``--rows`` payment intents into its live mode with ``COPY`` -- the data
   of ``bench/transactions.py`` (two years, 62 % completed, a pool of regular customers,
   …), all in the brand and mode the viewer looks at, so every page filters a million rows.
2. Signs a manager of that brand in through the real form and switches to live mode, then
   sends ``--requests`` sequential GETs per scenario to the dashboard **in process**
   (``httpx.ASGITransport`` on ``create_app``: the whole request -- session lookup, CSRF
   token, query, template -- without a socket) and prints p50 / p95 / max in ms: the first
   page, page 2 (its cursor), ``status=completed``, ``status=completed`` + a search by a
   regular customer's e-mail, + a search by order id, a transaction id search, a 7-day
   range, and a payment's page.
3. Prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the statements behind the first page and the
   filtered one, as the transaction service builds them.

Nothing is asserted; the output is copied to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import create_database, drop_database  # bench/common.py
from sqlalchemy import text

from transactions import RESULTS, SECRET_KEY, Tee, create_merchants, load  # bench/

ROOT = Path(__file__).resolve().parent.parent
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> None:
    page = await client.get("/admin/sign-in")
    token = _TOKEN.search(page.text)
    assert token  # noqa: S101 - a benchmark's precondition
    r = await client.post("/admin/sign-in", data={"csrf_token": token.group(1), "email": email,
                                                  "password": password, "next": "/admin/"})
    assert r.status_code == 303, r.text  # noqa: S101
    page = await client.get("/admin/")
    token = _TOKEN.search(page.text)
    assert token  # noqa: S101
    r = await client.post("/admin/switch", data={"csrf_token": token.group(1), "mode": "live",
                                                 "next": "/admin/payments"})
    assert r.status_code == 303, r.text  # noqa: S101


async def timed(client: httpx.AsyncClient, url: str, n: int) -> list[float]:
    r = await client.get(url)  # warm: templates compiled, plan cached, pages in memory
    assert r.status_code == 200, (url, r.status_code, r.text[:500])  # noqa: S101
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200  # noqa: S101
    return times


async def explain(engine: Any, merchant_id: int, wanted: list[tuple[str, dict[str, str]]]) -> None:
    from ownpay.tenancy import TenantScope
    from ownpay.transactions import schemas, service

    async with engine.connect() as conn:
        for name, params in wanted:
            query = schemas.parse_list_query(list(params.items()))
            stmt = service.page_statement(
                "postgresql", scope=TenantScope(merchant_id, "live"), filters=query.filters,
                after=query.after, limit=query.limit + 1)
            sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            plan = (await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))).scalars()
            print(f"\n### {name}\n" + "\n".join(f"    {line}" for line in plan))


async def run(args: argparse.Namespace) -> None:
    from ownpay.app import create_app
    from ownpay.audit import Actor
    from ownpay.config import load_settings
    from ownpay.context import AppContext
    from ownpay.dashboard import users
    from ownpay.migrate import upgrade

    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; PostgreSQL at "
          f"{args.database_url.rsplit('@', 1)[-1]}")
    url = await create_database(args.database_url, "ownpay_bench_dash")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWNPAY_")}
    env.update({"OWNPAY_DATABASE_URL": url, "OWNPAY_SECRET_KEY": SECRET_KEY,
                "OWNPAY_DATA_DIR": str(ROOT / "test-output" / "bench-data"),
                "OWNPAY_RUN_WORKER": "false", "OWNPAY_LOG_LEVEL": "warning"})
    (ROOT / "test-output").mkdir(exist_ok=True)
    ctx = AppContext.create(load_settings(env))
    try:
        await upgrade(ctx.engine)
        ((merchant_id, _key),) = await create_merchants(ctx, 1)
        print(f"\n## loading {args.rows:,} payment intents (COPY) into one brand's live mode")
        seconds = await load(ctx.engine, args.rows, [merchant_id], (1.0,), 1.0)
        print(f"  loaded and analysed in {seconds:.1f} s")
        async with ctx.engine.connect() as conn:
            email, order_id, txn = (await conn.execute(text(
                "SELECT customer_email, order_id, id FROM payment_intents "
                "WHERE merchant_id = :m AND status = 'completed' AND customer_email IN ("
                "  SELECT customer_email FROM payment_intents WHERE merchant_id = :m "
                "  GROUP BY customer_email ORDER BY count(*) DESC LIMIT 1) LIMIT 1"),
                {"m": merchant_id})).one()
            matches = (await conn.execute(text(
                "SELECT count(*) FROM payment_intents WHERE merchant_id = :m "
                "AND status = 'completed' AND customer_email = :e"),
                {"m": merchant_id, "e": email})).scalar_one()
        async with ctx.sessions() as s, s.begin():
            made = await users.create_user(s, Actor(type="cli", name="bench"),
                                           email="bench@ops.test", role="manager",
                                           merchant_slug="bench-0")
        app = create_app(ctx.settings, ctx=ctx)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as c:
            await sign_in(c, made.user.email, made.password)
            first = await c.get("/admin/payments")
            cursor = re.search(r'href="/admin/payments\?([^"]*cursor=[^"]+)" rel="next"',
                               first.text)
            assert cursor  # noqa: S101
            week = (datetime.now(UTC) - timedelta(days=60)).date()
            scenarios = [
                ("first page (no filter)", "/admin/payments"),
                ("page 2 (cursor)", "/admin/payments?" + cursor.group(1).replace("&amp;", "&")),
                ("status=completed", "/admin/payments?status=completed"),
                (f"status=completed + search e-mail ({matches} rows)",
                 f"/admin/payments?status=completed&q={email}"),
                ("status=completed + search order id",
                 f"/admin/payments?status=completed&q={order_id}"),
                ("search transaction id", f"/admin/payments?q={txn}"),
                ("created 7 days", f"/admin/payments?created_from={week}"
                 f"&created_to={week + timedelta(days=7)}"),
                ("a payment's page", f"/admin/payments/{txn}"),
            ]
            print(f"\n## in-process GETs, {args.requests} sequential requests each (ms)")
            print(f"  {'scenario':<48} {'p50':>7} {'p95':>7} {'max':>7}")
            for name, path in scenarios:
                times = await timed(c, path, args.requests)
                print(f"  {name:<48} {statistics.median(times):7.1f} {pct(times, 0.95):7.1f} "
                      f"{max(times):7.1f}", flush=True)
        print("\n## EXPLAIN (ANALYZE, BUFFERS)")
        await explain(ctx.engine, merchant_id, [
            ("first page", {}), ("status=completed + e-mail",
                                 {"status": "completed", "customer_email": email}),
            ("status=completed + order id", {"status": "completed", "order_id": order_id})])
        print(f"\n# end; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        await ctx.close()
        if not args.keep:
            await drop_database(args.database_url, url)
        else:
            print(f"# kept database {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "OWNPAY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"dashboard-payments-{datetime.now(UTC):%Y%m%d-%H%M%S}.txt"
    with out.open("w") as raw, redirect_stdout(Tee(sys.stdout, raw)):
        asyncio.run(run(args))
    print(f"(output kept in {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
