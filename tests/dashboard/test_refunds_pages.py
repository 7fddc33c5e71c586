"""The Refunds pages: refunding a payment (the confirmation step, partial and full, the
idempotency key against double submits, an operator's refund limit, step-up), the list
and a refund's page, confirming / failing an offline refund, audit rows and isolation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from ownpay.audit import Actor
from ownpay.dashboard.models import User, UserSession
from ownpay.db import utcnow
from ownpay.refunds.models import Refund
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.payments_pages import HOSTILE, audit_rows, intent_of, seed, signed_in
from tests.support.transactions import BASE, spec

pytestmark = pytest.mark.api
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


@pytest.fixture
async def manager(app: Any, ctx: Any, merchant: MerchantKeys) -> Any:
    c, _user = await signed_in(app, ctx, "manager", merchant)
    yield c
    await c.aclose()


async def confirmation(c: httpx.AsyncClient, txn: str, **form: str) -> httpx.Response:
    return await post_form(c, f"/admin/payments/{txn}/refund", f"/admin/payments/{txn}/refund",
                           form)


def confirm_form(page: httpx.Response, **form: str) -> dict[str, str]:
    key = _KEY.search(page.text)
    assert key, page.text
    return {"csrf_token": csrf_of(page.text), "idempotency_key": key.group(1),
            "confirm": "yes", **form}


async def refunds_of(ctx: Any, txn: str) -> list[Refund]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(Refund).where(Refund.payment_id == txn)))


async def test_partial_refund_with_confirmation_and_no_double_refund(
        ctx: Any, merchant: MerchantKeys, manager: httpx.AsyncClient) -> None:
    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed",
                                             amount_minor=5000))
    form = await manager.get(f"/admin/payments/{paid.id}/refund")
    assert form.status_code == 200 and "50.00 USD" in form.text
    page = await confirmation(manager, paid.id, amount="12.50", reason=HOSTILE)
    assert page.status_code == 200
    assert "Confirm the refund" in page.text and "12.50 USD" in page.text
    assert "Still refundable now" in page.text and "50.00 USD" in page.text
    assert "goes back to the customer through Sandbox (test payments)." in page.text
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text
    assert await refunds_of(ctx, paid.id) == []  # nothing happens before confirming
    data = confirm_form(page, amount="12.50", reason=HOSTILE)
    first = await manager.post(f"/admin/payments/{paid.id}/refund", data=data)
    assert first.status_code == 303, first.text
    (refund,) = await refunds_of(ctx, paid.id)
    assert first.headers["location"] == f"/admin/refunds/{refund.id}?done=created"
    assert refund.status == "completed" and refund.amount_minor == 1250  # sandbox: at once
    assert refund.created_by.startswith("operator:manager-")
    again = await manager.post(f"/admin/payments/{paid.id}/refund", data=data)
    assert again.status_code == 303
    assert again.headers["location"] == f"/admin/refunds/{refund.id}?done=again"
    assert len(await refunds_of(ctx, paid.id)) == 1
    intent = await intent_of(ctx, paid.id)
    assert intent.status == "partially_refunded" and intent.refunded_minor == 1250
    (row,) = [r for r in await audit_rows(ctx, "refund.created") if r.object_id == refund.id]
    assert row.merchant_id == merchant.id and row.changes["amount"] == "12.50 USD"
    shown = await manager.get(first.headers["location"])
    assert shown.status_code == 200 and "The refund was sent." in shown.text
    assert "&lt;script&gt;" in shown.text and "<script>alert(1)" not in shown.text
    detail = await manager.get(f"/admin/payments/{paid.id}")
    assert refund.id in detail.text and "37.50 USD" in detail.text


async def test_full_refund_and_bad_amounts(ctx: Any, merchant: MerchantKeys,
                                           manager: httpx.AsyncClient) -> None:
    paid, pending = await seed(ctx, merchant, spec(merchant, BASE, status="completed"),
                               spec(merchant, BASE))
    for amount, text in (("abc", "must be a number"), ("0", "greater than 0"),
                         ("10.001", "decimal"), ("10.01", "refundable remainder")):
        bad = await confirmation(manager, paid.id, amount=amount)
        assert bad.status_code == 400 and text in bad.text, (amount, bad.text)
        assert 'aria-invalid="true"' in bad.text
    long = await confirmation(manager, paid.id, reason="x" * 501)
    assert long.status_code == 400 and "at most 500" in long.text
    not_paid = await confirmation(manager, pending.id)
    assert not_paid.status_code == 400 and "Only a paid payment" in not_paid.text
    page = await confirmation(manager, paid.id)
    assert "everything still refundable" in page.text
    forged = confirm_form(page)
    forged["idempotency_key"] = "short"
    expired = await manager.post(f"/admin/payments/{paid.id}/refund", data=forged)
    assert expired.status_code == 400 and "expired" in expired.text
    done = await manager.post(f"/admin/payments/{paid.id}/refund", data=confirm_form(page))
    assert done.status_code == 303
    assert (await intent_of(ctx, paid.id)).status == "refunded"
    assert await audit_rows(ctx, "refund.created")


async def test_operator_refund_limit(app: Any, ctx: Any, merchant: MerchantKeys) -> None:
    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed",
                                             amount_minor=5000))
    c, user = await signed_in(app, ctx, "operator", merchant)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(User).where(User.id == user.id).values(refund_limit="20.00"))
    try:
        form = await c.get(f"/admin/payments/{paid.id}/refund")
        assert "Your limit: 20.00 USD per refund" in form.text
        over = await confirmation(c, paid.id, amount="20.01")
        assert over.status_code == 400 and "Your refund limit is 20.00 USD" in over.text
        everything = await confirmation(c, paid.id)  # the full 50.00 is over the limit too
        assert everything.status_code == 400
        ok = await confirmation(c, paid.id, amount="20.00")
        assert ok.status_code == 200 and "Confirm the refund" in ok.text
        # The limit is checked again when confirming (a forged confirmation form).
        forged = confirm_form(ok, amount="30.00")
        assert (await c.post(f"/admin/payments/{paid.id}/refund", data=forged)).status_code \
            == 400
        assert await refunds_of(ctx, paid.id) == []
    finally:
        await c.aclose()


async def test_refund_needs_a_recent_password(app: Any, ctx: Any, merchant: MerchantKeys,
                                              manager: httpx.AsyncClient) -> None:
    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed"))
    page = await manager.get(f"/admin/payments/{paid.id}")
    token = csrf_of(page.text)
    long_ago = utcnow() - timedelta(seconds=ctx.settings.session_reauth_window + 5)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(UserSession).values(reauthenticated_at=long_ago))
    asked = await manager.post(f"/admin/payments/{paid.id}/refund",
                               data={"csrf_token": token, "amount": "1.00"})
    assert asked.status_code == 303 and asked.headers["location"].startswith("/admin/confirm")
    assert await refunds_of(ctx, paid.id) == []


async def test_offline_refund_confirm_and_fail(ctx: Any, merchant: MerchantKeys,
                                               manager: httpx.AsyncClient) -> None:
    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed",
                                             gateway="manual", amount_minor=3000))
    ids = []
    for amount in ("10.00", "5.00"):
        page = await confirmation(manager, paid.id, amount=amount)
        assert "paid outside OwnPay (Manual / offline payment), so you give the money back" \
            in page.text
        done = await manager.post(f"/admin/payments/{paid.id}/refund",
                                  data=confirm_form(page, amount=amount))
        assert done.status_code == 303
        ids.append(done.headers["location"].split("/")[-1].split("?")[0])
    first, second = ids
    page = await manager.get(f"/admin/refunds/{first}")
    assert "an operator" in page.text and "Money was given back" in page.text
    ok = await post_form(manager, f"/admin/refunds/{first}", f"/admin/refunds/{first}/confirm",
                         {"reason": "bank transfer sent"})
    assert ok.status_code == 303
    failed = await post_form(manager, f"/admin/refunds/{second}",
                             f"/admin/refunds/{second}/fail", {"reason": "account closed"})
    assert failed.status_code == 303
    states = {r.id: r.status for r in await refunds_of(ctx, paid.id)}
    assert states == {first: "completed", second: "failed"}
    intent = await intent_of(ctx, paid.id)
    assert intent.refunded_minor == 1000 and intent.refund_reserved_minor == 0
    assert any(a.object_id == first for a in await audit_rows(ctx, "refund.confirmed"))
    assert any(a.object_id == second for a in await audit_rows(ctx, "refund.failed"))
    shown = await manager.get(f"/admin/refunds/{first}")
    assert "bank transfer sent" in shown.text and "Money was given back" not in shown.text
    again = await post_form(manager, f"/admin/refunds/{first}",
                            f"/admin/refunds/{first}/confirm")
    assert again.status_code == 409 and "already completed" in again.text


async def test_refunds_list_filters_and_isolation(app: Any, ctx: Any, merchant: MerchantKeys,
                                                  manager: httpx.AsyncClient) -> None:
    other = await create_merchant(ctx)
    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed",
                                             gateway="manual", amount_minor=3000))
    page = await confirmation(manager, paid.id, amount="1.00")
    done = await manager.post(f"/admin/payments/{paid.id}/refund",
                              data=confirm_form(page, amount="1.00"))
    refund_id = done.headers["location"].split("/")[-1].split("?")[0]
    listing = await manager.get("/admin/refunds")
    assert listing.status_code == 200 and refund_id in listing.text
    assert refund_id in (await manager.get("/admin/refunds?status=pending")).text
    assert refund_id not in (await manager.get("/admin/refunds?status=completed")).text
    bad = await manager.get("/admin/refunds?status=paid&after=rf_nope")
    assert bad.status_code == 400
    theirs, _user = await signed_in(app, ctx, "manager", other)
    try:
        assert refund_id not in (await theirs.get("/admin/refunds")).text
        assert (await theirs.get(f"/admin/refunds/{refund_id}")).status_code == 404
        page = await theirs.get("/admin/refunds")
        denied = await theirs.post(f"/admin/refunds/{refund_id}/confirm",
                                   data={"csrf_token": csrf_of(page.text)})
        assert denied.status_code == 404
    finally:
        await theirs.aclose()
    viewer, _v = await signed_in(app, ctx, "viewer", merchant)
    try:
        page = await viewer.get(f"/admin/refunds/{refund_id}")
        assert page.status_code == 200 and "Money was given back" not in page.text
        assert (await viewer.post(f"/admin/refunds/{refund_id}/confirm",
                                  data={"csrf_token": csrf_of(page.text)})).status_code == 403
    finally:
        await viewer.aclose()


async def test_a_gateway_that_is_not_configured_is_shown(ctx: Any, merchant: MerchantKeys,
                                                         manager: httpx.AsyncClient) -> None:
    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed",
                                             gateway="stripe"))
    page = await confirmation(manager, paid.id, amount="1.00")
    assert page.status_code == 200, page.text
    answer = await manager.post(f"/admin/payments/{paid.id}/refund",
                                data=confirm_form(page, amount="1.00"))
    assert answer.status_code == 409 and "not configured" in answer.text
    assert await refunds_of(ctx, paid.id) == []
    assert (await intent_of(ctx, paid.id)).refund_reserved_minor == 0


async def test_the_settlements_audit_row_is_in_its_transaction(
        ctx: Any, merchant: MerchantKeys, manager: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit row failing rolls the settlement back: the row and the change go together."""
    from ownpay.refunds import flows
    from ownpay.tenancy import TenantScope

    (paid,) = await seed(ctx, merchant, spec(merchant, BASE, status="completed",
                                             gateway="manual", amount_minor=3000))
    page = await confirmation(manager, paid.id, amount="3.00")
    done = await manager.post(f"/admin/payments/{paid.id}/refund",
                              data=confirm_form(page, amount="3.00"))
    refund_id = done.headers["location"].split("/")[-1].split("?")[0]

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("audit write failed")

    monkeypatch.setattr(flows.audit, "record", broken)
    with pytest.raises(RuntimeError):
        await flows.settle_by_operator(ctx, TenantScope(merchant.id, "test"), refund_id,
                                       confirm=True, reason=None, actor="test",
                                       audited=Actor(type="cli", name="tests"))
    (refund,) = await refunds_of(ctx, paid.id)
    assert refund.status == "pending"
    assert (await intent_of(ctx, paid.id)).refunded_minor == 0
