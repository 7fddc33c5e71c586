"""The Payments pages: the list (filters, search, cursor pages, CSV export), a payment's
page, approve / reject / cancel through the payments service with audit rows, refusals,
escaping of customer-controlled text, and brand/mode isolation."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.ledger import service as ledger
from ownpay.payments.models import PaymentStatusHistory
from ownpay.tenancy import TenantScope
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import MerchantKeys, create_merchant, make_intent
from tests.support.payments_pages import HOSTILE, audit_rows, intent_of, seed, signed_in
from tests.support.transactions import BASE, Spec, spec

pytestmark = pytest.mark.api


@pytest.fixture
async def manager(app: Any, ctx: Any, merchant: MerchantKeys) -> Any:
    c, _user = await signed_in(app, ctx, "manager", merchant)
    yield c
    await c.aclose()


# ---- the list ---------------------------------------------------------------------------


async def test_list_filters_search_and_pages(ctx: Any, merchant: MerchantKeys,
                                            manager: httpx.AsyncClient) -> None:
    rows = await seed(ctx, merchant, *[
        spec(merchant, BASE + timedelta(minutes=i), status="completed" if i % 2 else "failed",
             customer_email=f"c{i}@example.com", order_id=f"ORD-{i:03d}")
        for i in range(25)])
    page = await manager.get("/admin/payments")
    assert page.status_code == 200
    newest = [s.id for s in sorted(rows, key=Spec.key, reverse=True)]
    assert newest[0] in page.text and newest[19] in page.text and newest[20] not in page.text
    assert 'rel="next"' in page.text
    next_url = page.text.split('href="/admin/payments?')[1].split('" rel="next"')[0]
    second = await manager.get("/admin/payments?" + next_url.replace("&amp;", "&"))
    assert second.status_code == 200
    assert newest[20] in second.text and newest[0] not in second.text
    assert "First page" in second.text

    completed = await manager.get("/admin/payments?status=completed&limit=100")
    assert all(s.id in completed.text for s in rows if s.status == "completed")
    assert not any(s.id in completed.text for s in rows if s.status == "failed")
    by_order = await manager.get("/admin/payments?q=ORD-007")
    assert rows[7].id in by_order.text and rows[8].id not in by_order.text
    by_email = await manager.get("/admin/payments?q=C9@EXAMPLE.COM")
    assert rows[9].id in by_email.text and rows[7].id not in by_email.text
    by_id = await manager.get(f"/admin/payments?q={rows[3].id}")
    assert rows[3].id in by_id.text and rows[4].id not in by_id.text
    # Empty form fields (a submitted filter form) are ignored.
    empty = await manager.get("/admin/payments?q=&gateway=&status=failed&currency=")
    assert empty.status_code == 200 and rows[0].id in empty.text


async def test_bad_filters_are_shown_not_500(manager: httpx.AsyncClient) -> None:
    bad = await manager.get("/admin/payments?status=paid&created_from=yesterday"
                            "&amount_min=5&cursor=nonsense")
    assert bad.status_code == 400
    for text in ("Unknown status", "ISO 8601", "give currency too", "cursor is not valid"):
        assert text in bad.text
    both = await manager.get("/admin/payments?q=a@b.test&customer_email=c@d.test")
    assert both.status_code == 400 and "not both" in both.text


async def test_csv_export_uses_the_filters(ctx: Any, merchant: MerchantKeys,
                                           manager: httpx.AsyncClient) -> None:
    rows = await seed(ctx, merchant,
                      spec(merchant, BASE, status="completed", customer_name="=HYPERLINK()"),
                      spec(merchant, BASE + timedelta(minutes=1), status="failed"))
    got = await manager.get("/admin/payments/export?status=completed&q=&cursor=x")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(got.text)))
    assert table[0][0] == "transaction_id"
    ids = [r[0] for r in table[1:]]
    assert rows[0].id in ids and rows[1].id not in ids
    assert "'=HYPERLINK()" in got.text  # the export's formula guard
    bad = await manager.get("/admin/payments/export?currency=XXX1")
    assert bad.status_code == 400


async def test_list_is_the_viewers_brand_and_mode(app: Any, ctx: Any, merchant: MerchantKeys,
                                                  manager: httpx.AsyncClient) -> None:
    other = await create_merchant(ctx)
    mine, live, theirs = await seed(ctx, merchant, spec(merchant, BASE),
                                    spec(merchant, BASE, mode="live"), spec(other, BASE))
    page = await manager.get("/admin/payments")
    assert mine.id in page.text and live.id not in page.text and theirs.id not in page.text
    assert "No payments match." in (await manager.get(f"/admin/payments?q={theirs.id}")).text
    assert (await manager.get(f"/admin/payments/{theirs.id}")).status_code == 404
    assert (await manager.get(f"/admin/payments/{live.id}")).status_code == 404
    assert (await manager.get("/admin/payments/txn_nonsense")).status_code == 404
    switched = await post_form(manager, "/admin/payments", "/admin/switch",
                               {"mode": "live", "next": "/admin/payments"})
    assert switched.status_code == 303
    page = await manager.get("/admin/payments")
    assert live.id in page.text and mine.id not in page.text


async def test_an_owner_following_a_link_is_switched_to_its_brand(
        app: Any, ctx: Any, merchant: MerchantKeys) -> None:
    other = await create_merchant(ctx, name="Zz other brand")
    (theirs,) = await seed(ctx, other, spec(other, BASE, mode="live"))
    c, _owner = await signed_in(app, ctx, "owner", None)
    try:
        page = await c.get(f"/admin/payments/{theirs.id}")
        assert page.status_code == 200 and theirs.id in page.text
        listing = await c.get("/admin/payments")
        assert theirs.id in listing.text  # the header now shows that brand, live
    finally:
        await c.aclose()


# ---- one payment -----------------------------------------------------------------------------


async def test_detail_shows_amounts_history_ledger_and_escapes(
        ctx: Any, merchant: MerchantKeys, manager: httpx.AsyncClient) -> None:
    (paid,) = await seed(ctx, merchant, spec(
        merchant, BASE, status="completed", customer_name=HOSTILE, description=HOSTILE,
        order_id="ORD-<b>", metadata={"note": HOSTILE}))
    page = await manager.get(f"/admin/payments/{paid.id}")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "{{ 7*7 }}" in page.text and "49" not in page.text.split("Metadata")[1][:300]
    assert "ORD-&lt;b&gt;" in page.text
    assert "10.00 USD" in page.text  # amount
    assert "seeded completed" in page.text  # the status history
    async with ctx.sessions() as s:
        journals = await ledger.journals_of_payment(
            s, scope=TenantScope(merchant.id, "test"), payment_id=paid.id)
    assert journals and all(j.id in page.text for j, _ in journals)
    assert "gateway clearing" in page.text and "merchant payable" in page.text


async def test_ledger_lines_are_scoped(ctx: Any, merchant: MerchantKeys) -> None:
    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed"))
    async with ctx.sessions() as s:
        mine = await ledger.journals_of_payment(
            s, scope=TenantScope(merchant.id, "test"), payment_id=paid.id)
        live = await ledger.journals_of_payment(
            s, scope=TenantScope(merchant.id, "live"), payment_id=paid.id)
    assert [j.kind for j, _ in mine] == ["payment"]
    assert sum(e.amount_minor for e in mine[0][1] if e.direction == "debit") == 1000
    assert live == []


async def test_approve_a_manual_payment(ctx: Any, merchant: MerchantKeys,
                                        manager: httpx.AsyncClient) -> None:
    (manual,) = await seed(ctx, merchant, spec(merchant, BASE, status="awaiting_verification",
                                               gateway="manual"))
    url = f"/admin/payments/{manual.id}"
    page = await manager.get(url)
    assert "Approve payment" in page.text and "Reject payment" in page.text
    done = await post_form(manager, url, f"{url}/approve", {"reason": "bank statement 42"})
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=approved"
    assert (await intent_of(ctx, manual.id)).status == "completed"
    shown = await manager.get(done.headers["location"])
    assert "The payment is approved." in shown.text and "bank statement 42" in shown.text
    (row,) = [r for r in await audit_rows(ctx, "payment.approved") if r.object_id == manual.id]
    assert row.merchant_id == merchant.id and row.mode == "test"
    assert row.changes["status"] == {"before": "awaiting_verification", "after": "completed"}
    async with ctx.sessions() as s:
        actor = await s.scalar(select(PaymentStatusHistory.actor).where(
            PaymentStatusHistory.payment_id == manual.id,
            PaymentStatusHistory.to_status == "completed"))
    assert actor is not None and actor.startswith("operator:manager-")
    again = await post_form(manager, url, f"{url}/approve")
    assert again.status_code == 409 and "Only a payment awaiting verification" in again.text


async def test_reject_and_cancel(ctx: Any, merchant: MerchantKeys,
                                 manager: httpx.AsyncClient) -> None:
    manual, pending = await seed(
        ctx, merchant, spec(merchant, BASE, status="awaiting_verification", gateway="manual"),
        spec(merchant, BASE))
    r = await post_form(manager, f"/admin/payments/{manual.id}",
                        f"/admin/payments/{manual.id}/reject", {"reason": "no money"})
    assert r.status_code == 303
    assert (await intent_of(ctx, manual.id)).status == "failed"
    assert any(a.object_id == manual.id for a in await audit_rows(ctx, "payment.rejected"))
    c = await post_form(manager, f"/admin/payments/{pending.id}",
                        f"/admin/payments/{pending.id}/cancel")
    assert c.status_code == 303
    assert (await intent_of(ctx, pending.id)).status == "cancelled"
    assert any(a.object_id == pending.id for a in await audit_rows(ctx, "payment.cancelled"))
    long = await post_form(manager, f"/admin/payments/{pending.id}",
                           f"/admin/payments/{pending.id}/cancel", {"reason": "x" * 501})
    assert long.status_code == 400 and "at most 500" in long.text


async def test_refusals(app: Any, ctx: Any, client: httpx.AsyncClient,
                        merchant: MerchantKeys) -> None:
    txn = await make_intent(client, ctx, merchant)
    viewer, _user = await signed_in(app, ctx, "viewer", merchant)
    try:
        page = await viewer.get(f"/admin/payments/{txn}")
        assert page.status_code == 200 and "Cancel payment" not in page.text
        denied = await viewer.post(f"/admin/payments/{txn}/cancel",
                                   data={"csrf_token": csrf_of(page.text)})
        assert denied.status_code == 403
        no_token = await viewer.post(f"/admin/payments/{txn}/cancel")
        assert no_token.status_code == 400
    finally:
        await viewer.aclose()
    assert (await intent_of(ctx, txn)).status == "pending"
    anonymous = await client.get("/admin/payments")
    assert anonymous.status_code == 303 and "/admin/sign-in" in anonymous.headers["location"]
