"""The ledger: the postings of payments, fees and refunds, balances, the verifier (and that
it fails loudly on a deliberately broken book), immutability, and exactly-once posting."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from ownpay.db import utcnow
from ownpay.gateways.base import Outcome, VerifiedResult
from ownpay.ledger import verify as ledger_verify
from ownpay.ledger.models import LedgerEntry, LedgerJournal
from ownpay.payments import service as payments
from ownpay.payments.models import PaymentIntent
from tests.support.checkout import new_intent, paid, refund
from tests.support.commands import ownpay_cli
from tests.support.factories import create_merchant
from tests.support.processes import server_env
from tests.support.records import assert_books_balance


async def journals_of(ctx, txn: str) -> list[tuple[str, list[tuple[str, str, int]]]]:
    async with ctx.sessions() as s:
        rows = list(await s.scalars(select(LedgerJournal).where(LedgerJournal.payment_id == txn)))
        rank = {"payment": 0, "fee": 1}  # a payment and its fee share one timestamp
        rows.sort(key=lambda j: (j.created_at, rank.get(j.kind, 2)))
        out = []
        for j in rows:
            entries = await s.scalars(select(LedgerEntry).where(LedgerEntry.journal_id == j.id)
                                      .order_by(LedgerEntry.id))
            out.append((j.kind, [(e.account, e.direction, e.amount_minor) for e in entries]))
    return out


async def test_postings_for_a_payment_its_fee_and_its_refunds(client, ctx) -> None:
    m = await create_merchant(ctx)
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "currency": "USD",
                                                "flat": "0.30", "percent": "2.9"}, headers=m.auth())
    txn = await paid(client, m, "100.00")
    assert (await refund(client, m, txn, "40.00")).status_code == 201
    assert (await refund(client, m, txn)).status_code == 201
    assert await journals_of(ctx, txn) == [
        ("payment", [("gateway_clearing", "debit", 10000), ("merchant_payable", "credit", 10000)]),
        ("fee", [("merchant_payable", "debit", 320), ("fee_income", "credit", 320)]),
        ("refund", [("refunds", "debit", 4000), ("gateway_clearing", "credit", 4000)]),
        ("refund", [("refunds", "debit", 6000), ("gateway_clearing", "credit", 6000)]),
    ]
    r = await client.get("/api/v1/ledger/balances", headers=m.auth())
    assert r.status_code == 200
    (usd,) = r.json()["data"]
    balances = {name: a["balance"] for name, a in usd["accounts"].items()}
    assert balances == {"gateway_clearing": 0, "merchant_payable": 96.8, "fee_income": 3.2,
                        "refunds": 100}
    assert usd["merchant_net_payable"] == -3.2  # the fee is not returned with a refund
    assert usd["total_debits"] == usd["total_credits"] == 203.2 and usd["balanced"] is True
    assert usd["accounts"]["refunds"]["type"] == "contra-liability"
    await assert_books_balance(ctx, m)


async def test_balances_are_per_currency_and_scoped(client, ctx) -> None:
    m = await create_merchant(ctx)
    await paid(client, m, "10.00")
    await paid(client, m, "700", currency="JPY")
    await paid(client, m, "5.00", gateway="manual", mode="live")
    data = (await client.get("/api/v1/ledger/balances", headers=m.auth())).json()["data"]
    assert {(c["currency"], c["accounts"]["gateway_clearing"]["balance"]) for c in data} == {
        ("JPY", 700), ("USD", 10)}
    live = (await client.get("/api/v1/ledger/balances", headers=m.auth("live"))).json()["data"]
    assert [(c["currency"], c["accounts"]["merchant_payable"]["balance"]) for c in live] == [
        ("USD", 5)]
    other = await create_merchant(ctx)
    assert (await client.get("/api/v1/ledger/balances", headers=other.auth())).json() == {
        "data": []}
    assert (await client.get("/api/v1/ledger/balances")).status_code == 401


async def _unbalance(ctx, txn: str) -> int:
    """Test set-up only: add one debit to the payment's journal, breaking its balance."""
    async with ctx.sessions() as s, s.begin():
        journal = (await s.scalars(select(LedgerJournal).where(
            LedgerJournal.payment_id == txn, LedgerJournal.kind == "payment"))).one()
        result = await s.execute(insert(LedgerEntry).values(
            journal_id=journal.id, merchant_id=journal.merchant_id, mode=journal.mode,
            currency=journal.currency, account="gateway_clearing", direction="debit",
            amount_minor=1, created_at=utcnow()).returning(LedgerEntry.id))
        return int(result.scalar_one())


