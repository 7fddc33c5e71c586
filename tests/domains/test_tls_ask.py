"""``GET /tls/ask?domain=X`` (Caddy's on-demand TLS): 200 only for a verified domain, the
same bare 404 for pending, suspended, unknown and malformed names; rate-limited per IP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from limits import parse_many

from ownpay.domains import service
from tests.support.dns import Zone
from tests.support.factories import create_merchant

pytestmark = pytest.mark.api


async def test_only_verified_domains_get_a_certificate(client: httpx.AsyncClient, ctx: Any,
                                                       zone: Zone) -> None:
    shop = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        good = await service.add_domain(s, shop.id, f"tls-{shop.id}.ask.example",
                                        settings=ctx.settings)
        waiting = await service.add_domain(s, shop.id, f"wait-{shop.id}.ask.example",
                                           settings=ctx.settings)
    zone.prove(good.domain, good.token)
    await service.verify(ctx, shop.id, good.id)
    ok = await client.get("/tls/ask", params={"domain": good.domain})
    assert (ok.status_code, ok.text) == (200, "ok\n")
    assert (await client.get("/tls/ask", params={"domain": good.domain.upper() + "."})
            ).status_code == 200
    refusals = [{"domain": waiting.domain}, {"domain": "nobody.example"}, {},
                {"domain": "203.0.113.7"}, {"domain": "x" * 5000}, {"domain": "pay.test"}]
    bodies = set()
    raw = ["/tls/ask?domain=a%00b.example", "/tls/ask?domain=%ED%A0%80.example"]
    for params in [*refusals, *raw]:
        r = await (client.get(params) if isinstance(params, str)
                   else client.get("/tls/ask", params=params))
        assert r.status_code in (400, 404), (params, r.status_code)
        bodies.add((r.status_code, r.text))
    # NUL and lone surrogates stop at the URL check (400); everything else is one 404.
    assert {b for b in bodies if b[0] == 404} == {(404, "unknown domain\n")}
    zone.clear(good.domain)
    for _ in range(service.SUSPEND_AFTER):
        await service.verify(ctx, shop.id, good.id)
    assert (await client.get("/tls/ask", params={"domain": good.domain})).status_code == 404


async def test_the_ask_endpoint_is_rate_limited(client: httpx.AsyncClient, ctx: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ctx.rate_limiter.rules, "tls_ask_ip", parse_many("2/hour"))
    await ctx.rate_limiter.storage.reset()
    for _ in range(2):
        assert (await client.get("/tls/ask", params={"domain": "a.example"})).status_code == 404
    r = await client.get("/tls/ask", params={"domain": "a.example"})
    assert r.status_code == 429 and "Retry-After" in r.headers
