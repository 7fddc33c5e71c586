"""Payment links in the dashboard, in process: a link made through the form with every
term (a select question, gateways, cap, expiry), edited, turned off and on, each change
audited; the list's filter and pages, the link's payments; the service's refusals shown
beside their inputs with nothing changed (huge, control characters, non-ASCII digits, a
gateway that is off); NUL and lone surrogates refused; read-only roles and another brand."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ownpay.db import utcnow
from ownpay.links import service
from ownpay.links.models import PaymentLink
from ownpay.tenancy import TenantScope
from tests.dashboard.config_support import audit_rows, signed_in
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import create_merchant, make_link

pytestmark = pytest.mark.api
LINK_ID = re.compile(r"/admin/links/(plink_[0-9a-f]{16})")


def new_link_form(**overrides: str) -> dict[str, str]:
    form = {"title": "Eid gift box", "description": "Dates & sweets", "currency": "USD",
            "price": "fixed", "amount": "25.00", "gw_sandbox": "on",
            "field_0_label": "Box size", "field_0_name": "size", "field_0_type": "select",
            "field_0_required": "on", "field_0_options": "Small\r\nLarge",
            "field_1_label": "Card message", "field_1_name": "note", "field_1_type": "text",
            "max_uses": "100", "expires_at": (utcnow() + timedelta(days=30)).strftime(
                "%Y-%m-%dT%H:%M"), "slug": "", "image_url": "", "redirect_url": "",
            "active": "on"}
    form.update(overrides)
    return form


async def links_of(ctx: Any, merchant_id: int) -> list[PaymentLink]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(PaymentLink).where(
            PaymentLink.merchant_id == merchant_id)))


async def link_row(ctx: Any, link_id: str) -> PaymentLink:
    async with ctx.sessions() as s:
        row = await s.get(PaymentLink, link_id)
    assert row is not None
    return row


async def test_an_operator_makes_edits_and_turns_off_a_link(client: httpx.AsyncClient,
                                                            ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "operator", brand)
    listing = await client.get("/admin/links")
    assert listing.status_code == 200 and 'href="/admin/links/new"' in listing.text
    made = await post_form(client, "/admin/links/new", "/admin/links", new_link_form())
    assert made.status_code == 303, made.text
    link_id = LINK_ID.fullmatch(made.headers["location"].split("?")[0]).group(1)
    row = await link_row(ctx, link_id)
    assert (row.title, row.amount_minor, row.currency, row.gateways, row.max_uses) == (
        "Eid gift box", 2500, "USD", ["sandbox"], 100)
    assert row.fields == [
        {"name": "size", "label": "Box size", "type": "select", "required": True,
         "options": ["Small", "Large"]},
        {"name": "note", "label": "Card message", "type": "text", "required": False}]
    assert row.active and row.expires_at is not None and row.expires_at.second == 0
    [created] = await audit_rows(ctx, "payment_link.created", link_id, brand.id)
    assert created.changes["title"] == "Eid gift box" and created.changes["amount"] == "25.00"

    page = await client.get(made.headers["location"])
    assert page.status_code == 200 and "The link is made" in page.text
    assert f"http://pay.test/pay/{row.slug}" in page.text and "25.00 USD" in page.text
    listing = await client.get("/admin/links")
    assert "Eid gift box" in listing.text and f"/pay/{row.slug}" in listing.text
    assert "0 / 100" in listing.text

    # Edit: the customer's own amount within a range, a new title, no cap.
    edit = {**new_link_form(), "title": "Eid box", "price": "customer", "amount": "",
            "min_amount": "10", "max_amount": "500.50", "max_uses": "",
            "expires_at": row.expires_at.strftime("%Y-%m-%dT%H:%M"), "slug": row.slug}
    del edit["currency"], edit["active"]
    saved = await post_form(client, f"/admin/links/{link_id}", f"/admin/links/{link_id}", edit)
    assert saved.status_code == 303, saved.text
    row = await link_row(ctx, link_id)
    assert (row.title, row.amount_minor, row.min_minor, row.max_minor, row.max_uses) == (
        "Eid box", None, 1000, 50050, None)
    [updated] = await audit_rows(ctx, "payment_link.updated", link_id, brand.id)
    assert updated.changes["title"] == {"before": "Eid gift box", "after": "Eid box"}
    assert updated.changes["max_uses"] == {"before": 100, "after": None}
    assert "fields" not in updated.changes and "gateways" not in updated.changes

    same = await post_form(client, f"/admin/links/{link_id}", f"/admin/links/{link_id}",
                           {**edit, "title": "Eid box", "min_amount": "10.00"})
    assert same.status_code == 200 and "Nothing changed." in same.text
    assert len(await audit_rows(ctx, "payment_link.updated", link_id)) == 1

    off = await post_form(client, f"/admin/links/{link_id}", f"/admin/links/{link_id}/active",
                          {"active": "off"})
    assert off.status_code == 303 and not (await link_row(ctx, link_id)).active
    assert (await client.get(f"/pay/{row.slug}")).status_code == 410
    turned = await audit_rows(ctx, "payment_link.updated", link_id)
    assert any(r.changes == {"active": {"before": True, "after": False}} for r in turned)
    inactive = await client.get("/admin/links?state=inactive")
    active = await client.get("/admin/links?state=active")
    assert "Eid box" in inactive.text and "Eid box" not in active.text
    on = await post_form(client, f"/admin/links/{link_id}", f"/admin/links/{link_id}/active",
                         {"active": "on"})
    assert on.status_code == 303 and (await link_row(ctx, link_id)).active


BAD_CREATES = [
    ({"title": "T" * 121}, "title", "may not be greater than 120"),
    ({"title": "bell\x07"}, "title", "control characters"),
    ({"amount": "١٢٣"}, "amount", "The amount must be a number."),
    ({"amount": "9" * 39}, "amount", "too large"),
    ({"amount": "2.505"}, "amount", "at most 2 decimal places"),
    ({"amount": ""}, "amount", "Give the fixed price"),
    ({"max_uses": "١٢"}, "max_uses", "A whole number from 1 to 1,000,000"),
    ({"max_uses": "9" * 12}, "max_uses", "A whole number from 1 to 1,000,000"),
    ({"expires_at": "٢٠٢٧-01-31T18:00"}, "expires_at", "An ISO 8601 time"),
    ({"expires_at": "2001-01-31T18:00"}, "expires_at", "must be in the future"),
    ({"currency": "XYZ"}, "currency", "Invalid currency code."),
    ({"gw_paypal": "on"}, "gateways", "Gateway &#39;paypal&#39; is not configured"),
    ({"field_0_options": ""}, "field_0", "options are 1 to 20"),
    ({"field_1_name": "customer_email"}, "field_1", "not one of the page&#39;s own fields"),
    ({"price": "customer", "min_amount": "9", "max_amount": "5"}, "min_amount",
     "may not be greater than the max"),
    ({"slug": "A!"}, "slug", "3 to 64 of a-z"),
    ({"image_url": "javascript:alert(1)"}, "image_url", ""),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_CREATES,
                         ids=[f"{f}-{n}" for n, (_, f, _m) in enumerate(BAD_CREATES)])
async def test_a_bad_term_is_shown_beside_its_input_and_nothing_is_made(
        client: httpx.AsyncClient, ctx: Any, change: dict[str, str], field: str,
        message: str) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    refused = await post_form(client, "/admin/links/new", "/admin/links",
                              new_link_form(**change))
    assert refused.status_code == 400, refused.text
    error = re.search(rf'<p class="field-error" id="e-{re.escape(field)}">([^<]*)</p>',
                      refused.text)
    assert error, refused.text
    assert message in error.group(1)
    assert 'id="form-errors"' in refused.text
    assert 'value="Box size"' in refused.text  # the form keeps what was typed
    assert await links_of(ctx, brand.id) == []


async def test_every_problem_is_shown_at_once(client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    refused = await post_form(client, "/admin/links/new", "/admin/links", new_link_form(
        title="", amount="", max_uses="0", gw_paypal="on"))
    assert refused.status_code == 400
    for name in ("title", "amount", "max_uses", "gateways"):
        assert f'id="e-{name}"' in refused.text, name
    assert await links_of(ctx, brand.id) == []


@pytest.mark.parametrize("raw", [b"title=a%00b", b"title=%ED%A0%80"], ids=["nul", "surrogate"])
async def test_nul_and_lone_surrogates_are_refused(client: httpx.AsyncClient, ctx: Any,
                                                   raw: bytes) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    link_id = await make_link(client, ctx, brand)
    page = await client.get("/admin/links/new")
    token = csrf_of(page.text).encode()
    for action in ("/admin/links", f"/admin/links/{link_id}"):
        r = await client.post(action, content=b"csrf_token=" + token + b"&currency=USD&" + raw,
                              headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 400 and "cannot be accepted" in r.text
    [only] = await links_of(ctx, brand.id)
    assert only.title == "Gift box"


async def test_a_bad_edit_changes_nothing(client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "admin", brand)
    link_id = await make_link(client, ctx, brand)
    before = await link_row(ctx, link_id)
    for change in ({"amount": "٢٥"}, {"title": "x" * 5000}, {"slug": ""},
                   {"max_uses": "-3"}, {"gw_nagad": "on"}):
        form = {"title": "Gift box", "price": "fixed", "amount": "25.00", "slug": before.slug,
                **change}
        r = await post_form(client, f"/admin/links/{link_id}", f"/admin/links/{link_id}",
                            form)
        assert r.status_code == 400, (change, r.text)
        assert "field-error" in r.text and "Not saved." in r.text
        after = await link_row(ctx, link_id)
        assert (after.title, after.amount_minor, after.slug, after.max_uses,
                after.gateways, after.updated_at) == (
            before.title, before.amount_minor, before.slug, before.max_uses,
            before.gateways, before.updated_at), change
    assert await audit_rows(ctx, "payment_link.updated", link_id) == []


@pytest.mark.parametrize("role", ["viewer", "developer"])
async def test_read_only_roles_see_links_but_cannot_change_them(
        client: httpx.AsyncClient, ctx: Any, role: str) -> None:
    brand = await create_merchant(ctx)
    link_id = await make_link(client, ctx, brand)
    await signed_in(client, ctx, role, brand)
    listing = await client.get("/admin/links")
    assert listing.status_code == 200 and "Gift box" in listing.text
    assert "/admin/links/new" not in listing.text
    page = await client.get(f"/admin/links/{link_id}")
    assert page.status_code == 200 and "25.00 USD" in page.text
    assert "Turn off" not in page.text and 'id="edit-h"' not in page.text
    assert (await client.get("/admin/links/new")).status_code == 403
    token = csrf_of(page.text)
    for action, data in (("/admin/links", new_link_form()),
                         (f"/admin/links/{link_id}", {"title": "Changed"}),
                         (f"/admin/links/{link_id}/active", {"active": "off"})):
        r = await client.post(action, data={"csrf_token": token, **data})
        assert r.status_code == 403, action
    [row] = await links_of(ctx, brand.id)
    assert row.title == "Gift box" and row.active


async def test_another_brands_link_is_not_found(client: httpx.AsyncClient, ctx: Any) -> None:
    mine, theirs = await create_merchant(ctx), await create_merchant(ctx)
    their_link = await make_link(client, ctx, theirs)
    await signed_in(client, ctx, "manager", mine)
    assert (await client.get(f"/admin/links/{their_link}")).status_code == 404
    listing = await client.get("/admin/links")
    assert their_link not in listing.text
    token = csrf_of(listing.text)
    for action in (f"/admin/links/{their_link}", f"/admin/links/{their_link}/active"):
        r = await client.post(action, data={"csrf_token": token, "title": "Mine now",
                                            "active": "off"})
        assert r.status_code == 404, action
    row = await link_row(ctx, their_link)
    assert row.title == "Gift box" and row.active
    # The other mode of one's own brand is another scope too.
    live = await client.post("/admin/switch", data={"csrf_token": token, "mode": "live",
                                                    "next": "/admin/links"})
    assert live.status_code == 303
    own = await make_link(client, ctx, mine)
    assert (await client.get(f"/admin/links/{own}")).status_code == 404


async def test_the_list_pages_and_the_links_payments(client: httpx.AsyncClient,
                                                     ctx: Any) -> None:
    brand = await create_merchant(ctx)
    scope = TenantScope(brand.id, "test")
    async with ctx.sessions() as s, s.begin():
        for n in range(22):
            await service.create_link(s, scope, {"title": f"Link {n:02d}", "currency": "USD",
                                                 "amount": "5"}, settings=ctx.settings)
    await signed_in(client, ctx, "viewer", brand)
    first = await client.get("/admin/links")
    assert first.text.count('href="/admin/links/plink_') == 20
    next_url = re.search(r'href="(/admin/links\?after=plink_[0-9a-f]+)" rel="next"',
                         first.text).group(1)
    second = await client.get(next_url)
    titles = set(re.findall(r">(Link \d\d)</a>", first.text + second.text))
    assert len(titles) == 22 and 'rel="next"' not in second.text
    stale = await client.get("/admin/links?after=plink_0000000000000000")
    assert stale.status_code == 200 and "start from the first" in stale.text

    link_id = await make_link(client, ctx, brand)
    link = await link_row(ctx, link_id)
    pay = await client.get(f"/pay/{link.slug}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', pay.text).group(1)
    submission = re.search(r'name="submission" value="([^"]+)"', pay.text).group(1)
    sent = await client.post(f"/pay/{link.slug}", data={
        "csrf_token": token, "submission": submission, "customer_name": "Rahim Uddin",
        "customer_email": "rahim@example.com", "gateway": "sandbox"})
    assert sent.status_code == 303, sent.text
    txn = sent.headers["location"].rsplit("/", 1)[1]
    page = await client.get(f"/admin/links/{link_id}")
    assert f'href="/admin/payments/{txn}"' in page.text and "Rahim Uddin" in page.text
    async with ctx.sessions() as s:
        total = await s.scalar(select(func.count()).select_from(PaymentLink).where(
            PaymentLink.merchant_id == brand.id))
    assert total == 23


async def test_more_questions_shows_more_rows_and_saves_nothing(client: httpx.AsyncClient,
                                                               ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    blank = await client.get("/admin/links/new")
    assert 'name="field_1_label"' in blank.text and 'name="field_2_label"' not in blank.text
    more = await post_form(client, "/admin/links/new", "/admin/links",
                           {**new_link_form(), "more_rows": "1"})
    assert more.status_code == 200
    assert 'name="field_6_label"' in more.text and 'name="field_7_label"' not in more.text
    assert 'value="Card message"' in more.text  # what was typed stays
    assert await links_of(ctx, brand.id) == []
    # Ten questions: the largest form is read whole.
    form = new_link_form()
    for n in range(10):
        form.update({f"field_{n}_label": f"Question {n}", f"field_{n}_name": f"q{n}",
                     f"field_{n}_type": "select", f"field_{n}_required": "on",
                     f"field_{n}_options": "A\nB"})
    made = await post_form(client, "/admin/links/new", "/admin/links", form)
    assert made.status_code == 303, made.text
    [row] = await links_of(ctx, brand.id)
    assert [f["name"] for f in row.fields] == [f"q{n}" for n in range(10)]
