"""``/api/v1/domains``: add (the exact records to create; every bad name, a taken one and
unknown fields refused with nothing added), list, read, verify against the loopback DNS
server, primary (only verified), remove; admin scope, either mode, another brand's 404,
audit rows."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ownpay.audit.models import AuditEntry
from ownpay.domains.models import BrandDomain
from tests.support.dns import PUBLIC_IP, Zone
from tests.support.factories import create_merchant, extra_key

pytestmark = pytest.mark.api
DOMAINS = "/api/v1/domains"


async def _count(ctx: Any) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(BrandDomain)) or 0)


async def test_add_shows_the_records_then_verify_and_make_primary(
        client: httpx.AsyncClient, ctx: Any, zone: Zone) -> None:
    shop = await create_merchant(ctx)
    name = f"Pay-{shop.id}.API.example"
    r = await client.post(DOMAINS, headers=shop.auth(), json={"domain": name})
    assert r.status_code == 201, r.text
    made = r.json()
    domain = name.lower()
    assert made["domain"] == domain and made["status"] == "pending"
    assert made["primary"] is False and made["verified_at"] is None
    assert made["dns_records"] == [
        {"type": "TXT", "name": f"_ownpay-verification.{domain}",
         "value": made["verification_token"]},
        {"type": "A", "name": domain, "value": PUBLIC_IP}]
    early = await client.post(f"{DOMAINS}/{made['id']}/primary", headers=shop.auth())
    assert early.status_code == 409 and early.json()["code"] == "INVALID_STATE"
    failed = await client.post(f"{DOMAINS}/{made['id']}/verify", headers=shop.auth())
    assert failed.status_code == 200 and failed.json()["status"] == "pending"
    assert failed.json()["last_error"]
    zone.prove(domain, made["verification_token"])
    ok = await client.post(f"{DOMAINS}/{made['id']}/verify", headers=shop.auth("live"))
    assert ok.status_code == 200 and ok.json()["status"] == "verified", ok.text
    primary = await client.post(f"{DOMAINS}/{made['id']}/primary", headers=shop.auth())
    assert primary.status_code == 200 and primary.json()["primary"] is True
    listed = await client.get(DOMAINS, headers=shop.auth("live"))
    assert [d["id"] for d in listed.json()["data"]] == [made["id"]]
    got = await client.get(f"{DOMAINS}/{made['id']}", headers=shop.auth())
    assert got.json() == listed.json()["data"][0]
    gone = await client.delete(f"{DOMAINS}/{made['id']}", headers=shop.auth())
    assert gone.status_code == 200 and gone.json() == {"id": made["id"], "deleted": True}
    assert (await client.get(f"{DOMAINS}/{made['id']}", headers=shop.auth())).status_code == 404
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == made["id"]).order_by(AuditEntry.id)))
    assert actions == ["domain.added", "domain.checked", "domain.checked", "domain.primary",
                       "domain.removed"]


@pytest.mark.parametrize("body", [
    {"domain": "pay\u0000.example.com"}, {"domain": "pay\ud800.example.com"},
    {"domain": "x" * 5000}, {"domain": "198.51.100.4"}, {"domain": "[2001:db8::1]"},
    {"domain": "pay.test"}, {"domain": "localhost"}, {"domain": 5}, {},
    {"domain": "pay.example.com", "colour": "red"},
])
async def test_bad_input_is_a_clear_400_and_adds_nothing(client: httpx.AsyncClient, ctx: Any,
                                                         body: dict[str, Any]) -> None:
    shop = await create_merchant(ctx)
    before = await _count(ctx)
    raw = json.dumps(body).encode()  # ASCII escapes: a lone surrogate travels as \ud800
    r = await client.post(DOMAINS, headers={**shop.auth(), "Content-Type": "application/json"},
                          content=raw)
    assert r.status_code == 400, r.text
    # NUL and lone surrogates stop at the strict JSON reader; the rest at the domain's rules.
    assert r.json()["code"] in ("VALIDATION_ERROR", "INVALID_JSON"), r.text
    assert await _count(ctx) == before


async def test_a_domain_of_another_brand_is_taken_and_invisible(client: httpx.AsyncClient,
                                                                ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    made = (await client.post(DOMAINS, headers=shop.auth(),
                              json={"domain": f"own-{shop.id}.example"})).json()
    taken = await client.post(DOMAINS, headers=other.auth(),
                              json={"domain": f"OWN-{shop.id}.example."})
    assert taken.status_code == 400
    assert taken.json()["errors"] == {"domain": ["That domain is already in use on this "
                                                 "installation."]}
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/verify"),
                         ("POST", "/primary")):
        r = await client.request(method, f"{DOMAINS}/{made['id']}{path}", headers=other.auth())
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", (method, path)
    assert (await client.get(DOMAINS, headers=other.auth())).json() == {"data": []}
    assert (await client.get(f"{DOMAINS}/{made['id']}", headers=shop.auth())).status_code == 200


async def test_domains_need_the_admin_scope(client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    writer = await extra_key(ctx, shop, ("read", "write"))
    for method, path in (("POST", DOMAINS), ("GET", DOMAINS)):
        r = await client.request(method, path, headers=writer, json={"domain": "a.example"})
        assert r.status_code == 403 and r.json()["code"] == "INSUFFICIENT_SCOPE"
    admin = await extra_key(ctx, shop, ("admin",))
    r = await client.post(DOMAINS, headers=admin, json={"domain": f"adm-{shop.id}.example"})
    assert r.status_code == 201
