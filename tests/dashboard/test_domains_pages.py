"""Brand domains in the dashboard, in process: an admin adds a domain through the form
(a bad one first, refused beside the input with nothing stored), reads the exact DNS
records to create, runs "Check now" against a real DNS server on loopback (failing, then
passing once the records exist), makes it primary and removes it through the confirmation
page -- each change audited.  Brand roles read without the forms and are refused the
changes; another brand's domain is a 404; a POST without its CSRF token changes nothing;
a suspended domain shows its state and the reason."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.domains import service
from ownpay.domains.models import BrandDomain
from tests.dashboard.config_support import audit_rows, signed_in
from tests.support.dashboard import csrf_of, post_form
from tests.support.dns import PUBLIC_IP, Zone, dns_server
from tests.support.factories import create_merchant, make_domain

pytestmark = pytest.mark.api
DOMAIN_ID = re.compile(r"/admin/domains/(dom_[0-9a-f]{16})")


@pytest.fixture
def zone(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Zone]:
    """This installation at 203.0.113.7, asking a DNS server on loopback."""
    with dns_server() as (found, address):
        settings = dataclasses.replace(ctx.settings, public_addresses=(PUBLIC_IP,),
                                       dns_nameservers=(address,), dns_timeout=0.5)
        monkeypatch.setattr(ctx, "settings", settings)
        ctx.brand_hosts.invalidate()
        yield found
        ctx.brand_hosts.invalidate()


async def domains_of(ctx: Any, merchant_id: int) -> list[BrandDomain]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(BrandDomain).where(
            BrandDomain.merchant_id == merchant_id)))


async def domain_row(ctx: Any, domain_id: str) -> BrandDomain | None:
    async with ctx.sessions() as s:
        return await s.get(BrandDomain, domain_id)


async def test_an_admin_adds_checks_makes_primary_and_removes_a_domain(
        client: httpx.AsyncClient, ctx: Any, zone: Zone) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "admin", brand)
    listing = await client.get("/admin/domains")
    assert listing.status_code == 200 and "No domains yet" in listing.text
    assert 'action="/admin/domains#add-h"' in listing.text

    refused = await post_form(client, "/admin/domains", "/admin/domains",
                              {"domain": "not a domain!"})
    assert refused.status_code == 400 and 'id="e-domain"' in refused.text
    assert 'value="not a domain!"' in refused.text and "The domain was not added" in refused.text
    assert await domains_of(ctx, brand.id) == []

    name = f"pay-{brand.id}.brand.example"
    made = await post_form(client, "/admin/domains", "/admin/domains",
                           {"domain": f"  PAY-{brand.id}.Brand.Example. "})
    assert made.status_code == 303, made.text
    domain_id = DOMAIN_ID.fullmatch(made.headers["location"].split("?")[0]).group(1)
    row = await domain_row(ctx, domain_id)
    assert row is not None and (row.domain, row.status, row.is_primary) == (
        name, "pending", False)
    [added] = await audit_rows(ctx, "domain.added", domain_id, brand.id)
    assert added.changes == {"domain": name}

    page = await client.get(made.headers["location"])
    assert page.status_code == 200 and "The domain is added" in page.text
    assert f"_ownpay-verification.{name}" in page.text and row.token in page.text
    assert f'id="rec-2-value">{PUBLIC_IP}<' in page.text and "Pending" in page.text
    assert "Make primary" not in page.text and 'data-copy="rec-1-value"' in page.text
    # A pending domain cannot be primary: the service's refusal, shown on the page.
    early = await post_form(client, made.headers["location"],
                            f"/admin/domains/{domain_id}/primary")
    assert early.status_code == 409 and "verify it first" in early.text

    # Check now, before the records exist: still pending, the reason shown.
    checked = await post_form(client, made.headers["location"],
                              f"/admin/domains/{domain_id}/check")
    assert checked.status_code == 303
    result = await client.get(checked.headers["location"])
    assert "The check did not pass." in result.text
    assert f"_ownpay-verification.{name} does not exist in DNS" in result.text
    row = await domain_row(ctx, domain_id)
    assert row is not None and row.status == "pending" and row.last_checked_at is not None

    zone.prove(name, row.token)
    checked = await post_form(client, made.headers["location"],
                              f"/admin/domains/{domain_id}/check")
    result = await client.get(checked.headers["location"])
    assert "The check passed: the domain is verified." in result.text
    row = await domain_row(ctx, domain_id)
    assert row is not None and row.status == "verified" and row.last_error is None
    statuses = sorted(e.changes["status"]
                      for e in await audit_rows(ctx, "domain.checked", domain_id, brand.id))
    assert statuses == ["pending", "verified"]

    primary = await post_form(client, result.url.path, f"/admin/domains/{domain_id}/primary")
    assert primary.status_code == 303
    assert "primary domain" in (await client.get(primary.headers["location"])).text
    row = await domain_row(ctx, domain_id)
    assert row is not None and row.is_primary
    assert len(await audit_rows(ctx, "domain.primary", domain_id, brand.id)) == 1
    async with ctx.sessions() as s:
        assert await service.primary_base_url(s, brand.id) == f"https://{name}"
    listing = await client.get("/admin/domains")
    assert name in listing.text and "Verified" in listing.text and "Primary" in listing.text

    confirm = await client.get(f"/admin/domains/{domain_id}/remove")
    assert confirm.status_code == 200 and "Remove this domain?" in confirm.text
    assert "it is the primary domain" in confirm.text
    gone = await post_form(client, f"/admin/domains/{domain_id}/remove",
                           f"/admin/domains/{domain_id}/remove")
    assert gone.status_code == 303 and gone.headers["location"] == "/admin/domains?removed=1"
    assert await domain_row(ctx, domain_id) is None
    assert len(await audit_rows(ctx, "domain.removed", domain_id, brand.id)) == 1
    assert "The domain is removed" in (await client.get(gone.headers["location"])).text


@pytest.mark.parametrize("raw", [b"", b"a" * 300 + b".example", b"pay.test",
                                 b"pay%00.example.com", b"http%3A%2F%2Fx.example%2Fpath",
                                 b"%ED%A0%80.example", b"x" * 70_000, b"-bad-.example"])
async def test_bad_domains_are_refused_in_the_form(client: httpx.AsyncClient, ctx: Any,
                                                   raw: bytes) -> None:
    """Empty, too long, this installation's own host, NUL, a URL, a lone surrogate, a huge
    body, a bad label: 400 with nothing stored, never a 500."""
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "owner", brand)
    token = csrf_of((await client.get("/admin/domains")).text).encode()
    r = await client.post("/admin/domains", content=b"csrf_token=" + token + b"&domain=" + raw,
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400, r.text
    assert await domains_of(ctx, brand.id) == []


async def test_a_domain_in_use_is_refused_with_the_services_words(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand, other = await create_merchant(ctx), await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        taken = await service.add_domain(s, other.id, f"taken-{other.id}.brand.example",
                                         settings=ctx.settings)
    await signed_in(client, ctx, "admin", brand)
    r = await post_form(client, "/admin/domains", "/admin/domains", {"domain": taken.domain})
    assert r.status_code == 400 and service.TAKEN in r.text
    assert await domains_of(ctx, brand.id) == []


@pytest.mark.parametrize("role", ["manager", "operator", "developer", "viewer"])
async def test_brand_roles_read_the_domains_but_change_nothing(
        client: httpx.AsyncClient, ctx: Any, role: str) -> None:
    brand = await create_merchant(ctx)
    domain_id = await make_domain(client, ctx, brand)
    await signed_in(client, ctx, role, brand)
    listing = await client.get("/admin/domains")
    assert listing.status_code == 200 and "brand.example" in listing.text
    assert "Add domain" not in listing.text
    page = await client.get(f"/admin/domains/{domain_id}")
    assert page.status_code == 200 and "_ownpay-verification." in page.text
    assert "Check now" not in page.text and "Remove" not in page.text
    token = csrf_of(page.text)
    for action, data in (("/admin/domains", {"domain": "new.brand.example"}),
                         (f"/admin/domains/{domain_id}/check", {}),
                         (f"/admin/domains/{domain_id}/primary", {}),
                         (f"/admin/domains/{domain_id}/remove", {})):
        r = await client.post(action, data={"csrf_token": token, **data})
        assert r.status_code == 403, (action, r.status_code)
    assert (await client.get(f"/admin/domains/{domain_id}/remove")).status_code == 403
    assert [d.id for d in await domains_of(ctx, brand.id)] == [domain_id]


async def test_another_brands_domain_is_not_found(client: httpx.AsyncClient,
                                                  ctx: Any) -> None:
    brand, other = await create_merchant(ctx), await create_merchant(ctx)
    theirs = await make_domain(client, ctx, other)
    await signed_in(client, ctx, "owner", brand)  # sees every brand, but is looking at ours
    assert (await client.get(f"/admin/domains/{theirs}")).status_code == 404
    assert (await client.get(f"/admin/domains/{theirs}/remove")).status_code == 404
    token = csrf_of((await client.get("/admin/domains")).text)
    for action in ("check", "primary", "remove"):
        r = await client.post(f"/admin/domains/{theirs}/{action}", data={"csrf_token": token})
        assert r.status_code == 404, (action, r.status_code)
    # Nothing was done to it: no check, primary or removal recorded (its last_checked_at
    # is no witness: the session's live server runs a worker that checks every domain).
    row = await domain_row(ctx, theirs)
    assert row is not None and not row.is_primary
    for action in ("domain.checked", "domain.primary", "domain.removed"):
        assert await audit_rows(ctx, action, theirs) == [], action
    assert "brand.example" not in (await client.get("/admin/domains")).text


async def test_a_post_without_its_csrf_token_changes_nothing(client: httpx.AsyncClient,
                                                             ctx: Any) -> None:
    brand = await create_merchant(ctx)
    domain_id = await make_domain(client, ctx, brand)
    await signed_in(client, ctx, "owner", brand)
    for token in (None, "forged", "0" * 64):
        data = {"domain": "csrf.brand.example"} | ({"csrf_token": token} if token else {})
        r = await client.post("/admin/domains", data=data)
        assert r.status_code == 400 and "This form has expired" in r.text
        r = await client.post(f"/admin/domains/{domain_id}/remove", data=data)
        assert r.status_code == 400
    assert [d.id for d in await domains_of(ctx, brand.id)] == [domain_id]


async def test_a_suspended_domain_shows_its_state_and_the_reason(client: httpx.AsyncClient,
                                                                 ctx: Any) -> None:
    brand = await create_merchant(ctx)
    domain_id = await make_domain(client, ctx, brand)
    reason = "pay.brand.example resolves to 198.51.100.9, which is not this installation's"
    async with ctx.sessions() as s, s.begin():
        row = await s.get(BrandDomain, domain_id)
        assert row is not None
        row.status, row.consecutive_failures, row.last_error = "suspended", 3, reason
        row.last_checked_at = row.created_at
    await signed_in(client, ctx, "viewer", brand)
    listing = await client.get("/admin/domains")
    assert "s-domain-suspended" in listing.text and "Suspended" in listing.text
    assert reason.replace("'", "&#39;") in listing.text
    page = await client.get(f"/admin/domains/{domain_id}")
    assert page.status_code == 200 and "Suspended" in page.text
    assert "<dt>Failed checks in a row</dt><dd>3</dd>" in page.text
