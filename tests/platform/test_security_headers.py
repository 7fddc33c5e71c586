"""Security headers on every answer of every surface (issue 16, always-on checks): every API
route (read from the app, so a new one is covered when it is mounted) with a good key and
with none, the docs, the OpenAPI document, metrics, the hosted checkout (a real page, an
unknown payment, a refused form), provider webhooks, unknown paths and wrong methods.

Every answer: ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``; every HTML
answer a Content-Security-Policy that forbids framing; HSTS exactly when the client came
over HTTPS (directly, or per ``X-Forwarded-Proto`` from a trusted proxy -- never from an
untrusted client's header).
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from tests.support.checkout import new_intent
from tests.support.factories import MerchantKeys
from tests.support.routes import ROUTES

PLACEHOLDERS = {"transaction_id": "txn_0123456789abcdef", "refund_id": "rf_0123456789abcdef",
                "endpoint_id": "we_0123456789abcdef01234567",
                "delivery_id": "dlv_0123456789abcdef01234567",
                "payment_id": "00000000-0000-4000-8000-000000000000",
                "device_id": "dev_0123456789abcdef", "secret": "s" * 43, "alert_id": "1",
                "link_id": "plink_0123456789abcdef", "slug": "no-such-link",
                "domain_id": "dom_0123456789abcdef",
                "customer_id": "cus_0123456789abcdef",
                "invoice_id": "inv_0123456789abcdef", "token": "t" * 43}


def problems_of(r: httpx.Response, *, https: bool) -> list[str]:
    where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
    found = []
    if r.headers.get("x-content-type-options") != "nosniff":
        found.append(f"{where}: no nosniff")
    if not r.headers.get("referrer-policy"):
        found.append(f"{where}: no Referrer-Policy")
    if ("strict-transport-security" in r.headers) != https:
        found.append(f"{where}: HSTS {'missing' if https else 'over plain HTTP'}")
    if r.headers.get("content-type", "").startswith("text/html"):
        csp = r.headers.get("content-security-policy", "")
        if "frame-ancestors 'none'" not in csp or "default-src 'none'" not in csp:
            found.append(f"{where}: HTML with CSP {csp!r}")
    return found


async def every_surface(c: httpx.AsyncClient, merchant: MerchantKeys) -> list[httpx.Response]:
    answers = []
    for route in ROUTES:
        url = route.path.format(**PLACEHOLDERS)
        for headers in (merchant.auth(), {}):
            answers.append(await c.request(route.method, url, headers=headers,
                                           **({"json": {}} if route.method != "GET" else {})))
    txn = await new_intent(c, merchant)
    for method, path, kw in [
        ("GET", "/docs", {}), ("GET", "/openapi.json", {}), ("GET", "/metrics", {}),
        ("GET", f"/checkout/{txn}", {}), ("GET", "/checkout/txn_0000000000000000", {}),
        ("POST", f"/checkout/{txn}/pay", {"data": {"csrf_token": "forged"}}),
        ("POST", "/gateways/stripe/webhooks/1", {"content": b"{}"}),
        ("GET", "/nowhere", {}), ("GET", "/api/v1/nowhere", {}),
        ("OPTIONS", "/api/v1/refunds", {}), ("GET", "/api/v1/health", {}),
    ]:
        answers.append(await c.request(method, path, **kw))
    return answers


async def test_every_answer_carries_the_security_headers(
    client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    answers = await every_surface(client, merchant)
    assert {r.status_code for r in answers} >= {200, 400, 401, 403, 404, 405}
    assert any(r.headers.get("content-type", "").startswith("text/html") for r in answers)
    assert [p for r in answers for p in problems_of(r, https=False)] == []


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-proxy", "untrusted-client"])
async def test_hsts_follows_https_as_a_trusted_proxy_reports_it(
    ctx: AppContext, merchant: MerchantKeys, trusted: bool
) -> None:
    # ASGITransport's peer is 127.0.0.1; it is the proxy only when configured as one.
    settings = dataclasses.replace(ctx.settings,
                                   trusted_proxies=("127.0.0.1/32",) if trusted else ())
    app = create_app(settings, ctx=ctx)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test",
                                 headers={"X-Forwarded-Proto": "https"}) as c:
        answers = await every_surface(c, merchant)
    assert [p for r in answers for p in problems_of(r, https=trusted)] == []


async def test_https_itself_gets_hsts(ctx: AppContext, merchant: MerchantKeys) -> None:
    transport = httpx.ASGITransport(app=create_app(ctx.settings, ctx=ctx))
    async with httpx.AsyncClient(transport=transport, base_url="https://pay.test") as c:
        answers = await every_surface(c, merchant)
    assert [p for r in answers for p in problems_of(r, https=True)] == []
