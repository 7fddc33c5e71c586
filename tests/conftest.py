"""Shared fixtures: every database-backed test runs on SQLite and, when
``OWNPAY_TEST_DATABASE_URL`` is set (CI always sets it), on PostgreSQL too.

Each backend gets a fresh database migrated by Alembic once per session; tests isolate
themselves by creating their own merchant (tenant isolation is a product invariant, so
sharing a database between tests is itself a check of it).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ownpay.app import create_app
from ownpay.config import RATE_LIMIT_FIELDS, Settings, normalize_database_url
from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
PG_URL = os.environ.get("OWNPAY_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _create_pg_database(base_url: str) -> str:
    """A fresh database on the test server, so reruns never see old rows."""
    url = normalize_database_url(base_url)
    name = f"ownpay_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


async def _drop_pg_database(base_url: str, db_url: str) -> None:
    admin = create_async_engine(normalize_database_url(base_url), isolation_level="AUTOCOMMIT")
    name = db_url.rsplit("/", 1)[1]
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ownpay-data")


@pytest.fixture(scope="session")
async def database_url(backend: str,
                       tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "ownpay.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = await _create_pg_database(PG_URL)
    try:
        yield url
    finally:
        await _drop_pg_database(PG_URL, url)


# Every test talks from 127.0.0.1: the limits stay on (their code runs) but high enough that
# only the rate-limit tests, which set their own, ever reach one.
TEST_RATE_LIMITS = {name: "100000/minute" for name in RATE_LIMIT_FIELDS}


def make_settings(database_url: str, data_dir: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "base_url": "http://pay.test",
        "secret_key": "A" * 43,  # base64 of 32 zero-ish bytes: deterministic for tests
        "run_worker": False,
        "auth_cache_ttl": 0.0,
        "webhooks_allow_private": True,
        **TEST_RATE_LIMITS,
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture(scope="session")
async def ctx(database_url: str, data_dir: Path) -> AsyncIterator[AppContext]:
    context = AppContext.create(make_settings(database_url, data_dir))
    await upgrade(context.engine)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def app(ctx: AppContext) -> Any:
    return create_app(ctx.settings, ctx=ctx)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        yield c


@dataclass
class MerchantKeys:
    id: int
    slug: str
    test_key: str
    live_key: str
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, mode: str = "test") -> dict[str, str]:
        key = self.test_key if mode == "test" else self.live_key
        return {"Authorization": f"Bearer {key}"}


async def create_merchant(
    ctx: AppContext,
    *,
    gateways: tuple[tuple[str, str], ...] = (
        ("test", "sandbox"), ("test", "manual"), ("live", "manual"),
    ),
    **fields: Any,
) -> MerchantKeys:
    slug = "m-" + secrets.token_hex(5)
    async with ctx.sessions() as s, s.begin():
        m = await merchants.create_merchant(s, slug=slug, name=fields.pop("name", f"Shop {slug}"),
                                            **fields)
        for mode, gw in gateways:
            await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode=mode, gateway=gw,
                                           values={})
        test_key = await merchants.create_api_key(s, merchant=m, mode="test")
        live_key = await merchants.create_api_key(s, merchant=m, mode="live")
    return MerchantKeys(id=m.id, slug=slug, test_key=test_key.api_key, live_key=live_key.api_key)


@pytest.fixture
async def merchant(ctx: AppContext) -> MerchantKeys:
    return await create_merchant(ctx)


def intent_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "gateway": "sandbox",
        "amount": 99.99,
        "currency": "USD",
        "order_id": "ORDER-" + secrets.token_hex(4),
        "customer_name": "Jane Smith",
        "customer_email": "jane@example.com",
        "return_url": "https://shop.example/return",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


# ---- real server processes ---------------------------------------------------------------


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path

    def stop(self, sig: int | None = None) -> None:
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def ownpay_cli(env: dict[str, str], *args: str,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ownpay", *args], env=env, capture_output=True, text=True,
        timeout=120, check=check,
    )


def start_server(env: dict[str, str], log_path: Path, *extra: str) -> ServerProcess:
    port = int(env["OWNPAY_PORT"])
    log_file = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        [sys.executable, "-m", "ownpay", "serve", *extra], env=env, stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return ServerProcess(url=url, proc=proc, env=env, log_path=log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{log_path.read_text()}")


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWNPAY_")}
    port = free_port()
    env.update(
        {
            "OWNPAY_DATABASE_URL": database_url,
            "OWNPAY_DATA_DIR": str(data_dir),
            "OWNPAY_PORT": str(port),
            "OWNPAY_BASE_URL": f"http://127.0.0.1:{port}",
            "OWNPAY_SECRET_KEY": "A" * 43,
            "OWNPAY_WEBHOOKS_ALLOW_PRIVATE": "true",
            "OWNPAY_WORKER_INTERVAL": "0.2",
            "PYTHONUNBUFFERED": "1",
            **{f"OWNPAY_{name.upper()}": value for name, value in TEST_RATE_LIMITS.items()},
        }
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def live_server(database_url: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `ownpay serve` process per backend, sharing the test database."""
    data = tmp_path_factory.mktemp("server-data")
    env = server_env(database_url, data)
    server = start_server(env, data / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _output_dir() -> None:
    OUTPUT.mkdir(exist_ok=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.browser)


