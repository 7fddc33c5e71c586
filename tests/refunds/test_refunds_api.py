"""``/api/v1/refunds`` over HTTP on both engines: full and partial refunds, validation,
states, tenancy, scopes, idempotency, concurrency, offline (manual) refunds, listing."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from sqlalchemy import select

from ownpay.payments.models import PaymentStatusHistory
from ownpay.refunds.models import Refund
from tests.support.checkout import failed_payment, new_intent, paid, payment, refund
from tests.support.factories import create_merchant, extra_key
from tests.support.records import (
    assert_books_balance,
    count_refunds,
    event_types,
    events,
    payment_row,
    refund_rows,
)


async def test_full_refund_by_default(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "99.99")
    r = await refund(client, merchant, txn, reason="customer changed their mind")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("rf_") and body["transaction_id"] == txn
    assert (body["status"], body["amount"], body["currency"]) == ("completed", 99.99, "USD")
    assert body["reason"] == "customer changed their mind" and body["pending_reason"] is None
    assert body["provider_refund_id"] == f"sbx_{body['id']}" and body["completed_at"]
    got = await payment(client, merchant, txn)
    assert got["status"] == "refunded" and got["refunded_amount"] == 99.99
    assert [h["to_status"] for h in got["status_history"]] == ["pending", "completed", "refunded"]
    assert await event_types(ctx, txn) == ["payment.completed", "payment.refunded"]
    (event,) = await events(ctx, txn, "payment.refunded")
    assert event["refunded_amount"] == 99.99 and event["refund"]["id"] == body["id"]
    assert event["refund"]["amount"] == 99.99 and event["status"] == "refunded"
    row = await payment_row(ctx, txn)
    assert (row.refunded_minor, row.refund_reserved_minor) == (9999, 0)
    await assert_books_balance(ctx, merchant)


async def test_partial_refunds_until_the_paid_amount_is_exhausted(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "100.00")
    for expected_total in (30, 60):
        r = await refund(client, merchant, txn, "30.00")
        assert r.status_code == 201 and r.json()["status"] == "completed", r.text
        got = await payment(client, merchant, txn)
        assert (got["status"], got["refunded_amount"]) == ("partially_refunded", expected_total)
    over = await refund(client, merchant, txn, 40.01)
    assert over.status_code == 400 and over.json()["code"] == "VALIDATION_ERROR"
    assert "40.00 USD" in over.json()["errors"]["amount"][0]
    rest = await refund(client, merchant, txn)  # the default is what is left
    assert rest.status_code == 201 and rest.json()["amount"] == 40
    got = await payment(client, merchant, txn)
    assert (got["status"], got["refunded_amount"]) == ("refunded", 100)
    again = await refund(client, merchant, txn, "1")
    assert again.status_code == 409 and again.json()["code"] == "INVALID_STATE"
    assert await event_types(ctx, txn) == [
        "payment.completed", "payment.partially_refunded", "payment.partially_refunded",
        "payment.refunded"]
    partials = await events(ctx, txn, "payment.partially_refunded")
    assert [e["refunded_amount"] for e in partials] == [30, 60]
    assert [r.amount_minor for r in await refund_rows(ctx, txn)] == [3000, 3000, 4000]
    await assert_books_balance(ctx, merchant)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "greater than 0"),
        (-5, "greater than 0"),
        ("abc", "must be a number"),
        ("10.001", "at most 2 decimal places"),
        (True, "must be a number"),
    ],
)
async def test_bad_amounts_are_400_and_change_nothing(
    client, ctx, merchant, amount, message
) -> None:
    txn = await paid(client, merchant, "50.00")
    r = await refund(client, merchant, txn, amount)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
    assert message in r.json()["errors"]["amount"][0]
    assert await refund_rows(ctx, txn) == []
    row = await payment_row(ctx, txn)
    assert (row.status, row.refunded_minor, row.refund_reserved_minor) == ("completed", 0, 0)


async def test_precision_follows_the_payment_currency(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "500", currency="JPY")
    r = await refund(client, merchant, txn, "1.5")
    assert r.status_code == 400 and "whole number for JPY" in r.json()["errors"]["amount"][0]
    r = await refund(client, merchant, txn, 200)
    assert r.status_code == 201 and r.json()["amount"] == 200 and r.json()["currency"] == "JPY"


async def test_every_bad_field_is_reported_at_once(client, merchant) -> None:
    r = await client.post("/api/v1/refunds", json={"amount": "x", "reason": "r" * 501},
                          headers=merchant.auth())
    assert r.status_code == 400
    assert set(r.json()["errors"]) == {"transaction_id", "amount", "reason"}
    r = await client.post("/api/v1/refunds", content=b"[1]", headers={
        **merchant.auth(), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_JSON"
    r = await client.post("/api/v1/refunds", content=b"transaction_id=x", headers={
        **merchant.auth(), "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415


async def test_unpaid_payments_cannot_be_refunded(client, ctx, merchant) -> None:
    pending = await new_intent(client, merchant)
    failed = await failed_payment(client, merchant)
    for txn in (pending, failed):
        r = await refund(client, merchant, txn, "1.00")
        assert r.status_code == 409 and r.json()["code"] == "INVALID_STATE", r.text
        assert await refund_rows(ctx, txn) == []


async def test_other_merchants_and_modes_see_404(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "20.00")
    other = await create_merchant(ctx)
    r = await refund(client, other, txn, "1.00")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = await refund(client, merchant, txn, "1.00", mode="live")
    assert r.status_code == 404
    mine = (await refund(client, merchant, txn, "1.00")).json()["id"]
    for who, mode in ((other, "test"), (merchant, "live")):
        r = await client.get(f"/api/v1/refunds/{mine}", headers=who.auth(mode))
        assert r.status_code == 404
        listed = await client.get(f"/api/v1/refunds?transaction_id={txn}", headers=who.auth(mode))
        assert listed.status_code == 200 and listed.json()["data"] == []
    r = await client.get("/api/v1/refunds/rf_0000000000000000", headers=merchant.auth())
    assert r.status_code == 404
    r = await client.get("/api/v1/refunds/nonsense", headers=merchant.auth())
    assert r.status_code == 404
    assert (await payment_row(ctx, txn)).refunded_minor == 100


async def test_scopes(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "20.00")
    reader = await extra_key(ctx, merchant, ("read",))
    writer = await extra_key(ctx, merchant, ("read", "write"))
    r = await client.post("/api/v1/refunds", json={"transaction_id": txn}, headers=reader)
    assert r.status_code == 403 and r.json()["code"] == "INSUFFICIENT_SCOPE"
    r = await client.post("/api/v1/refunds", json={"transaction_id": txn, "amount": 1},
                          headers=writer)
    assert r.status_code == 201
    rid = r.json()["id"]
    assert (await client.get(f"/api/v1/refunds/{rid}", headers=reader)).status_code == 200
    assert (await client.get("/api/v1/refunds", headers=reader)).status_code == 200
    r = await client.post(f"/api/v1/refunds/{rid}/confirm", headers=writer)
    assert r.status_code == 403
    assert (await client.get("/api/v1/refunds")).status_code == 401


async def test_idempotency_key(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "40.00")
    key = "refund-" + secrets.token_hex(6)
    first = await refund(client, merchant, txn, "10.00", key=key)
    second = await refund(client, merchant, txn, "10.00", key=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(await refund_rows(ctx, txn)) == 1
    other_body = await refund(client, merchant, txn, "11.00", key=key)
    assert other_body.status_code == 409 and other_body.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    # a key first used to create a payment intent cannot create a refund
    intent_key = "intent-" + secrets.token_hex(6)
    from tests.support.factories import intent_body

    r = await client.post("/api/v1/payment-intents", json=intent_body(),
                          headers={**merchant.auth(), "Idempotency-Key": intent_key})
    assert r.status_code == 201
    r = await refund(client, merchant, txn, "1.00", key=intent_key)
    assert r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert (await payment_row(ctx, txn)).refunded_minor == 1000


async def test_concurrent_requests_with_one_key_make_one_refund(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "40.00")
    key = "same-" + secrets.token_hex(6)
    answers = await asyncio.gather(*[refund(client, merchant, txn, "5.00", key=key)
                                     for _ in range(12)])
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await refund_rows(ctx, txn)) == 1
    row = await payment_row(ctx, txn)
    assert (row.refunded_minor, row.refund_reserved_minor) == (500, 0)
    await assert_books_balance(ctx, merchant)


async def test_concurrent_refunds_never_exceed_the_paid_amount(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "99.99")
    answers = await asyncio.gather(*[refund(client, merchant, txn, "10.00") for _ in range(30)])
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 9 and codes.count(400) == 21, codes
    rows = await refund_rows(ctx, txn)
    assert len(rows) == 9 and all(r.status == "completed" for r in rows)
    row = await payment_row(ctx, txn)
    assert (row.status, row.refunded_minor, row.refund_reserved_minor) == (
        "partially_refunded", 9000, 0)
    # the 9.99 left: many concurrent "refund the rest" requests, exactly one wins
    answers = await asyncio.gather(*[refund(client, merchant, txn) for _ in range(15)])
    winners = [a for a in answers if a.status_code == 201]
    assert len(winners) == 1 and winners[0].json()["amount"] == 9.99
    assert {a.status_code for a in answers} - {201} <= {400, 409}
    row = await payment_row(ctx, txn)
    assert (row.status, row.refunded_minor) == ("refunded", 9999)
    assert (await event_types(ctx, txn)).count("payment.partially_refunded") == 9
    await assert_books_balance(ctx, merchant)


async def test_concurrent_refunds_across_many_payments(client, ctx, merchant) -> None:
    txns = [await paid(client, merchant, "10.00") for _ in range(4)]
    answers = await asyncio.gather(*[refund(client, merchant, txn, "3.00")
                                     for txn in txns for _ in range(6)])
    assert [a.status_code for a in answers].count(201) == 12
    for txn in txns:
        row = await payment_row(ctx, txn)
        assert (row.refunded_minor, row.refund_reserved_minor, row.status) == (
            900, 0, "partially_refunded")
    await assert_books_balance(ctx, merchant)


async def test_manual_refunds_wait_for_an_operator(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "50.00", gateway="manual")
    r = await refund(client, merchant, txn, "20.00", reason="returned goods")
    assert r.status_code == 201
    first = r.json()
    assert (first["status"], first["pending_reason"]) == ("pending", "awaiting_operator")
    row = await payment_row(ctx, txn)
    assert (row.status, row.refunded_minor, row.refund_reserved_minor) == ("completed", 0, 2000)
    # the reservation counts: only 30.00 is left to refund while it is pending
    over = await refund(client, merchant, txn, "30.01")
    assert over.status_code == 400
    second = (await refund(client, merchant, txn, "30.00")).json()
    assert second["status"] == "pending"
    r = await client.post(f"/api/v1/refunds/{first['id']}/confirm",
                          json={"reason": "bank transfer sent"}, headers=merchant.auth())
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    # The operator's reason is kept (issue 19, item 5): on the refund's history, as the
    # answer and a later GET show it, and beside the refund in the payment's history.
    confirmed = r.json()["status_history"][-1]
    assert (confirmed["from_status"], confirmed["to_status"]) == ("pending", "completed")
    assert confirmed["reason"] == "bank transfer sent"
    assert confirmed["actor"].startswith("operator:key:")
    shown = await client.get(f"/api/v1/refunds/{first['id']}", headers=merchant.auth())
    assert shown.json()["status_history"] == r.json()["status_history"]
    assert shown.json()["status_history"][0]["reason"] == "returned goods"
    got = await payment(client, merchant, txn)
    assert (got["status"], got["refunded_amount"]) == ("partially_refunded", 20)
    assert got["status_history"][-1]["reason"] == (
        f"refund {first['id']} of 20.00 USD: bank transfer sent")
    r = await client.post(f"/api/v1/refunds/{second['id']}/fail",
                          json={"reason": "customer's account closed"}, headers=merchant.auth())
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert r.json()["failure_reason"] == "customer's account closed" and r.json()["failed_at"]
    row = await payment_row(ctx, txn)
    assert (row.status, row.refunded_minor, row.refund_reserved_minor) == (
        "partially_refunded", 2000, 0)
    (failed_event,) = await events(ctx, txn, "refund.failed")
    assert failed_event["refund_id"] == second["id"] and failed_event["amount"] == 30
    assert failed_event["reason"] == "customer's account closed"
    assert failed_event["transaction_id"] == txn and failed_event["status"] == "failed"
    # settled refunds cannot be decided again; gateway-settled ones never by hand
    for rid, action in ((first["id"], "fail"), (second["id"], "confirm")):
        r = await client.post(f"/api/v1/refunds/{rid}/{action}", headers=merchant.auth())
        assert r.status_code == 409 and r.json()["code"] == "INVALID_STATE"
    sandbox_txn = await paid(client, merchant, "5.00")
    done = (await refund(client, merchant, sandbox_txn)).json()
    r = await client.post(f"/api/v1/refunds/{done['id']}/confirm", headers=merchant.auth())
    assert r.status_code == 409
    # the failed refund's 30.00 is refundable again
    again = await refund(client, merchant, txn, "30.00")
    assert again.status_code == 201 and again.json()["status"] == "pending"
    await assert_books_balance(ctx, merchant)


async def test_get_and_list_with_filters(client, ctx, merchant) -> None:
    a = await paid(client, merchant, "30.00")
    b = await paid(client, merchant, "30.00", gateway="manual")
    made = [
        (await refund(client, merchant, a, "1.00")).json(),
        (await refund(client, merchant, b, "2.00")).json(),
        (await refund(client, merchant, a, "3.00")).json(),
    ]
    one = await client.get(f"/api/v1/refunds/{made[0]['id']}", headers=merchant.auth())
    assert one.status_code == 200
    detail = one.json()
    history = detail.pop("status_history")
    assert detail == made[0]
    assert history[0]["from_status"] is None and history[-1]["to_status"] == "completed"
    assert all(h["from_status"] == prev["to_status"] for prev, h in zip(history, history[1:]))
    listed = (await client.get("/api/v1/refunds", headers=merchant.auth())).json()
    assert [r["id"] for r in listed["data"]] == [r["id"] for r in reversed(made)]
    assert listed["has_more"] is False and listed["next_cursor"] is None
    by_txn = (await client.get(f"/api/v1/refunds?transaction_id={a}",
                               headers=merchant.auth())).json()
    assert [r["amount"] for r in by_txn["data"]] == [3, 1]
    pending = (await client.get("/api/v1/refunds?status=pending", headers=merchant.auth())).json()
    assert [r["id"] for r in pending["data"]] == [made[1]["id"]]
    created = made[1]["created_at"]
    since = (await client.get(f"/api/v1/refunds?created_from={created}",
                              headers=merchant.auth())).json()
    assert {r["id"] for r in since["data"]} >= {made[1]["id"], made[2]["id"]}
    before = (await client.get("/api/v1/refunds?created_to=2000-01-01T00:00:00Z",
                               headers=merchant.auth())).json()
    assert before["data"] == []
    for query, field in (("status=done", "status"), ("created_from=yesterday", "created_from"),
                         ("limit=0", "limit"), ("starting_after=rf_0000000000000000",
                                                "starting_after")):
        r = await client.get(f"/api/v1/refunds?{query}", headers=merchant.auth())
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", query
        assert field in r.json()["errors"], r.json()


async def test_pagination_is_stable_while_refunds_are_created(client, ctx, merchant) -> None:
    txns = [await paid(client, merchant, "50.00") for _ in range(3)]
    existing = set()
    for txn in txns:
        for _ in range(5):
            existing.add((await refund(client, merchant, txn, "1.00")).json()["id"])
    seen: list[str] = []
    cursor = None
    newer: set[str] = set()
    while True:
        url = "/api/v1/refunds?limit=4" + (f"&starting_after={cursor}" if cursor else "")
        page, *created = await asyncio.gather(
            client.get(url, headers=merchant.auth()),
            refund(client, merchant, txns[0], "1.00"),
            refund(client, merchant, txns[1], "1.00"),
        )
        newer |= {c.json()["id"] for c in created}
        body = page.json()
        seen += [r["id"] for r in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen))  # no refund twice
    assert existing <= set(seen)  # none of those that existed is skipped
    assert set(seen) <= existing | newer


async def test_refund_history_row_names_the_refund(client, ctx, merchant) -> None:
    txn = await paid(client, merchant, "12.34")
    rid = (await refund(client, merchant, txn, "2.34")).json()["id"]
    async with ctx.sessions() as s:
        last = (await s.scalars(
            select(PaymentStatusHistory).where(PaymentStatusHistory.payment_id == txn)
            .order_by(PaymentStatusHistory.id.desc()))).first()
        stored = await s.get(Refund, rid)
    assert last is not None and stored is not None
    assert (last.from_status, last.to_status) == ("completed", "partially_refunded")
    assert rid in (last.reason or "") and "2.34 USD" in (last.reason or "")
    assert stored.created_by.startswith("merchant:key:") and stored.send_count == 1
    assert await count_refunds(ctx, merchant.id) == 1


async def test_checkout_link_of_a_refunded_payment_still_answers(client, merchant) -> None:
    txn = await paid(client, merchant, "8.00")
    await refund(client, merchant, txn, "3.00")
    page = await client.get(f"/checkout/{txn}")
    assert page.status_code == 200 and 'value="succeed"' not in page.text
    await refund(client, merchant, txn)
    page = await client.get(f"/checkout/{txn}")
    assert page.status_code == 200 and 'value="succeed"' not in page.text
