"""Rate limits (issue 16): per API key and per client IP on the API (and per IP for failed
authentication), per IP and per payment on checkout submissions, per IP on provider
webhooks; 429 in each surface's own envelope with Retry-After and RateLimit-* headers;
counters shared through Redis across processes; a counter-store outage lets requests in."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from ownpay.config import RATE_LIMIT_FIELDS, Settings
from ownpay.ratelimit import RateLimiter
from ownpay.web.client import client_ip
from tests.support.databases import Isolated, isolated
from tests.support.factories import create_merchant, intent_body

LIMITS = {name: "100000/minute" for name in RATE_LIMIT_FIELDS}
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@pytest.fixture
async def limited(backend: str, tmp_path_factory: pytest.TempPathFactory,
                  request: pytest.FixtureRequest) -> AsyncIterator[Isolated]:
    overrides: dict[str, Any] = {**LIMITS, **getattr(request, "param", {})}
    async with isolated(backend, tmp_path_factory.mktemp("limits"), **overrides) as env:
        yield env


def _client(env: Isolated, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=env.app, client=(ip, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://pay.test")


def _refused(rule: str) -> float:
    return REGISTRY.get_sample_value("ownpay_rate_limited_total", {"rule": rule}) or 0.0


def _assert_limit_headers(r: httpx.Response, limit: int) -> None:
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["RateLimit-Limit"] == str(limit)
    assert r.headers["RateLimit-Remaining"] == "0"
    assert int(r.headers["RateLimit-Reset"]) >= 1
    assert r.headers["RateLimit-Policy"] == f"{limit};w=60"


@pytest.mark.parametrize("limited", [{"rate_limit_api_key": "3/minute"}], indirect=True)
async def test_each_api_key_has_its_own_budget(limited: Isolated) -> None:
    m = await create_merchant(limited.ctx)
    before = _refused("api_key")
    async with _client(limited) as c:
        codes = [(await c.get("/api/v1/transactions", headers=m.auth())).status_code
                 for _ in range(3)]
        refused = await c.post("/api/v1/payment-intents", json=intent_body(),
                               headers=m.auth())
        other_key = await c.get("/api/v1/transactions", headers=m.auth("live"))
    assert codes == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {
        "error": True, "code": "RATE_LIMITED",
        "message": "Too many requests: slow down and retry after the time in Retry-After."}
    _assert_limit_headers(refused, 3)
    assert other_key.status_code == 200  # the live key of the same merchant is another key
    assert _refused("api_key") == before + 1


@pytest.mark.parametrize("limited", [{"rate_limit_api_auth_failures_ip": "2/minute"}],
                         indirect=True)
async def test_failed_authentication_locks_out_the_ip_not_the_key(limited: Isolated) -> None:
    m = await create_merchant(limited.ctx)
    bad = {"Authorization": "Bearer op_test_" + "x" * 39}
    async with _client(limited, "198.51.100.9") as c:
        first = [(await c.get("/api/v1/transactions", headers=bad)).status_code
                 for _ in range(2)]
        locked = await c.get("/api/v1/transactions", headers=m.auth())
    async with _client(limited, "198.51.100.10") as elsewhere:
        fine = await elsewhere.get("/api/v1/transactions", headers=m.auth())
    assert first == [401, 401]
    assert locked.status_code == 429 and locked.json()["code"] == "RATE_LIMITED"
    assert fine.status_code == 200


@pytest.mark.parametrize("limited", [{"rate_limit_api_ip": "2/minute"}], indirect=True)
async def test_every_api_request_counts_against_its_ip(limited: Isolated) -> None:
    m = await create_merchant(limited.ctx)
    other = await create_merchant(limited.ctx)
    async with _client(limited, "192.0.2.50") as c:
        assert (await c.get("/api/v1/transactions", headers=m.auth())).status_code == 200
        assert (await c.get("/api/v1/transactions", headers=other.auth())).status_code == 200
        r = await c.get("/api/v1/transactions", headers=other.auth())
    assert r.status_code == 429


@pytest.mark.parametrize("limited", [{"rate_limit_checkout_payment": "2/minute"}],
                         indirect=True)
async def test_checkout_submissions_are_limited_per_payment(limited: Isolated) -> None:
    m = await create_merchant(limited.ctx)
    async with _client(limited) as c:
        txn = (await c.post("/api/v1/payment-intents", json=intent_body(gateway="manual"),
                            headers=m.auth())).json()["transaction_id"]
        page = await c.get(f"/checkout/{txn}")
        token = CSRF.search(page.text)
        assert token is not None
        answers = [await c.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1)})
                   for _ in range(3)]
    assert [a.status_code for a in answers] == [303, 303, 429]  # refused forms redirect
    assert "Too many attempts" in answers[2].text
    assert "text/html" in answers[2].headers["content-type"]
    _assert_limit_headers(answers[2], 2)


@pytest.mark.parametrize("limited", [{"rate_limit_provider_webhook_ip": "1/minute"}],
                         indirect=True)
async def test_provider_webhooks_are_limited_per_ip(limited: Isolated) -> None:
    async with _client(limited, "192.0.2.77") as c:
        first = await c.post("/gateways/stripe/webhooks/nobody/test", content=b"{}")
        second = await c.post("/gateways/stripe/webhooks/nobody/test", content=b"{}")
    assert first.status_code == 404
    assert second.status_code == 429 and second.json()["code"] == "RATE_LIMITED"


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    ("203.0.113.1", "1.2.3.4", (), "203.0.113.1"),  # no trusted proxy: XFF ignored
    ("10.0.0.2", "1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
    ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.9", ("10.0.0.0/8",), "1.2.3.4"),  # right-most
    ("10.0.0.2", "not-an-ip", ("10.0.0.0/8",), "10.0.0.2"),
    ("203.0.113.1", "1.2.3.4", ("10.0.0.0/8",), "203.0.113.1"),  # peer is not trusted
])
def test_client_ip_believes_only_trusted_proxies(peer: str, forwarded: str,
                                                 trusted: tuple[str, ...], expected: str) -> None:
    scope = {"client": (peer, 1), "headers": [(b"x-forwarded-for", forwarded.encode())]}
    assert client_ip(scope, trusted) == expected


async def test_redis_counters_are_shared_between_processes() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6379/0", rate_limit_api_key="2/minute")
    one, two = RateLimiter(settings), RateLimiter(settings)
    key = "key-" + secrets.token_hex(8)
    assert await one.hit("api_key", key) is None
    assert await two.hit("api_key", key) is None
    refused = await one.hit("api_key", key)
    assert refused is not None and refused.limit == 2


async def test_a_counter_store_outage_lets_requests_in() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", rate_limit_api_key="1/minute")
    limiter = RateLimiter(settings)
    before = REGISTRY.get_sample_value("ownpay_rate_limit_errors_total") or 0.0
    assert await limiter.hit("api_key", "k") is None
    assert await limiter.hit("api_key", "k") is None
    assert (REGISTRY.get_sample_value("ownpay_rate_limit_errors_total") or 0.0) >= before + 2
