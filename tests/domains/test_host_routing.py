"""Requests routed by host, for every public route a brand domain has: on brand A's
verified domain only A's checkout pages (both modes), provider returns, payment links and
assets; brand B's payment or link, /admin, /docs, /metrics, /tls/ask and the JSON API are
404 (the API unless OWNPAY_API_ON_BRAND_DOMAINS, then A's keys only); a suspended domain
serves nothing, a pending or unknown host is the main address; X-Forwarded-Host counts
only from a trusted proxy."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import httpx
import pytest

from ownpay.domains import service
from tests.support.dns import Zone
from tests.support.factories import MerchantKeys, create_merchant, intent_body

pytestmark = pytest.mark.api


async def _txn(client: httpx.AsyncClient, shop: MerchantKeys, mode: str = "test") -> str:
    body = intent_body(gateway="sandbox" if mode == "test" else "manual")
    r = await client.post("/api/v1/payment-intents", json=body, headers=shop.auth(mode))
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def _slug(client: httpx.AsyncClient, shop: MerchantKeys) -> str:
    r = await client.post("/api/v1/payment-links", headers=shop.auth(), json={
        "title": "Gift box", "currency": "USD", "amount": "25.00"})
    assert r.status_code == 201, r.text
    return str(r.json()["slug"])


async def verified_domain(ctx: Any, zone: Zone, shop: MerchantKeys, label: str) -> str:
    async with ctx.sessions() as s, s.begin():
        row = await service.add_domain(s, shop.id, f"{label}-{shop.id}.brand.example",
                                       settings=ctx.settings)
    zone.prove(row.domain, row.token)
    assert (await service.verify(ctx, shop.id, row.id)).status == "verified"
    return row.domain


def on(host: str) -> dict[str, str]:
    return {"host": host}


async def test_a_brand_domain_serves_only_its_brand(client: httpx.AsyncClient, ctx: Any,
                                                    zone: Zone) -> None:
    a, b = await create_merchant(ctx), await create_merchant(ctx)
    host = await verified_domain(ctx, zone, a, "pay")
    mine, mine_live, theirs = await _txn(client, a), await _txn(client, a, "live"), \
        await _txn(client, b)
    my_link, their_link = await _slug(client, a), await _slug(client, b)

    page = await client.get(f"/checkout/{mine}", headers=on(host))
    assert page.status_code == 200, page.text
    assert (await client.get(f"/checkout/{mine_live}", headers=on(host))).status_code == 200
    assert (await client.get(f"/checkout/{mine}/status", headers=on(host))).status_code == 200
    asset = re.search(r'(?:src|href)="(/(?:checkout-)?assets/[^"]+)"', page.text)
    assert asset, page.text
    assert (await client.get(asset.group(1), headers=on(host))).status_code == 200
    assert (await client.get(f"/pay/{my_link}", headers=on(host))).status_code == 200

    refused = [("GET", f"/checkout/{theirs}"), ("GET", f"/checkout/{theirs}/status"),
               ("POST", f"/checkout/{theirs}/pay"), ("POST", f"/checkout/{theirs}/cancel"),
               ("GET", f"/checkout/{theirs}/back"), ("GET", f"/checkout/{theirs}/return"),
               ("GET", f"/gateways/sandbox/callback/{theirs}"),
               ("POST", f"/gateways/sandbox/callback/{theirs}"),
               ("GET", f"/pay/{their_link}"), ("POST", f"/pay/{their_link}"),
               ("GET", f"/pay/{their_link}/thanks"), ("GET", "/checkout/txn_0123456789abcdef"),
               ("POST", f"/gateways/stripe/webhooks/{b.slug}/test"),
               ("GET", "/admin"), ("GET", "/admin/signin"), ("GET", "/docs"),
               ("GET", "/openapi.json"), ("GET", "/metrics"), ("GET", "/tls/ask"),
               ("GET", "/"), ("GET", "/api/v1/health"),
               ("GET", f"/api/v1/payment-intents/{mine}"), ("POST", "/api/v1/payment-intents")]
    for method, path in refused:
        r = await client.request(method, path, headers={**on(host), **a.auth()})
        assert r.status_code == 404, (method, path, r.status_code, r.text[:200])
        assert theirs not in r.text and b.slug not in r.text
    api = await client.get("/api/v1/health", headers=on(host))
    assert api.json()["code"] == "NOT_FOUND"
    html = await client.get(f"/checkout/{theirs}", headers=on(host))
    assert html.headers["content-type"].startswith("text/html")
    # The same payment on the main address is served as always.
    assert (await client.get(f"/checkout/{theirs}")).status_code == 200


async def test_host_spellings_and_forwarded_hosts(client: httpx.AsyncClient, ctx: Any,
                                                  zone: Zone,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = await create_merchant(ctx), await create_merchant(ctx)
    host = await verified_domain(ctx, zone, a, "spell")
    theirs = await _txn(client, b)
    for spelled in (host.upper(), host + ".", host + ":443", host.upper() + ".:8443"):
        r = await client.get(f"/checkout/{theirs}", headers=on(spelled))
        assert r.status_code == 404, spelled
    forwarded = {"x-forwarded-host": host, "x-forwarded-proto": "https"}
    # From a peer that is no trusted proxy the header is the client's claim: ignored.
    assert (await client.get(f"/checkout/{theirs}", headers=forwarded)).status_code == 200
    monkeypatch.setattr(ctx, "settings", dataclasses.replace(
        ctx.settings, trusted_proxies=("127.0.0.1/32",)))
    assert (await client.get(f"/checkout/{theirs}", headers=forwarded)).status_code == 404
    assert (await client.get("/admin/signin", headers=forwarded)).status_code == 404


async def test_suspended_serves_nothing_and_pending_is_the_main_address(
        client: httpx.AsyncClient, ctx: Any, zone: Zone) -> None:
    a = await create_merchant(ctx)
    host = await verified_domain(ctx, zone, a, "susp")
    mine = await _txn(client, a)
    async with ctx.sessions() as s, s.begin():
        pending = await service.add_domain(s, a.id, f"wait-{a.id}.brand.example",
                                           settings=ctx.settings)
    zone.clear(host)
    async with ctx.sessions() as s:
        row = await service.get_by_name(s, a.id, host)
    for _ in range(service.SUSPEND_AFTER):
        await service.verify(ctx, a.id, row.id)
    async with ctx.sessions() as s:
        assert (await service.get_by_name(s, a.id, host)).status == "suspended"
    for path in (f"/checkout/{mine}", "/api/v1/health", "/admin/signin"):
        assert (await client.get(path, headers=on(host))).status_code == 404, path
    for path in (f"/checkout/{mine}", "/api/v1/health"):
        assert (await client.get(path, headers=on(pending.domain))).status_code == 200, path
        assert (await client.get(path, headers=on("unknown.example"))).status_code == 200


async def test_the_api_on_brand_domains_answers_the_brands_keys_only(
        client: httpx.AsyncClient, ctx: Any, zone: Zone,
        monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = await create_merchant(ctx), await create_merchant(ctx)
    host = await verified_domain(ctx, zone, a, "api")
    monkeypatch.setattr(ctx, "settings", dataclasses.replace(ctx.settings,
                                                             api_on_brand_domains=True))
    mine = await client.post("/api/v1/payment-intents", json=intent_body(),
                             headers={**on(host), **a.auth()})
    assert mine.status_code == 201, mine.text
    theirs = await client.post("/api/v1/payment-intents", json=intent_body(),
                               headers={**on(host), **b.auth()})
    assert theirs.status_code == 401 and theirs.json()["code"] == "UNAUTHENTICATED"
    assert (await client.get("/admin/signin", headers=on(host))).status_code == 404


async def _invoice_path(client: httpx.AsyncClient, shop: MerchantKeys) -> str:
    r = await client.post("/api/v1/invoices", headers=shop.auth(), json={
        "currency": "USD", "lines": [{"description": "Tea", "unit_price": "5"}]})
    assert r.status_code == 201, r.text
    opened = await client.post(f"/api/v1/invoices/{r.json()['id']}/finalize",
                               headers=shop.auth())
    assert opened.status_code == 200, opened.text
    return "/invoice/" + str(opened.json()["url"]).rsplit("/", 1)[1]


async def test_a_brand_domain_serves_only_its_own_invoices(client: httpx.AsyncClient,
                                                           ctx: Any, zone: Zone) -> None:
    a, b = await create_merchant(ctx), await create_merchant(ctx)
    host = await verified_domain(ctx, zone, a, "bill")
    mine, theirs = await _invoice_path(client, a), await _invoice_path(client, b)
    page = await client.get(mine, headers=on(host))
    assert page.status_code == 200 and "Tea" in page.text, page.text
    assert (await client.get(mine + ".pdf", headers=on(host))).status_code == 200
    for method, path in (("GET", theirs), ("GET", theirs + ".pdf"),
                         ("POST", theirs + "/pay"), ("GET", "/invoice/" + "A" * 43)):
        r = await client.request(method, path, headers=on(host))
        assert r.status_code == 404, (method, path, r.status_code)
    assert (await client.get(theirs)).status_code == 200  # the main address serves both
