"""Create-intent benchmark (issue #2): OwnPay against two references, in the same run.

    .venv/bin/python bench/create_intents.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/create_intents.py --engines postgresql --workers 2 --repeats 3

For each engine (a throw-away SQLite file / PostgreSQL database) and worker count it starts
three servers on loopback and loads each with ``wrk`` (32 connections by default):

* ``create``    — OwnPay's ``POST /api/v1/payment-intents`` (a unique order id per request,
  a test-mode key of the demo merchant, gateway ``sandbox``);
* ``health``    — ``GET /api/v1/health`` on the same OwnPay server (HTTP stack + one
  ``SELECT 1``);
* ``reference`` — ``bench/reference_app.py``: FastAPI, one Pydantic model of the same body,
  one INSERT through the same engine factory, same worker count.

Each target gets a warm-up, then ``--repeats`` measured runs interleaved (create, health,
reference, create, …) so drift hits all three alike; the medians and the
create/reference ratio are printed.  With one server worker the server is pinned to core 1
and wrk to core 0 (PERFORMANCE.md).  Then ``create`` is measured once more at a fixed rate
below saturation (``--fixed-rate-share`` of its median throughput), and the reference at
the same rate, by an open-loop client
whose latencies are counted from each request's scheduled send time, so a stall is not
hidden by the client waiting (no coordinated omission).

``--count-queries`` instead runs 200 create requests in-process (ASGI transport) and prints
the SQL statements one request costs once the API-key and gateway caches are warm.

Figures are printed (and appended as JSON lines to ``bench/results/``); nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from common import create_database, drop_database, free_port  # bench/common.py

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SECRET_KEY = "B" * 43
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk_request.lua"
BODY = json.dumps(
    {
        "gateway": "sandbox",
        "amount": 99.99,
        "currency": "USD",
        "order_id": "%s",
        "customer_name": "Jane Smith",
        "customer_email": "jane@example.com",
        "customer_phone": "+1-555-0100",
        "description": "Annual subscription - Professional Plan",
        "return_url": "https://yoursite.com/order/success",
        "cancel_url": "https://yoursite.com/order/cancel",
        "metadata": {"user_id": "42", "plan": "professional"},
    }
)


# ---- processes -------------------------------------------------------------------------------


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, *, post: bool = False) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            r = httpx.post(url, json={}, timeout=1) if post else httpx.get(url, timeout=1)
            if r.status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pin(core: str | None) -> list[str]:
    return ["taskset", "-c", core] if core and shutil.which("taskset") else []


@dataclass
class Database:
    engine: str
    url: str  # async driver URL
    cleanup: Any = None


@contextmanager
def database(engine: str, pg_url: str, workdir: Path) -> Iterator[Database]:
    if engine == "sqlite":
        yield Database(engine, f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
        return
    url = asyncio.run(create_database(pg_url))
    try:
        yield Database(engine, url)
    finally:
        asyncio.run(drop_database(pg_url, url))


async def _create_reference_table(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.reference_app import metadata

    from ownpay.db import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


def env_for(db: Database, data_dir: Path, port: int, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWNPAY_")}
    env.update(
        {
            "OWNPAY_DATABASE_URL": db.url,
            "OWNPAY_DATA_DIR": str(data_dir),
            "OWNPAY_SECRET_KEY": SECRET_KEY,
            "OWNPAY_PORT": str(port),
            "OWNPAY_BASE_URL": f"http://127.0.0.1:{port}",
            "OWNPAY_WORKERS": str(workers),
            "OWNPAY_BENCH_DATABASE_URL": db.url,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
    )
    return env


@dataclass
class Servers:
    ownpay_url: str
    reference_url: str
    api_key: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextmanager
def servers(db: Database, workdir: Path, workers: int) -> Iterator[Servers]:
    data_dir = workdir / f"data-{db.engine}"
    data_dir.mkdir(exist_ok=True)
    port, ref_port = free_port(), free_port()
    env = env_for(db, data_dir, port, workers)
    init = subprocess.run(
        [PY, "-m", "ownpay", "init", "--json"], env=env, capture_output=True, text=True,
        check=True,
    )
    key = json.loads(init.stdout)["api_keys"]["test"]
    if key is None:  # a second worker-count run on the same database: mint a new key
        made = subprocess.run(
            [PY, "-m", "ownpay", "api-keys", "create", "--merchant", "demo", "--mode", "test",
             "--json"], env=env, capture_output=True, text=True, check=True,
        )
        key = json.loads(made.stdout)["api_key"]
    asyncio.run(_create_reference_table(db.url))
    core = "1" if workers == 1 else None
    logs = workdir / f"ownpay-{db.engine}-{workers}.log", workdir / f"ref-{db.engine}-{workers}.log"
    own = subprocess.Popen(
        [*pin(core), PY, "-m", "ownpay", "serve"], env=env,
        stdout=open(logs[0], "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    ref = subprocess.Popen(
        [*pin(core), PY, "-m", "uvicorn", "--factory", "bench.reference_app:create_app",
         "--host", "127.0.0.1", "--port", str(ref_port), "--workers", str(workers),
         "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"],
        env=env, cwd=ROOT, stdout=open(logs[1], "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    result = Servers(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ref_port}", key, [own, ref])
    try:
        wait_ready(result.ownpay_url + "/api/v1/health", own, logs[0])
        wait_ready(result.reference_url + "/api/v1/payment-intents", ref, logs[1], post=True)
        yield result
    finally:
        for proc in result.procs:
            stop(proc)


# ---- load generation -------------------------------------------------------------------------


@dataclass
class Run:
    target: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx: int


def wrk(url: str, *, method: str, path: str, auth: str | None, seconds: float,
        connections: int, threads: int, core: str | None, target: str) -> Run:
    env = dict(os.environ, BENCH_METHOD=method, BENCH_PATH=path, BENCH_AUTH=auth or "",
               BENCH_BODY=BODY)
    out = subprocess.run(
        [*pin(core), "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
         "--timeout", "10s", "-s", str(LUA), url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_measured = data["duration_us"] / 1e6
    errors = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"]
    return Run(
        target=target,
        rps=data["requests"] / seconds_measured,
        p50_ms=data["p50"] / 1000, p95_ms=data["p95"] / 1000, p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000, errors=errors, non_2xx=data["non_2xx"],
    )


async def fixed_rate(base_url: str, *, path: str, auth: str | None, rate: float, seconds: float,
                     connections: int) -> dict[str, float]:
    """Open-loop load: request k is due at t0 + k/rate; latency counts from that moment."""
    host, port = base_url.removeprefix("http://").split(":")
    total = int(rate * seconds)
    latencies: list[float] = []
    failures = 0
    t0 = time.perf_counter() + 0.2

    async def connection(index: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for k in range(index, total, connections):
                due = t0 + k / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = (BODY % f"F{index}-{k}-{secrets.token_hex(3)}").encode()
                try:
                    head_lines = (
                        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        + (f"Authorization: {auth}\r\n" if auth else "")
                        + "Content-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n"
                    )
                    writer.write(head_lines.encode() + body)
                    await writer.drain()
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head.split(b" ", 2)[1])
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    await reader.readexactly(length)
                except (OSError, asyncio.IncompleteReadError):
                    failures += 1  # the server dropped the connection: count it, reconnect
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                    continue
                latencies.append(time.perf_counter() - due)
                if not 200 <= status < 300:
                    failures += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(connections)))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {"rate": rate, "requests": len(latencies), "failures": failures,
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99), "max_ms": latencies[-1] * 1000}


# ---- query count -----------------------------------------------------------------------------


async def count_queries(db: Database, workdir: Path) -> dict[str, Any]:
    from sqlalchemy import event

    from ownpay.app import create_app
    from ownpay.config import Settings
    from ownpay.context import AppContext
    from ownpay.migrate import upgrade
    from ownpay.setup import initialise

    settings = Settings(database_url=db.url, data_dir=workdir, secret_key=SECRET_KEY,
                        run_worker=False)
    ctx = AppContext.create(settings)
    await upgrade(ctx.engine)
    key = (await initialise(ctx))["api_keys"]["test"]
    statements: list[str] = []

    @event.listens_for(ctx.engine.sync_engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split())[:90])

    @event.listens_for(ctx.engine.sync_engine, "commit")
    def _commit(conn: Any) -> None:
        statements.append("COMMIT")

    app = create_app(settings, ctx=ctx)
    per_request: list[list[str]] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        for i in range(200):
            statements.clear()
            r = await c.post("/api/v1/payment-intents", content=BODY % f"Q-{i}",
                             headers={"Authorization": f"Bearer {key}",
                                      "Content-Type": "application/json"})
            assert r.status_code == 201, r.text
            await asyncio.sleep(0)
            per_request.append(list(statements))
    await ctx.close()
    steady = per_request[-1]
    return {"engine": db.engine, "statements_per_request": len(steady), "statements": steady,
            "first_request": len(per_request[0])}


# ---- orchestration ---------------------------------------------------------------------------


def median_run(runs: list[Run]) -> dict[str, float]:
    return {
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p95_ms": statistics.median(r.p95_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "errors": sum(r.errors + r.non_2xx for r in runs),
    }


def bench_config(
    db: Database, workdir: Path, workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    with servers(db, workdir, workers) as s:
        core = "0" if workers == 1 else None
        auth = f"Bearer {s.api_key}"
        targets = {
            "create": (s.ownpay_url, "POST", "/api/v1/payment-intents", auth),
            "health": (s.ownpay_url, "GET", "/api/v1/health", None),
            "reference": (s.reference_url, "POST", "/api/v1/payment-intents", None),
        }
        common = dict(connections=args.connections, threads=args.threads, core=core)
        for name, (url, method, path, a) in targets.items():
            wrk(url, method=method, path=path, auth=a, seconds=args.warmup, target=name, **common)
        runs: dict[str, list[Run]] = {name: [] for name in targets}
        for _ in range(args.repeats):
            for name, (url, method, path, a) in targets.items():
                run = wrk(url, method=method, path=path, auth=a, seconds=args.seconds,
                          target=name, **common)
                runs[name].append(run)
                print(f"  {db.engine:10} w={workers} {name:9} {run.rps:8.0f} req/s  "
                      f"p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  "
                      f"errors {run.errors + run.non_2xx}", flush=True)
        summary = {name: median_run(r) for name, r in runs.items()}
        # Both at the same rate (a share of create's throughput), so the tails compare.
        rate = summary["create"]["rps"] * args.fixed_rate_share
        fixed: dict[str, dict[str, float]] = {}
        for name in ("create", "reference"):
            url, _method, path, a = targets[name]
            fixed[name] = asyncio.run(fixed_rate(url, path=path, auth=a, rate=rate,
                                                 seconds=args.seconds,
                                                 connections=args.connections))
            f = fixed[name]
            print(f"  {db.engine:10} w={workers} {name} at a fixed {rate:.0f} req/s: "
                  f"p50 {f['p50_ms']:.1f} ms  p95 {f['p95_ms']:.1f} ms  "
                  f"p99 {f['p99_ms']:.1f} ms  failures {f['failures']}", flush=True)
    return {
        "engine": db.engine, "workers": workers, "connections": args.connections,
        "summary": summary,
        "ratio_create_to_reference": summary["create"]["rps"] / summary["reference"]["rps"],
        "p99_over_p50": summary["create"]["p99_ms"] / summary["create"]["p50_ms"],
        "fixed_rate": fixed,
        "runs": {name: [asdict(r) for r in rs] for name, rs in runs.items()},
    }


def print_table(results: list[dict[str, Any]]) -> None:
    print("\n| engine | workers | create req/s | p50 / p95 / p99 ms | health req/s | "
          "reference req/s | create ÷ reference | create p99 ÷ p50 | fixed rate | "
          "create p50 / p99 ms | reference p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["summary"]
        c = s["create"]
        f, ref = r["fixed_rate"]["create"], r["fixed_rate"]["reference"]
        print(f"| {r['engine']} | {r['workers']} | {c['rps']:.0f} | "
              f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f} / {c['p99_ms']:.1f} | "
              f"{s['health']['rps']:.0f} | {s['reference']['rps']:.0f} | "
              f"{r['ratio_create_to_reference']:.0%} | {r['p99_over_p50']:.1f} | "
              f"{f['rate']:.0f}/s | {f['p50_ms']:.1f} / {f['p99_ms']:.1f} | "
              f"{ref['p50_ms']:.1f} / {ref['p99_ms']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--workers", default="",
                        help="comma list; default sqlite 1, postgresql 1,2")
    parser.add_argument("--pg-url", default=os.environ.get(
        "OWNPAY_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fixed-rate-share", type=float, default=0.5)
    parser.add_argument("--count-queries", action="store_true")
    args = parser.parse_args()
    if not args.count_queries and shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk; `make install-system`)")
    results: list[dict[str, Any]] = []
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="ownpay-bench-") as tmp:
        workdir = Path(tmp)
        for engine in args.engines.split(","):
            with database(engine, args.pg_url, workdir) as db:
                if args.count_queries:
                    print(json.dumps(asyncio.run(count_queries(db, workdir)), indent=2))
                    continue
                counts = [int(w) for w in args.workers.split(",") if w] or (
                    [1] if engine == "sqlite" else [1, 2])
                for workers in counts:
                    if engine == "sqlite" and workers > 1:
                        continue  # one writer: OwnPay refuses several workers on SQLite
                    results.append(bench_config(db, workdir, workers, args))
    if results:
        print_table(results)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"create_intents-{stamp}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
