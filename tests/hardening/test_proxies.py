"""Finding 8 of issue 16: behind a TLS-terminating proxy the checkout's CSRF cookie is
``Secure`` and pages carry HSTS -- believing ``X-Forwarded-Proto`` only from the
configured trusted proxies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.databases import Isolated, isolated
from tests.support.factories import create_merchant, intent_body


@pytest.fixture
async def env(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Isolated]:
    async with isolated(backend, tmp_path_factory.mktemp("proxies"),
                        trusted_proxies=("10.0.0.0/8",)) as found:
        yield found


async def _page(env: Isolated, peer: str) -> httpx.Response:
    m = await create_merchant(env.ctx)
    transport = httpx.ASGITransport(app=env.app, client=(peer, 443))
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        txn = (await c.post("/api/v1/payment-intents", json=intent_body(),
                            headers=m.auth())).json()["transaction_id"]
        return await c.get(f"/checkout/{txn}", headers={"X-Forwarded-Proto": "https"})


async def test_a_trusted_tls_proxy_makes_the_cookie_secure_and_adds_hsts(env: Isolated) -> None:
    page = await _page(env, "10.1.2.3")
    assert "Secure" in page.headers["set-cookie"]
    assert page.headers["strict-transport-security"].startswith("max-age=")


async def test_an_untrusted_peer_cannot_claim_https(env: Isolated) -> None:
    page = await _page(env, "203.0.113.5")
    assert "Secure" not in page.headers["set-cookie"]
    assert "strict-transport-security" not in page.headers
