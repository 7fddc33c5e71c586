"""Finding 6 of issue 16: /metrics behind a reverse proxy on the same host must not be
world-readable, and a scrape stays cheap."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ownpay.metrics import scrape_allowed
from tests.support.databases import Isolated, isolated


@pytest.fixture
async def env(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Isolated]:
    async with isolated(backend, tmp_path_factory.mktemp("metrics")) as found:
        yield found


def _client(env: Isolated, peer: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app, client=(peer, 5555)),
                             base_url="http://pay.test")


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP",
                                    "X-Forwarded-Host"])
async def test_a_proxied_loopback_request_needs_the_token(env: Isolated, header: str) -> None:
    async with _client(env, "127.0.0.1") as c:
        direct = await c.get("/metrics")
        proxied = await c.get("/metrics", headers={header: "203.0.113.9"})
    assert direct.status_code == 200
    assert proxied.status_code == 403 and proxied.json()["code"] == "FORBIDDEN"


async def test_a_remote_client_is_refused(env: Isolated) -> None:
    async with _client(env, "203.0.113.9") as c:
        assert (await c.get("/metrics")).status_code == 403


def test_with_a_token_only_the_token_counts() -> None:
    assert scrape_allowed("s3cret", "Bearer s3cret", "203.0.113.9", forwarded=True)
    assert not scrape_allowed("s3cret", "Bearer wrong", "127.0.0.1")
    assert not scrape_allowed("s3cret", "", "127.0.0.1")


async def test_scrapes_read_the_database_at_most_every_few_seconds(env: Isolated) -> None:
    statements: list[str] = []
    from sqlalchemy import event

    def count(_conn, _cursor, statement, *_args):  # noqa: ANN001 - SQLAlchemy's hook
        statements.append(statement)

    event.listen(env.ctx.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with _client(env, "127.0.0.1") as c:
            for _ in range(5):
                assert (await c.get("/metrics")).status_code == 200
    finally:
        event.remove(env.ctx.engine.sync_engine, "before_cursor_execute", count)
    counts = [s for s in statements if "count(" in s.lower()]
    assert len(counts) == 5  # one scrape's five bounded counts; the next four were cached
    assert all("LIMIT" in s.upper() for s in counts)
