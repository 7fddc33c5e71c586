"""Request bodies are bounded on every route of every surface (issue 16): every route that
takes a body -- read from the app and the checkout sub-application, so a new one is covered
the moment it is mounted -- refuses one over its limit with ``413`` in its surface's
envelope, whether ``Content-Length`` announces it or it arrives chunked, and nothing is
created; routes that take no body, and unknown paths, refuse one over the global bound too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.payments.models import PaymentIntent
from ownpay.web.middleware import MAX_REQUEST_BODY
from tests.support.checkout import new_intent
from tests.support.factories import MerchantKeys

BODY_METHODS = {"POST", "PUT", "PATCH"}
IDS = {"transaction_id": "txn_0123456789abcdef", "refund_id": "rf_0123456789abcdef",
       "endpoint_id": "we_0123456789abcdef01234567",
       "delivery_id": "dlv_0123456789abcdef01234567", "gateway": "stripe",
       "merchant_slug": "shop", "mode": "test", "return_token": "t0ken",
       "device_id": "dev_0123456789abcdef", "secret": "s" * 43,
       "link_id": "plink_0123456789abcdef", "slug": "no-such-link", "item": "cus_1",
       "domain_id": "dom_0123456789abcdef",
       "action": "forget", "customer_id": "cus_0123456789abcdef",
       "invoice_id": "inv_0123456789abcdef", "token": "t" * 43}


def body_routes(app: object) -> list[tuple[str, str]]:
    found = []
    for routes in (app.routes, app.state.checkout_app.routes):  # type: ignore[attr-defined]
        for route in iter_route_contexts(routes):
            for method in sorted((route.methods or set()) & BODY_METHODS):
                found.append((method, route.path_format))
    return found


async def chunks(size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        piece = b" " * min(64 * 1024, size - sent)
        sent += len(piece)
        yield piece


def refused(r: httpx.Response, path: str) -> bool:
    if r.status_code != 413:
        return False
    if path.startswith(("/api/", "/gateways/")):
        body = r.json()
        if "success" in body:  # a compatibility facade's envelope (compat/)
            return bool(body["errors"][0]["code"] == "PAYLOAD_TOO_LARGE")
        if set(body) == {"status", "message"}:  # UddoktaPay's and PipraPay's (compat/)
            return body["status"] is False
        return bool(body["code"] == "PAYLOAD_TOO_LARGE")
    return r.headers["content-type"].startswith(("text/", "application/json"))


async def test_every_body_route_refuses_an_oversized_body(
    app: object, client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    routes = body_routes(app)
    assert ("POST", "/api/v1/payment-intents") in routes
    assert ("POST", "/checkout/{transaction_id}/pay") in routes
    assert any(path.startswith("/gateways/") for _, path in routes)
    txn = await new_intent(client, merchant)
    async with ctx.sessions() as s:
        before = await s.scalar(select(func.count()).select_from(PaymentIntent))
    problems = []
    for method, template in routes:
        path = template.format(**{**IDS, "transaction_id": txn})
        headers = {**merchant.auth(), "Content-Type": "application/json"}
        announced = await client.request(method, path, headers=headers,
                                         content=b" " * (MAX_REQUEST_BODY + 1))
        streamed = await client.request(method, path, headers=headers,
                                        content=chunks(MAX_REQUEST_BODY + 1))
        # A route that reads its body refuses the stream once it passes the bound; one that
        # reads none answers without reading it (never 2xx-by-accident, never a 500).
        if not refused(streamed, path) and not 400 <= streamed.status_code < 500:
            problems.append(f"{method} {template} (chunked): {streamed.status_code}")
        for how, r in (("announced", announced),):
            if not refused(r, path):
                problems.append(f"{method} {template} ({how}): {r.status_code} {r.text[:80]}")
    assert problems == []
    async with ctx.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(PaymentIntent)) == before


@pytest.mark.parametrize("path", ["/api/v1/transactions", "/nowhere", "/api/v1/nowhere",
                                  "/checkout/txn_0123456789abcdef"])
async def test_routes_without_a_body_are_bounded_too(client: httpx.AsyncClient,
                                                     merchant: MerchantKeys, path: str) -> None:
    r = await client.request("GET", path, headers=merchant.auth(),
                             content=chunks(MAX_REQUEST_BODY + 1))
    assert r.status_code in (413, 200, 404)  # never read: never more than the bound
    r = await client.request("GET", path, headers=merchant.auth(),
                             content=b" " * (MAX_REQUEST_BODY + 1))
    assert refused(r, path), (r.status_code, r.text[:100])


async def test_a_malformed_content_length_is_refused(client: httpx.AsyncClient,
                                                     merchant: MerchantKeys) -> None:
    r = await client.post("/api/v1/payment-intents", content=b"{}",
                          headers={**merchant.auth(), "Content-Type": "application/json",
                                   "Content-Length": "12abc"})
    assert r.status_code in (400, 413)
