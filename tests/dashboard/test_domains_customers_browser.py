"""Domains and customers in Chromium at desktop and phone size, on a real ``ownpay serve``
of its own: this installation at 203.0.113.7, asking a DNS server on loopback in the test
process, so "Check now" verifies for real.

* An admin opens *Domains*, has a bad host name refused beside its input, adds a domain,
  copies its TXT value, checks it (failing: no record yet), creates the records, checks it
  again (verified), makes it primary and removes it through the confirmation page.
* A manager opens *Customers*, searches by e-mail, opens the customer (their payment is
  listed, matched by e-mail), forgets them through the confirmation page and sees them forgotten.

Every page passes axe-core, does not scroll sideways, and is screenshotted; each outcome is
checked in the database too."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ownpay.customers import service as customers
from ownpay.customers.models import Customer
from ownpay.domains.models import BrandDomain
from ownpay.tenancy import TenantScope
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.dns import PUBLIC_IP, Zone, dns_server
from tests.support.factories import create_merchant, intent_body
from tests.support.processes import ServerProcess, server_env, start_server

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def dns_live(database_url: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[ServerProcess, Zone]]:
    """An ``ownpay serve`` whose public address is 203.0.113.7 and whose DNS is ours."""
    with dns_server() as (zone, address):
        data = tmp_path_factory.mktemp("dns-server-data")
        env = server_env(database_url, data, OWNPAY_PUBLIC_ADDRESSES=PUBLIC_IP,
                         OWNPAY_DNS_NAMESERVERS=address, OWNPAY_DNS_TIMEOUT="1")
        server = start_server(env, data / "server.log")
        try:
            yield server, zone
        finally:
            server.stop()


async def the_domain(ctx: Any, merchant_id: int) -> BrandDomain | None:
    async with ctx.sessions() as s:
        return await s.scalar(select(BrandDomain).where(BrandDomain.merchant_id == merchant_id))


async def test_an_admin_adds_verifies_and_removes_a_domain(
        dns_live: tuple[ServerProcess, Zone], ctx: Any, dash: Any, shot: Any) -> None:
    server, zone = dns_live
    brand = await create_merchant(ctx, name=f"Dhaka Sweets {secrets.token_hex(3)}")
    admin = await make_user(ctx, "admin")
    base = server.url
    await dash.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    await browser_sign_in(dash, base, admin.email, admin.password)
    await dash.get_by_label("Brand").select_option(str(brand.id))
    await follow(dash, dash.get_by_role("button", name="Show"))

    await follow(dash, dash.get_by_role("link", name="Domains", exact=True))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Domains")
    await expect(dash.get_by_text("No domains yet")).to_be_visible()
    await check_page(dash, shot, "domains-empty")

    await dash.get_by_label("Domain", exact=True).fill("not a domain!")
    await follow(dash, dash.get_by_role("button", name="Add domain"))
    await expect(dash.locator("#e-domain")).to_be_visible()
    await check_page(dash, shot, "domain-refused")
    assert await the_domain(ctx, brand.id) is None

    name = f"pay-{secrets.token_hex(4)}.brand.example"
    await dash.get_by_label("Domain", exact=True).fill(name)
    await follow(dash, dash.get_by_role("button", name="Add domain"))
    await expect(dash.get_by_role("status").filter(
        has_text="The domain is added")).to_be_visible()
    await expect(dash.get_by_role("heading", level=1)).to_contain_text(name)
    row = await the_domain(ctx, brand.id)
    assert row is not None and row.status == "pending"
    await expect(dash.get_by_text(f"_ownpay-verification.{name}")).to_be_visible()
    await expect(dash.get_by_text(PUBLIC_IP, exact=True)).to_be_visible()
    await check_page(dash, shot, "domain-added")

    await dash.get_by_role("button", name="Copy the value of the TXT record").click()
    await expect(dash.locator("#rec-1-value-status")).to_have_text("Copied.")
    assert await dash.evaluate("navigator.clipboard.readText()") == row.token

    await follow(dash, dash.get_by_role("button", name="Check now"))
    await expect(dash.locator("#check-result")).to_contain_text("does not exist in DNS")
    await check_page(dash, shot, "domain-check-failed")

    zone.prove(name, row.token)
    await follow(dash, dash.get_by_role("button", name="Check now"))
    await expect(dash.locator("#check-result")).to_contain_text("the domain is verified")
    await check_page(dash, shot, "domain-verified")
    row = await the_domain(ctx, brand.id)
    assert row is not None and row.status == "verified"

    await follow(dash, dash.get_by_role("button", name="Make primary"))
    await expect(dash.get_by_role("status").filter(has_text="primary domain")).to_be_visible()
    row = await the_domain(ctx, brand.id)
    assert row is not None and row.is_primary

    await follow(dash, dash.get_by_role("link", name="Remove"))
    await expect(dash.get_by_role("heading", level=1)).to_have_text("Remove this domain?")
    await check_page(dash, shot, "domain-remove")
    await follow(dash, dash.get_by_role("button", name="Remove the domain"))
    await expect(dash.get_by_role("status").filter(
        has_text="The domain is removed")).to_be_visible()
    await check_page(dash, shot, "domains-after-remove")
    assert await the_domain(ctx, brand.id) is None


async def test_a_manager_finds_and_forgets_a_customer(
        dns_live: tuple[ServerProcess, Zone], ctx: Any, dash: Any, shot: Any) -> None:
    server, _zone = dns_live
    brand = await create_merchant(ctx, name=f"Dhaka Sweets {secrets.token_hex(3)}")
    scope = TenantScope(brand.id, "test")
    async with ctx.sessions() as s, s.begin():
        for n in range(3):
            await customers.create_customer(s, ctx.keyring, scope, {
                "name": f"Regular {n}", "email": f"regular{n}@example.com"})
        karim = await customers.create_customer(s, ctx.keyring, scope, {
            "name": "Karim Ahmed", "email": "karim@example.com", "phone": "01712345678"})
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as api:
        made = await api.post("/api/v1/payment-intents", headers=brand.auth(), json=intent_body(
            customer_name="Karim", customer_email="KARIM@example.com"))
        assert made.status_code == 201, made.text
        txn = made.json()["transaction_id"]
    manager = await make_user(ctx, "manager", merchant=brand.slug)
    await browser_sign_in(dash, server.url, manager.email, manager.password)

    await follow(dash, dash.get_by_role("link", name="Customers", exact=True))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Customers")
    await expect(dash.get_by_text("regular2@example.com")).to_be_visible()
    await check_page(dash, shot, "customers")

    await dash.get_by_label("E-mail or phone").fill("not-an-email@")
    await follow(dash, dash.get_by_role("button", name="Search"))
    await expect(dash.locator("#e-q")).to_be_visible()
    await check_page(dash, shot, "customers-search-refused")
    await dash.get_by_label("E-mail or phone").fill("+880 1712-345678")
    await follow(dash, dash.get_by_role("button", name="Search"))
    await expect(dash.get_by_text("karim@example.com")).to_be_visible()
    await expect(dash.get_by_text("regular2@example.com")).to_have_count(0)
    await check_page(dash, shot, "customers-found")

    await follow(dash, dash.get_by_role("link", name=karim.id))
    await expect(dash.get_by_role("heading", level=1)).to_have_text("Karim Ahmed")
    await expect(dash.get_by_text("+8801712345678")).to_be_visible()
    await expect(dash.get_by_role("link", name=txn)).to_be_visible()  # matched by e-mail
    await check_page(dash, shot, "customer")

    await follow(dash, dash.get_by_role("link", name="Forget customer"))
    await expect(dash.get_by_role("heading", level=1)).to_have_text("Forget this customer?")
    await check_page(dash, shot, "customer-forget")
    await follow(dash, dash.get_by_role("button", name="Forget the customer"))
    await expect(dash.get_by_role("status").filter(
        has_text="The customer is forgotten")).to_be_visible()
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("Forgotten customer")
    await expect(dash.get_by_text("karim@example.com")).to_have_count(0)
    await expect(dash.get_by_role("link", name=txn)).to_be_visible()  # the payment stays
    await check_page(dash, shot, "customer-forgotten")
    async with ctx.sessions() as s:
        row = await s.get(Customer, karim.id)
    assert row is not None and row.forgotten_at is not None and row.email_enc is None
