"""Races on PostgreSQL (SQLite has one writer, so it cannot race): a customer's submission
and its SMS from two phones arriving at the same moment, in either order, and two
customers typing the same transaction id while its SMS arrives -- each payment completes
exactly once, by one message, and a transaction id completes one payment."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.sms.models import SmsMessage
from tests.support.personal_wallets import new_payment, open_page
from tests.support.sms import AMOUNT, shop
from tests.support.sms_device import Phone, pairing_code, received

SENDER = "01812345678"


async def _submit(client: Any, txn: str, token: str, trx: str) -> int:
    r = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token, "sender_number": SENDER, "trx_id": trx})
    return int(r.status_code)


async def _completions(ctx: Any, txns: list[str]) -> dict[str, int]:
    async with ctx.sessions() as s:
        rows = await s.execute(
            select(PaymentStatusHistory.payment_id, func.count())
            .where(PaymentStatusHistory.payment_id.in_(txns),
                   PaymentStatusHistory.to_status == "completed")
            .group_by(PaymentStatusHistory.payment_id))
        return {txn: n for txn, n in rows.all()}


@pytest.mark.parametrize("rounds", [8])
async def test_a_submission_and_its_sms_from_two_phones_at_once_complete_once(
        backend: str, client: Any, ctx: Any, rounds: int) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    merchant, one = await shop(client, ctx)
    two = Phone(client)
    assert (await two.pair(await pairing_code(ctx, merchant.id))).status_code == 201
    txns: list[str] = []
    for n in range(rounds):
        trx = f"BRACE{n:05d}"
        txn = await new_payment(client, merchant, "bkash_personal")
        _, token = await open_page(client, txn)
        text = received("bkash", amount_minor=AMOUNT, party=SENDER, trx=trx)
        racers = [_submit(client, txn, token, trx),
                  one.upload(one.message("bKash", text)), two.upload(two.message("bKash", text))]
        if n % 2:
            racers.reverse()
        await asyncio.gather(*racers)
        txns.append(txn)
    assert await _completions(ctx, txns) == {txn: 1 for txn in txns}
    async with ctx.sessions() as s:
        held = dict((await s.execute(
            select(SmsMessage.matched_payment_id, func.count())
            .where(SmsMessage.merchant_id == merchant.id)
            .group_by(SmsMessage.matched_payment_id))).all())
    assert held == {txn: 1 for txn in txns}  # one message each, and no unmatched copy


async def test_two_customers_typing_one_transaction_id_complete_one_payment(
        backend: str, client: Any, ctx: Any) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    merchant, phone = await shop(client, ctx)
    for n in range(5):
        trx = f"BSHARE{n:04d}"
        pair = [await new_payment(client, merchant, "bkash_personal") for _ in range(2)]
        tokens = [(await open_page(client, txn))[1] for txn in pair]
        text = received("bkash", amount_minor=AMOUNT, party=SENDER, trx=trx)
        await asyncio.gather(_submit(client, pair[0], tokens[0], trx),
                             phone.upload(phone.message("bKash", text)),
                             _submit(client, pair[1], tokens[1], trx))
        async with ctx.sessions() as s:
            statuses = sorted(await s.scalars(select(PaymentIntent.status).where(
                PaymentIntent.id.in_(pair))))
        # One took the id and was verified by the SMS; the other was refused the id (or, if
        # the SMS won the race by amount, both still cannot share it).
        assert statuses.count("completed") == 1, statuses
        assert await _completions(ctx, pair) in ({pair[0]: 1}, {pair[1]: 1})
