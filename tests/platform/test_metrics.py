"""``GET /metrics``: who may scrape, and that the counters count what really happened."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ownpay.app import create_app
from ownpay.config import Settings
from ownpay.context import AppContext
from ownpay.payments import service as payments
from tests.support.factories import MerchantKeys, intent_body
from tests.support.metrics import sample
from tests.support.settings import make_settings

pytestmark = pytest.mark.api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def scrape(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_a_payment_is_counted_once_after_commit(client, ctx, merchant: MerchantKeys) -> None:
    before = await scrape(client)
    r = await client.post("/api/v1/payment-intents", json=intent_body(), headers=merchant.auth())
    assert r.status_code == 201
    txn = r.json()["transaction_id"]
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    assert token
    paid = await client.post(f"/checkout/{txn}/pay",
                             data={"csrf_token": token.group(1), "outcome": "succeed"})
    assert paid.status_code == 303
    # a transition that rolls back is not counted
    r2 = await client.post("/api/v1/payment-intents", json=intent_body(), headers=merchant.auth())
    other = r2.json()["transaction_id"]
    async with ctx.sessions() as s:
        await s.begin()
        moved = await payments.transition(s, payment_id=other, merchant_id=merchant.id,
                                          expected="pending", to="cancelled", actor="test")
        assert moved is not None
        await s.rollback()
    after = await scrape(client)
    key = {"gateway": "sandbox", "to": "completed"}
    assert sample(after, "ownpay_payment_transitions_total", **key) - sample(
        before, "ownpay_payment_transitions_total", **key) == 1
    cancelled = {"gateway": "sandbox", "to": "cancelled"}
    assert sample(after, "ownpay_payment_transitions_total", **cancelled) == sample(
        before, "ownpay_payment_transitions_total", **cancelled)
    route = {"route": "/api/v1/payment-intents", "method": "POST", "status": "201"}
    assert sample(after, "ownpay_http_requests_total", **route) - sample(
        before, "ownpay_http_requests_total", **route) == 2
    # templated route labels, never raw ids
    assert txn not in after
    assert 'route="/checkout/{transaction_id}"' in after
    # the backlog gauges are read from the database at scrape time (their values depend on
    # whatever else shares this test database, e.g. a live server's worker draining it)
    assert re.search(r'^ownpay_backlog\{queue="outbox_undispatched"\} \d', after, re.M)


async def test_only_loopback_may_scrape_without_a_token(app) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as outsider:
        r = await outsider.get("/metrics")
    assert r.status_code == 403
    assert r.json()["code"] == "FORBIDDEN"


@pytest.fixture
async def token_app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[object, Settings]]:
    settings = make_settings(database_url, tmp_path, metrics_token="s3cret-scrape-token")
    context = AppContext.create(settings)
    try:
        yield create_app(settings, ctx=context), settings
    finally:
        await context.close()


async def test_a_token_is_required_when_configured(token_app) -> None:
    app, settings = token_app
    assert "s3cret-scrape-token" not in repr(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://pay.test") as c:
        assert (await c.get("/metrics")).status_code == 403  # loopback is not enough now
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        ok = await c.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        assert ok.status_code == 200 and "ownpay_http_requests_total" in ok.text
