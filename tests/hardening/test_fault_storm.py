"""The fault storm (issue 16): on PostgreSQL, two API processes and two workers take a
bounded storm of creates, sandbox and manual completions, refunds and webhook deliveries
while a chaos loop SIGKILLs a random one of them at random moments (restarting it each
time) and once terminates every PostgreSQL connection of the installation.

Each of the four processes runs on a host of its own (issue 17's several hosts): a network
namespace with its own address, reaching the database and the webhook receiver only over
the network (``tests/support/netns.py``); the test's client spreads its requests over both
API hosts.  Without root (no namespaces) the same storm runs on loopback.

Afterwards nothing is lost and nothing happened twice: every intent answered 201 exists;
no payment completed twice (history and events); no refund completed twice (history and
ledger); ``ownpay ledger verify`` is clean; every completion produced exactly one
``payment.completed`` event and the receiver got it at least once (duplicates carry the
same event id).  The counts are printed for the report (``-s`` shows them).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, make_url, select, text

from ownpay.context import AppContext
from ownpay.ledger.verify import operator_verify
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.refunds.models import Refund, RefundStatusHistory
from ownpay.webhooks.models import WebhookDelivery
from tests.support.databases import PG_URL, create_pg_database, drop_pg_database
from tests.support.factories import MerchantKeys, create_merchant, intent_body
from tests.support.netns import Host, Hosts, available
from tests.support.processes import ServerProcess, server_env, start_server, start_worker
from tests.support.receivers import Receiver
from tests.support.settings import make_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]

INTENTS = int(os.environ.get("OWNPAY_STORM_INTENTS", "2600"))
FLOWS = 16  # concurrent customer flows
REFUND_SHARE = 0.36
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
ATTEMPTS = 60  # per request, 0.25 s apart: a restarting process is back well within it


@dataclass
class Tally:
    created: set[str] = field(default_factory=set)
    completed_by_us: set[str] = field(default_factory=set)
    refunds: set[str] = field(default_factory=set)
    retries: int = 0
    kills: int = 0
    terminations: int = 0


class Cluster:
    """Two API processes (no embedded worker) and two workers on one database; with
    ``hosts``, each on a host of its own (API 0, API 1, worker 0, worker 1), reaching the
    database at ``database_url`` (which then points at the hub)."""

    def __init__(self, database_url: str, workdir: Path, hosts: Hosts | None = None) -> None:
        self.workdir = workdir
        self.places: list[Host | None] = list(hosts.hosts) if hosts else [None] * 4
        self.apis: list[ServerProcess] = []
        self.api_envs: list[dict[str, str]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.worker_env = server_env(database_url, workdir / "worker",
                                     OWNPAY_WORKER_INTERVAL="0.2",
                                     OWNPAY_WEBHOOK_RETRY_SCHEDULE="1,1,2,2,5,5,10,10")
        for n in range(2):
            env = server_env(database_url, workdir / f"api{n}", OWNPAY_RUN_WORKER="false",
                             OWNPAY_DATABASE_POOL_SIZE="8")
            place = self.places[n]
            if place is not None:
                env["OWNPAY_HOST"] = place.address
                env["OWNPAY_BASE_URL"] = f"http://{place.address}:{env['OWNPAY_PORT']}"
            self.api_envs.append(env)
        self.generation = Counter[str]()

    def _log(self, name: str) -> Path:
        self.generation[name] += 1
        return self.workdir / f"{name}-{self.generation[name]}.log"

    def start(self) -> None:
        for n, env in enumerate(self.api_envs):
            Path(env["OWNPAY_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
            self.apis.append(start_server(env, self._log(f"api{n}"), "--no-worker",
                                          on=self.places[n]))
        Path(self.worker_env["OWNPAY_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        self.workers = [start_worker(self.worker_env, self._log(f"worker{n}"),
                                     on=self.places[2 + n]) for n in range(2)]

    @property
    def urls(self) -> list[str]:
        return [api.url for api in self.apis]

    def kill_and_restart(self, victim: int) -> str:
        if victim < 2:
            self.apis[victim].stop(signal.SIGKILL)
            self.apis[victim] = start_server(self.api_envs[victim], self._log(f"api{victim}"),
                                             "--no-worker", on=self.places[victim])
            return f"api{victim}"
        n = victim - 2
        self.workers[n].send_signal(signal.SIGKILL)
        self.workers[n].wait(timeout=10)
        self.workers[n] = start_worker(self.worker_env, self._log(f"worker{n}"),
                                       on=self.places[victim])
        return f"worker{n}"

    def stop(self) -> None:
        for api in self.apis:
            api.stop()
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


async def _call(tally: Tally, cluster: Cluster, method: str, path: str,
                ok: Callable[[httpx.Response], bool], **kwargs: Any) -> httpx.Response:
    """One request, retried (same body, same idempotency key) through restarts; bounded."""
    last: httpx.Response | None = None
    for attempt in range(ATTEMPTS):
        url = random.choice(cluster.urls) + path
        try:
            async with httpx.AsyncClient(timeout=20, follow_redirects=False) as c:
                last = await c.request(method, url, **kwargs)
            if ok(last):
                return last
            if last.status_code < 500 and last.status_code != 429:
                return last
        except httpx.HTTPError:
            pass
        if attempt:
            tally.retries += 1
        await asyncio.sleep(0.25)
    raise AssertionError(f"{method} {path} never succeeded: "
                         f"{last.status_code if last else 'no answer'}")


async def _flow(n: int, shop: MerchantKeys, cluster: Cluster, tally: Tally) -> None:
    gateway = "manual" if n % 3 == 0 else "sandbox"
    auth = shop.auth()
    created = await _call(
        tally, cluster, "POST", "/api/v1/payment-intents", lambda r: r.status_code == 201,
        json=intent_body(gateway=gateway, amount="20.00", order_id=f"STORM-{n}"),
        headers={**auth, "Idempotency-Key": f"storm-create-{n}"})
    assert created.status_code == 201, created.text
    txn = created.json()["transaction_id"]
    tally.created.add(txn)
    paid = await _pay(txn, gateway, shop, cluster, tally)
    if not paid or random.random() > REFUND_SHARE:
        return
    amount = random.choice(["20.00", "5.00"])
    refund = await _call(
        tally, cluster, "POST", "/api/v1/refunds", lambda r: r.status_code == 201,
        json={"transaction_id": txn, "amount": amount},
        headers={**auth, "Idempotency-Key": f"storm-refund-{n}"})
    assert refund.status_code == 201, refund.text
    body = refund.json()
    tally.refunds.add(body["id"])
    if body["pending_reason"] == "awaiting_operator":
        confirmed = await _call(
            tally, cluster, "POST", f"/api/v1/refunds/{body['id']}/confirm",
            lambda r: r.status_code in (200, 409), headers=auth)
        assert confirmed.status_code in (200, 409), confirmed.text


async def _pay(txn: str, gateway: str, shop: MerchantKeys, cluster: Cluster,
               tally: Tally) -> bool:
    """Pay on the hosted checkout (manual: submit, then an operator approves)."""
    for _ in range(ATTEMPTS):
        base = random.choice(cluster.urls)
        try:
            async with httpx.AsyncClient(base_url=base, timeout=20) as c:
                page = await c.get(f"/checkout/{txn}")
                token = CSRF.search(page.text)
                if token is None:
                    break  # no longer payable: paid by an earlier attempt, see below
                form = {"csrf_token": token.group(1)}
                if gateway == "manual":
                    form |= {"sender_account": "01700000000", "provider_txn_id": f"S{txn[4:]}"}
                else:
                    form["outcome"] = "succeed"
                r = await c.post(f"/checkout/{txn}/pay", data=form)
                if r.status_code in (303, 409):
                    break
        except httpx.HTTPError:
            pass
        tally.retries += 1
        await asyncio.sleep(0.25)
    if gateway == "manual":
        r = await _call(tally, cluster, "POST", f"/api/v1/payment-intents/{txn}/approve",
                        lambda r: r.status_code in (200, 409), headers=shop.auth())
        if r.status_code == 409 and "completed" not in r.text:
            return False
    state = await _call(tally, cluster, "GET", f"/api/v1/payment-intents/{txn}",
                        lambda r: r.status_code == 200, headers=shop.auth())
    if state.json()["status"] == "completed":
        tally.completed_by_us.add(txn)
        return True
    return False


async def _chaos(cluster: Cluster, tally: Tally, database: str, stop: asyncio.Event,
                 observer: AppContext) -> None:
    """SIGKILL a random process (and restart it) each time the storm has created another
    ``INTENTS // 14`` intents, at a random moment within that stretch -- so the kills land
    throughout the storm however fast the machine is; once, cut every database connection
    of the installation (the test's own observer pool is cut too, and reopened: it is not
    the installation, and its next read must not trip over a dead connection)."""
    every = max(INTENTS // 14, 1)
    next_kill = random.randint(every // 2, every)
    terminated = False
    while not stop.is_set():
        await asyncio.sleep(0.05)
        if len(tally.created) < next_kill:
            continue
        next_kill += random.randint(every // 2, every + every // 2)
        victim = random.randrange(4)
        await asyncio.to_thread(cluster.kill_and_restart, victim)
        tally.kills += 1
        if not terminated and tally.kills >= 4:
            await _terminate_connections(database)
            await observer.engine.dispose()
            tally.terminations += 1
            terminated = True


async def _terminate_connections(database: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()", database)
    finally:
        await conn.close()


async def _confirm_offline_refunds(shop: MerchantKeys, cluster: Cluster, tally: Tally,
                                   ctx: AppContext) -> None:
    """The operator's part: offline refunds whose request was cut short (the worker sent
    them later) wait for a confirmation; confirm every one, until none is left."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        async with ctx.sessions() as s:
            pending = list(await s.scalars(select(Refund.id).where(
                Refund.status == "pending", Refund.gateway == "manual")))
        if not pending:
            return
        for refund_id in pending:
            await _call(tally, cluster, "POST", f"/api/v1/refunds/{refund_id}/confirm",
                        lambda r: r.status_code in (200, 409), headers=shop.auth())
        await asyncio.sleep(0.5)
    raise AssertionError("offline refunds still pending")