@pytest.mark.e2e
async def test_verify_detects_a_deliberately_unbalanced_entry(client, ctx, database_url,
                                                              tmp_path: Path) -> None:
    m = await create_merchant(ctx)
    txn = await paid(client, m, "10.00")
    await refund(client, m, txn, "2.50")
    env = server_env(database_url, tmp_path / "data")
    await assert_books_balance(ctx, m)
    entry_id = await _unbalance(ctx, txn)
    async with ctx.sessions() as s:
        report = await ledger_verify.operator_verify(s, merchant_id=m.id)
    checks = {p.check for p in report.problems}
    assert {"journal_balance", "scope_balance", "account_balance"} <= checks
    bad = next(p for p in report.problems if p.check == "journal_balance")
    assert entry_id in [e["id"] for e in bad.entries] and len(bad.entries) == 3
    human = ownpay_cli(env, "ledger", "verify", "--merchant", m.slug, check=False)
    assert human.returncode == 1
    assert "journal_balance" in human.stderr and f"entry {entry_id} " in human.stderr
    as_json = ownpay_cli(env, "ledger", "verify", "--merchant", m.slug, "--json", check=False)
    assert as_json.returncode == 1
    found = json.loads(as_json.stdout)
    assert found["ok"] is False
    assert any(e["id"] == entry_id for p in found["problems"] for e in p["entries"])
    # other merchants' books are untouched by this one's problem
    other = await create_merchant(ctx)
    await paid(client, other, "3.00")
    await assert_books_balance(ctx, other)


async def test_verify_detects_books_that_disagree_with_the_payments(client, ctx) -> None:
    m = await create_merchant(ctx)
    unposted = await new_intent(client, m)
    refunded = await paid(client, m, "10.00")
    await refund(client, m, refunded, "1.00")
    async with ctx.sessions() as s, s.begin():  # test set-up: bypass the state machine
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == unposted).values(
            status="completed", fee_minor=0, net_minor=9999))
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == refunded).values(
            refunded_minor=50))
    async with ctx.sessions() as s:
        report = await ledger_verify.operator_verify(s, merchant_id=m.id)
    by_check = {(p.check, p.payment_id) for p in report.problems}
    assert ("missing_payment_posting", unposted) in by_check
    assert ("payment_refunds", refunded) in by_check
    assert any(p.check == "account_balance" for p in report.problems)


@pytest.mark.parametrize("table", [LedgerEntry, LedgerJournal])
async def test_ledger_rows_cannot_be_changed_or_deleted(client, ctx, table) -> None:
    m = await create_merchant(ctx)
    await paid(client, m, "10.00")
    for stmt in (
        update(table).where(table.merchant_id == m.id).values(mode="live"),
        delete(table).where(table.merchant_id == m.id),
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            async with ctx.sessions() as s, s.begin():
                await s.execute(stmt)
    async with ctx.sessions() as s:
        left = await s.scalar(select(func.count()).select_from(table)
                              .where(table.merchant_id == m.id, table.mode == "test"))
    assert left and left >= 1
    await assert_books_balance(ctx, m)


async def test_concurrent_completions_post_exactly_once(client, ctx) -> None:
    m = await create_merchant(ctx)
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "percent": 1},
                     headers=m.auth())
    txn = await new_intent(client, m, amount="20.00")
    ok = VerifiedResult(outcome=Outcome.SUCCEEDED, amount_minor=2000, currency="USD",
                        reference=txn)

    async def callback() -> str:
        async with ctx.sessions() as s, s.begin():
            intent = await s.get(PaymentIntent, txn)
            assert intent is not None
            return (await payments.apply_result(s, intent, ok, actor="gateway:test")).status

    assert set(await asyncio.gather(*[callback() for _ in range(30)])) == {"completed"}
    assert [kind for kind, _ in await journals_of(ctx, txn)] == ["payment", "fee"]
    await assert_books_balance(ctx, m)


async def test_manual_approval_posts_the_payment(client, ctx) -> None:
    m = await create_merchant(ctx)
    txn = await paid(client, m, "42.00", gateway="manual")
    assert [kind for kind, _ in await journals_of(ctx, txn)] == ["payment"]
    await assert_books_balance(ctx, m)
