"""Customers in the dashboard, in process: the list with its pages and the search by e-mail
or phone (through the service's digest lookup: another case, another phone format), bad
searches refused beside the input; a customer's page with their payments and refunds; the
roles that may not see personal details see customers without them (and cannot search);
"Forget customer" behind its confirmation page and a recent re-authentication, audited
by count, after which the page shows the customer as forgotten; another brand's or mode's
customer is a 404, a POST without its CSRF token changes nothing, and hostile details
are printed escaped under the strict policy."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.customers import service
from ownpay.customers.models import Customer
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from tests.dashboard.config_support import audit_rows, expire_step_up, signed_in
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import create_merchant, intent_body, make_refund

pytestmark = pytest.mark.api
CUSTOMER = re.compile(r'href="/admin/customers/(cus_[0-9a-f]{16})"')


async def add_customer(ctx: Any, merchant_id: int, mode: str = "test",
                       **body: Any) -> Customer:
    async with ctx.sessions() as s, s.begin():
        return await service.create_customer(s, ctx.keyring, TenantScope(merchant_id, mode),
                                             body)


async def customer_row(ctx: Any, customer_id: str) -> Customer:
    async with ctx.sessions() as s:
        row = await s.get(Customer, customer_id)
    assert row is not None
    return row


async def paying_customer(client: httpx.AsyncClient, ctx: Any, brand: Any) -> tuple[str, str]:
    """A customer (jane@example.com, made by the payment) with a paid, partly refunded
    payment: (customer id, payment id)."""
    refund_id = await make_refund(client, ctx, brand)
    refund = (await client.get(f"/api/v1/refunds/{refund_id}", headers=brand.auth())).json()
    txn = refund["transaction_id"]
    async with ctx.sessions() as s:
        customer_id = await s.scalar(select(PaymentIntent.customer_id)
                                     .where(PaymentIntent.id == txn))
    assert customer_id is not None
    return customer_id, txn


async def test_a_manager_lists_searches_and_reads_a_customer(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    customer_id, txn = await paying_customer(client, ctx, brand)
    karim = await add_customer(ctx, brand.id, name="Karim Ahmed", email="Karim@Example.com",
                               phone="01712345678")
    for n in range(21):
        await add_customer(ctx, brand.id, email=f"bulk{n}@example.com")
    await signed_in(client, ctx, "manager", brand)

    listing = await client.get("/admin/customers")
    assert listing.status_code == 200
    first_page = CUSTOMER.findall(listing.text)
    assert len(first_page) == 20 and "bulk20@example.com" in listing.text
    nxt = re.search(r'href="(/admin/customers\?after=cus_[0-9a-f]{16})" rel="next"',
                    listing.text)
    assert nxt
    second = await client.get(nxt.group(1))
    rest = CUSTOMER.findall(second.text)
    assert set(rest).isdisjoint(first_page) and customer_id in rest and "First page" in second.text
    assert len(first_page) + len(rest) == 23

    for q in ("karim@example.COM", " Karim@Example.com ", "+880 1712-345678", "01712345678"):
        found = await client.get("/admin/customers", params={"q": q})
        assert found.status_code == 200, (q, found.text)
        assert CUSTOMER.findall(found.text) == [karim.id], q
        assert "Karim Ahmed" in found.text and "+8801712345678" in found.text
    none = await client.get("/admin/customers", params={"q": "nobody@example.com"})
    assert none.status_code == 200 and CUSTOMER.findall(none.text) == []
    assert "No customer with that e-mail" in none.text
    # The name is no search key: the service looks up by digest only.
    by_name = await client.get("/admin/customers", params={"q": "Karim Ahmed"})
    assert by_name.status_code == 400 and 'id="e-q"' in by_name.text
    for bad in ("not-an-email@", "12", "০১৭১২৩৪৫৬৭৮", "a\u200b@example.com", "x" * 400):
        r = await client.get("/admin/customers", params={"q": bad})
        assert r.status_code == 400 and 'aria-invalid="true"' in r.text, bad
    nul = await client.get("/admin/customers", params={"q": "a\x00@example.com"})
    assert nul.status_code == 400  # refused before any page, as every URL with a NUL
    stale = await client.get("/admin/customers", params={"after": "cus_0000000000000000"})
    assert stale.status_code == 200 and "That page no longer exists" in stale.text

    page = await client.get(f"/admin/customers/{customer_id}")
    assert page.status_code == 200
    assert "Jane Smith" in page.text and "jane@example.com" in page.text
    assert f'href="/admin/payments/{txn}"' in page.text and "99.99 USD" in page.text
    assert "1.00 USD" in page.text and 'href="/admin/refunds/rf_' in page.text
    assert f'href="/admin/customers/{customer_id}/forget"' in page.text


@pytest.mark.parametrize("role", ["developer", "viewer"])
async def test_roles_without_pii_see_customers_without_details(
        client: httpx.AsyncClient, ctx: Any, role: str) -> None:
    brand = await create_merchant(ctx)
    karim = await add_customer(ctx, brand.id, name="Karim Ahmed", email="karim@example.com",
                               phone="01712345678")
    await signed_in(client, ctx, role, brand)
    listing = await client.get("/admin/customers")
    assert listing.status_code == 200 and CUSTOMER.findall(listing.text) == [karim.id]
    assert "karim@example.com" not in listing.text and "Karim" not in listing.text
    assert 'name="q"' not in listing.text
    searched = await client.get("/admin/customers", params={"q": "karim@example.com"})
    assert searched.status_code == 400 and "cannot search" in searched.text
    assert CUSTOMER.findall(searched.text) == []
    page = await client.get(f"/admin/customers/{karim.id}")
    assert page.status_code == 200
    for secret in ("Karim", "karim@example.com", "+8801712345678"):
        assert secret not in page.text
    assert "Forget customer" not in page.text
    assert (await client.get(f"/admin/customers/{karim.id}/forget")).status_code == 403
    r = await client.post(f"/admin/customers/{karim.id}/forget",
                          data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403
    assert (await customer_row(ctx, karim.id)).forgotten_at is None


async def test_an_operator_sees_details_but_may_not_forget(client: httpx.AsyncClient,
                                                           ctx: Any) -> None:
    brand = await create_merchant(ctx)
    karim = await add_customer(ctx, brand.id, name="Karim Ahmed", email="karim@example.com")
    await signed_in(client, ctx, "operator", brand)
    page = await client.get(f"/admin/customers/{karim.id}")
    assert page.status_code == 200 and "karim@example.com" in page.text
    assert "Forget customer" not in page.text
    r = await client.post(f"/admin/customers/{karim.id}/forget",
                          data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403 and (await customer_row(ctx, karim.id)).forgotten_at is None


async def test_forgetting_a_customer_needs_confirmation_and_step_up(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    customer_id, txn = await paying_customer(client, ctx, brand)
    user = await signed_in(client, ctx, "manager", brand)

    await expire_step_up(ctx, user)
    asked = await client.get(f"/admin/customers/{customer_id}/forget")
    assert asked.status_code == 303 and asked.headers["location"].startswith("/admin/confirm")
    confirmed = await post_form(client, asked.headers["location"], "/admin/confirm", {
        "password": user.password, "next": f"/admin/customers/{customer_id}/forget"})
    assert confirmed.status_code == 303

    confirm = await client.get(f"/admin/customers/{customer_id}/forget")
    assert confirm.status_code == 200 and "Forget this customer?" in confirm.text
    assert "cannot be undone" in confirm.text
    assert (await customer_row(ctx, customer_id)).forgotten_at is None  # asking changes nothing

    done = await client.post(f"/admin/customers/{customer_id}/forget",
                             data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "The customer is forgotten" in page.text and "Forgotten customer" in page.text
    assert "jane@example.com" not in page.text and "Jane Smith" not in page.text
    assert "Forget customer</a>" not in page.text
    assert f'href="/admin/payments/{txn}"' in page.text  # the money records stay

    row = await customer_row(ctx, customer_id)
    assert row.forgotten_at is not None and row.email_enc is None and row.email_digest is None
    async with ctx.sessions() as s:
        payment = await s.get(PaymentIntent, txn)
    assert payment is not None and payment.customer_email == "" and payment.amount_minor == 9999
    [audited] = await audit_rows(ctx, "customer.forgotten", customer_id, brand.id)
    assert audited.changes == {"payments_cleaned": 1} and audited.actor == user.email
    assert "jane" not in str(audited.changes).lower()

    # Forgetting again changes nothing and records nothing; the form is not offered.
    again = await client.get(f"/admin/customers/{customer_id}/forget")
    assert again.status_code == 303
    await client.post(f"/admin/customers/{customer_id}/forget",
                      data={"csrf_token": csrf_of(page.text)})
    assert len(await audit_rows(ctx, "customer.forgotten", customer_id, brand.id)) == 1
    listing = await client.get("/admin/customers")
    assert "Forgotten" in listing.text


async def test_another_brands_or_modes_customer_is_not_found(client: httpx.AsyncClient,
                                                             ctx: Any) -> None:
    brand, other = await create_merchant(ctx), await create_merchant(ctx)
    theirs = await add_customer(ctx, other.id, email="theirs@example.com")
    live = await add_customer(ctx, brand.id, "live", email="live@example.com")
    await signed_in(client, ctx, "owner", brand)  # sees every brand, looking at ours (test)
    token = csrf_of((await client.get("/admin/customers")).text)
    for customer in (theirs, live):
        assert (await client.get(f"/admin/customers/{customer.id}")).status_code == 404
        assert (await client.get(f"/admin/customers/{customer.id}/forget")).status_code == 404
        r = await client.post(f"/admin/customers/{customer.id}/forget",
                              data={"csrf_token": token})
        assert r.status_code == 404
        assert (await customer_row(ctx, customer.id)).forgotten_at is None
    found = await client.get("/admin/customers", params={"q": "theirs@example.com"})
    assert CUSTOMER.findall(found.text) == []
    listing = await client.get("/admin/customers")
    assert theirs.id not in listing.text and live.id not in listing.text


async def test_a_forget_without_its_csrf_token_changes_nothing(client: httpx.AsyncClient,
                                                               ctx: Any) -> None:
    brand = await create_merchant(ctx)
    karim = await add_customer(ctx, brand.id, email="karim@example.com")
    await signed_in(client, ctx, "owner", brand)
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": "0" * 64}):
        r = await client.post(f"/admin/customers/{karim.id}/forget", data=data)
        assert r.status_code == 400 and "This form has expired" in r.text
    assert (await customer_row(ctx, karim.id)).forgotten_at is None


async def test_a_payment_makes_the_customer_the_list_shows(client: httpx.AsyncClient,
                                                           ctx: Any) -> None:
    brand = await create_merchant(ctx)
    r = await client.post("/api/v1/payment-intents", headers=brand.auth(), json=intent_body(
        customer_name="Rahima", customer_email="rahima@example.com"))
    assert r.status_code == 201
    await signed_in(client, ctx, "admin", brand)
    found = await client.get("/admin/customers", params={"q": "RAHIMA@example.com"})
    assert found.status_code == 200 and "Rahima" in found.text
    assert len(CUSTOMER.findall(found.text)) == 1


async def test_hostile_details_are_escaped_under_a_strict_policy(client: httpx.AsyncClient,
                                                                 ctx: Any) -> None:
    brand = await create_merchant(ctx)
    hostile = "<script>alert(1)</script>\"'{{ 7*7 }}"
    made = await add_customer(ctx, brand.id, name=hostile, email="hostile@example.com",
                              metadata={"note": hostile})
    await signed_in(client, ctx, "owner", brand)
    for url, params in (("/admin/customers", {}), (f"/admin/customers/{made.id}", {}),
                        (f"/admin/customers/{made.id}/forget", {}),
                        ("/admin/customers", {"q": hostile + "@example.com"})):
        r = await client.get(url, params=params)
        assert r.status_code in (200, 400), (url, r.status_code)
        assert "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text, url
        assert "{{ 7*7 }}" in r.text.replace("&#39;", "'"), url  # printed, never evaluated
        policy = r.headers["content-security-policy"]
        assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy, url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY" or "frame-ancestors 'none'" in policy