async def _settled(ctx: AppContext) -> bool:
    async with ctx.sessions() as s:
        undispatched = await s.scalar(select(func.count()).select_from(OutboxEvent)
                                      .where(OutboxEvent.dispatched_at.is_(None)))
        waiting = await s.scalar(select(func.count()).select_from(WebhookDelivery)
                                 .where(WebhookDelivery.status.in_(("pending", "retrying"))))
        refunds = await s.scalar(select(func.count()).select_from(Refund)
                                 .where(Refund.status == "pending"))
    return not (undispatched or waiting or refunds)


async def _until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"not settled within {within} s")


async def test_a_fault_storm_loses_nothing_and_does_nothing_twice(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("the fault storm runs on PostgreSQL (OWNPAY_TEST_DATABASE_URL)")
    random.seed(int(os.environ.get("OWNPAY_STORM_SEED", "20261202")))
    url = await create_pg_database()
    database = url.rsplit("/", 1)[1]
    hosts = Hosts(4, tag="storm").__enter__() if available() else None
    receiver = Receiver(host=hosts.hub if hosts else "127.0.0.1")
    ctx: AppContext | None = None
    cluster: Cluster | None = None
    try:
        cluster = Cluster(_through_hub(url, hosts, tmp_path) if hosts else url, tmp_path, hosts)
        cluster.start()
        ctx = AppContext.create(make_settings(url, tmp_path / "test"))
        shop = await create_merchant(ctx)
        async with httpx.AsyncClient(base_url=cluster.urls[0]) as c:
            r = await c.post("/api/v1/webhook-endpoints", headers=shop.auth(),
                             json={"url": f"{receiver.url}/storm"})
            assert r.status_code == 201, r.text
        tally = Tally()
        stop = asyncio.Event()
        chaos = asyncio.create_task(_chaos(cluster, tally, database, stop, ctx))
        queue = list(range(INTENTS))

        async def runner() -> None:
            while queue:
                await _flow(queue.pop(), shop, cluster, tally)

        started = time.monotonic()
        await asyncio.gather(*(runner() for _ in range(FLOWS)))
        stop.set()
        await chaos
        await _confirm_offline_refunds(shop, cluster, tally, ctx)
        await _until(lambda: _settled(ctx), within=240)
        await _until(lambda: _received_everything(ctx, receiver), within=120)
        report = await _check(ctx, tally, receiver, shop)
        report["storm_seconds"] = round(time.monotonic() - started, 1)
        report["hosts"] = ("4 network namespaces" if hosts else "loopback")
        print("\nFAULT STORM:", json.dumps(report, sort_keys=True))
        if INTENTS >= 2600:  # the scale the issue asks for (smaller runs are for debugging)
            assert tally.kills >= 11 and tally.terminations == 1
            assert report["intents"] >= 2540 and report["refunds"] >= 878
    finally:
        if cluster is not None:
            cluster.stop()
        receiver.close()
        if hosts is not None:
            hosts.close()
        if ctx is not None:
            await ctx.close()
        await drop_pg_database(url)


def _through_hub(url: str, hosts: Hosts, workdir: Path) -> str:
    """``url`` as the hosts reach it: PostgreSQL's port relayed from the hub."""
    parsed = make_url(url)
    port = hosts.forward(parsed.port or 5432, workdir / "socat.log",
                         target_host=parsed.host or "127.0.0.1")
    return parsed.set(host=hosts.hub, port=port).render_as_string(hide_password=False)


async def _completed_events(ctx: AppContext) -> dict[str, list[str]]:
    async with ctx.sessions() as s:
        rows = (await s.execute(select(OutboxEvent.payment_id, OutboxEvent.id)
                                .where(OutboxEvent.type == "payment.completed"))).all()
    events: dict[str, list[str]] = defaultdict(list)
    for payment_id, event_id in rows:
        events[str(payment_id)].append(str(event_id))
    return events


async def _received_everything(ctx: AppContext, receiver: Receiver) -> bool:
    got = {json.loads(r.body)["id"] for r in receiver.requests}
    wanted = {e for ids in (await _completed_events(ctx)).values() for e in ids}
    return wanted <= got


async def _check(ctx: AppContext, tally: Tally, receiver: Receiver,
                 shop: MerchantKeys) -> dict[str, Any]:
    async with ctx.sessions() as s:
        stored = set(await s.scalars(select(PaymentIntent.id)
                                     .where(PaymentIntent.merchant_id == shop.id)))
        completions = Counter(await s.scalars(
            select(PaymentStatusHistory.payment_id)
            .where(PaymentStatusHistory.to_status == "completed")))
        refund_done = Counter(await s.scalars(
            select(RefundStatusHistory.refund_id)
            .where(RefundStatusHistory.to_status == "completed")))
        refund_journals = Counter(await s.scalars(
            select(text("refund_id")).select_from(text("ledger_journals"))
            .where(text("kind = 'refund'"))))
        completed_now = set(await s.scalars(select(PaymentIntent.id).where(
            PaymentIntent.status.in_(("completed", "partially_refunded", "refunded")))))
        report = await operator_verify(s, merchant_id=shop.id)
    events = await _completed_events(ctx)
    receipts: dict[str, set[str]] = defaultdict(set)
    for request in receiver.requests:
        body = json.loads(request.body)
        if body.get("event") == "payment.completed":
            receipts[body["transaction_id"]].add(body["id"])
    assert tally.created <= stored, "an intent answered 201 is missing"
    assert max(completions.values(), default=0) == 1, "a payment completed twice"
    assert set(completions) == completed_now
    assert tally.completed_by_us <= completed_now
    assert {p: len(e) for p, e in events.items()} == dict.fromkeys(completed_now, 1)
    assert all(receipts[p] == set(events[p]) for p in completed_now), "an event lost or forked"
    assert max(refund_done.values(), default=0) == 1, "a refund completed twice"
    assert all(refund_journals[r] == 1 for r in refund_done), "a refund booked twice"
    assert report.ok, report.as_dict()
    deliveries = Counter(r.delivery_id for r in receiver.requests)
    return {
        "intents": len(tally.created), "completions": len(completed_now),
        "refunds": len(tally.refunds), "refunds_completed": len(refund_done),
        "kills": tally.kills, "connection_terminations": tally.terminations,
        "deliveries_received": len(receiver.requests),
        "duplicate_deliveries": sum(n - 1 for n in deliveries.values() if n > 1),
        "client_retries": tally.retries,
    }
