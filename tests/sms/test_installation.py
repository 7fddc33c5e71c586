"""Phones shared by the whole installation (opt-in): an installation phone's message is for
the brands whose wallet gateway shows one of the wallet numbers the phone said it holds --
only those, and only when exactly one payment of theirs fits; it then belongs to that
brand.  A phone that has not said its wallets decides nothing.  The same credit received by
the installation's phone and a brand's own phone verifies at most one payment.  Brands'
API keys never see or manage the installation's phones, nor messages not given to them.

Every test draws its own wallet numbers: the installation's phones would otherwise serve
the brands of other tests in the same database."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from ownpay.db import utcnow
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentStatusHistory
from ownpay.sms import devices, repository
from ownpay.sms.models import INSTALLATION, SmsAlert, SmsDevice, SmsMessage
from ownpay.tenancy import TenantScope
from tests.support.factories import create_merchant
from tests.support.personal_wallets import enable, new_payment, open_page
from tests.support.sms import (
    AMOUNT,
    installation_phone,
    message,
    payment,
    submit,
    wallet,
)
from tests.support.sms_device import Phone, minutes_ago, pairing_code, received

SENDER = "01812345678"


def trx() -> str:
    return "B" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))


async def brand(ctx: Any, number: str) -> Any:
    merchant = await create_merchant(ctx)
    await enable(ctx, merchant, "bkash_personal", wallet_number=number)
    return merchant


async def test_an_installation_phone_verifies_the_payment_of_the_brand_showing_its_wallet(
        client: Any, ctx: Any) -> None:
    shared, other = wallet(), wallet()
    a, b = await brand(ctx, shared), await brand(ctx, other)
    phone = await installation_phone(client, ctx, shared)
    async with ctx.sessions() as s:
        device = await s.get(SmsDevice, phone.device_id)
    assert device is not None and device.merchant_id is None and device.wallets == [shared]

    # Rule 1: the customer of A typed the TrxID; B's customer of the same amount is not
    # considered (B's gateway shows another number).
    code = trx()
    txn_a = await new_payment(client, a, "bkash_personal")
    txn_b = await new_payment(client, b, "bkash_personal")
    await submit(client, txn_a, SENDER, code)
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code)
    result = r.json()["results"][0]
    assert (result["status"], result["match"]) == ("accepted", "matched"), result
    assert (await payment(client, a, txn_a))["status"] == "completed"
    assert (await payment(client, b, txn_b))["status"] == "pending"
    row = await message(ctx, result["sms_id"])
    assert (row.owner_id, row.merchant_id, row.matched_payment_id) == (INSTALLATION, a.id,
                                                                       txn_a)

    # Rule 2: an amount only A's pending payment fits (B's of the same amount is not A's
    # wallet) completes it.
    txn_a2 = await new_payment(client, a, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=trx())
    result = r.json()["results"][0]
    assert result["match"] == "matched", result
    assert (await payment(client, a, txn_a2))["status"] == "completed"
    assert (await payment(client, b, txn_b))["status"] == "pending"
    assert (await message(ctx, result["sms_id"])).merchant_id == a.id

    # The messages are A's now: its API lists them, B's does not.
    listed = await client.get("/api/v1/sms/messages", headers=a.auth())
    assert listed.status_code == 200, listed.text
    ids = {m["id"] for m in listed.json()["data"]}
    assert result["sms_id"] in ids
    assert result["sms_id"] not in {m["id"] for m in (await client.get(
        "/api/v1/sms/messages", headers=b.auth())).json()["data"]}


async def test_two_brands_fitting_or_claiming_is_review_and_the_message_stays_unassigned(
        client: Any, ctx: Any) -> None:
    shared = wallet()
    a, b = await brand(ctx, shared), await brand(ctx, shared)
    phone = await installation_phone(client, ctx, shared)
    txn_a = await new_payment(client, a, "bkash_personal")
    txn_b = await new_payment(client, b, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=trx())
    result = r.json()["results"][0]
    assert result["match"] == "review", result
    row = await message(ctx, result["sms_id"])
    assert row.merchant_id is None and "2 or more payments" in (row.decision or "")
    for merchant, txn in ((a, txn_a), (b, txn_b)):
        assert (await payment(client, merchant, txn))["status"] == "pending"

    # Both customers typed the same TrxID (one of them is not telling the truth).
    code = trx()
    await submit(client, txn_a, SENDER, code)
    await submit(client, txn_b, SENDER, code)
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code)
    result = r.json()["results"][0]
    assert result["match"] == "review", result
    row = await message(ctx, result["sms_id"])
    assert row.merchant_id is None and "payments of 2 brands claim" in (row.decision or "")
    for merchant, txn in ((a, txn_a), (b, txn_b)):
        assert (await payment(client, merchant, txn))["status"] == "awaiting_verification"

    # Only the installation's operators see them (the CLI / dashboard "installation" view).
    async with ctx.sessions() as s:
        mine = await repository.recent_messages(s, devices.Installation("test"),
                                                status="review", limit=500)
        theirs = await repository.recent_messages(s, TenantScope(a.id, "test"),
                                                  status=None, limit=500)
    assert result["sms_id"] in {m.id for m in mine}
    assert result["sms_id"] not in {m.id for m in theirs}


async def test_a_phone_that_has_not_said_its_wallets_decides_nothing(client: Any,
                                                                      ctx: Any) -> None:
    shared = wallet()
    a = await brand(ctx, shared)
    phone = await installation_phone(client, ctx)  # no wallet_numbers
    code = trx()
    txn = await new_payment(client, a, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code)
    result = r.json()["results"][0]
    assert result["match"] == "review", result
    row = await message(ctx, result["sms_id"])
    assert row.merchant_id is None and "has not said which wallets" in (row.decision or "")
    # The customer's submission finds it, and still does not complete on its word.
    await submit(client, txn, SENDER, code)
    assert (await payment(client, a, txn))["status"] == "awaiting_verification"
    row = await message(ctx, result["sms_id"])
    assert row.matched_payment_id is None and row.considered_payment_id == txn
    assert "has not said which wallets" in (row.decision or "")

    # Once the operator says which wallet it holds, the next message decides.
    async with ctx.sessions() as s, s.begin():
        device = await s.get(SmsDevice, phone.device_id)
        assert device is not None
        await devices.set_wallets(s, device, [shared])
    txn2 = await new_payment(client, a, "bkash_personal")
    code2 = trx()
    await submit(client, txn2, SENDER, code2)
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code2)
    assert r.json()["results"][0]["match"] == "matched"
    assert (await payment(client, a, txn2))["status"] == "completed"


async def test_a_waiting_installation_message_is_found_by_the_brands_submission(
        client: Any, ctx: Any) -> None:
    shared = wallet()
    a = await brand(ctx, shared)
    phone = await installation_phone(client, ctx, shared)
    code = trx()
    txn = await new_payment(client, a, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code,
                           at=minutes_ago(45))  # before the payment: outside rule 2's window
    result = r.json()["results"][0]
    assert result["match"] == "waiting"
    assert (await message(ctx, result["sms_id"])).merchant_id is None
    await submit(client, txn, SENDER, code)
    assert (await payment(client, a, txn))["status"] == "completed"
    row = await message(ctx, result["sms_id"])
    assert (row.merchant_id, row.matched_payment_id) == (a.id, txn)


async def test_the_same_credit_on_a_brand_phone_and_an_installation_phone_counts_once(
        client: Any, ctx: Any) -> None:
    shared = wallet()
    a, b = await brand(ctx, shared), await brand(ctx, shared)
    own = Phone(client)  # A's own phone holds the wallet too
    assert (await own.pair(await pairing_code(ctx, a.id), wallet_numbers=[shared])
            ).status_code == 201
    phone = await installation_phone(client, ctx, shared)

    # The installation's copy verifies B's payment (its customer typed the TrxID) ...
    code, at = trx(), utcnow()
    txn_b = await new_payment(client, b, "bkash_personal")
    await submit(client, txn_b, SENDER, code)
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code, at=at)
    assert r.json()["results"][0]["match"] == "matched"
    # ... so A's phone's copy of the very same SMS must not complete A's payment of the
    # same amount by rule 2.
    txn_a = await new_payment(client, a, "bkash_personal")
    r = await own.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code, at=at)
    result = r.json()["results"][0]
    assert (result["status"], result["match"]) == ("accepted", "review"), result
    row = await message(ctx, result["sms_id"])
    assert f"another copy of this SMS already verified payment {txn_b}" in (row.decision
                                                                              or "")
    assert (row.merchant_id, row.considered_payment_id) == (a.id, txn_a)
    assert (await payment(client, a, txn_a))["status"] == "pending"
    # Nor when A's customer types it.
    await submit(client, txn_a, SENDER, code)
    assert (await payment(client, a, txn_a))["status"] == "awaiting_verification"

    # The other way round: A's phone verifies A's payment, then the installation's copy
    # finds that payment already completed and decides nothing.
    code = trx()
    first = await new_payment(client, a, "bkash_personal")
    await submit(client, first, SENDER, code)
    r = await own.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code, at=at)
    assert r.json()["results"][0]["match"] == "matched"
    waiting_b = await new_payment(client, b, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party=SENDER, trx=code, at=at)
    assert r.json()["results"][0]["match"] == "review"
    assert (await payment(client, b, waiting_b))["status"] == "pending"


async def test_installation_copies_are_stored_once(client: Any, ctx: Any) -> None:
    shared = wallet()
    one = await installation_phone(client, ctx, shared)
    two = await installation_phone(client, ctx, shared)
    at = utcnow()
    text = ("You have received Tk 77.00 from 01812345678. Fee Tk 0.00. Balance Tk 1,077.00. "
            f"TrxID {trx()} at {at.strftime('%d/%m/%Y %H:%M')}.")
    first = await one.upload(one.message("bKash", text, received_at=at))
    again = await two.upload(two.message("bKash", text, received_at=at))
    assert first.json()["results"][0]["status"] == "accepted"
    assert again.json()["results"][0]["status"] == "duplicate"


async def test_brand_keys_never_see_or_revoke_an_installation_phone(client: Any,
                                                                     ctx: Any) -> None:
    a = await brand(ctx, wallet())
    phone = await installation_phone(client, ctx, wallet())
    listed = await client.get("/api/v1/sms/devices", headers=a.auth())
    assert listed.status_code == 200
    assert phone.device_id not in {d["id"] for d in listed.json()["data"]}
    revoke = await client.post(f"/api/v1/sms/devices/{phone.device_id}/revoke",
                               headers=a.auth())
    assert revoke.status_code == 404, revoke.text
    assert (await phone.heartbeat(battery=50)).status_code == 200  # still paired


async def test_a_quiet_installation_phone_tells_the_brands_it_serves(client: Any,
                                                                     ctx: Any) -> None:
    shared = wallet()
    a, b = await brand(ctx, shared), await brand(ctx, wallet())
    phone = await installation_phone(client, ctx, shared)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(SmsDevice).where(SmsDevice.id == phone.device_id).values(
            last_seen_at=utcnow() - timedelta(minutes=5)))
    async with ctx.sessions() as s, s.begin():
        quiet = await devices.mark_offline(s, now=utcnow(), after=timedelta(minutes=1))
    assert phone.device_id in {d.id for d in quiet}
    async with ctx.sessions() as s:
        alert = await s.scalar(select(SmsAlert).where(SmsAlert.device_id == phone.device_id))
        told = {e.merchant_id: e.payload for e in await s.scalars(select(OutboxEvent).where(
            OutboxEvent.type == "device.offline",
            OutboxEvent.merchant_id.in_((a.id, b.id))))}
    assert alert is not None and alert.merchant_id is None and alert.kind == "offline"
    assert set(told) == {a.id}
    assert told[a.id]["device_id"] == phone.device_id and told[a.id]["installation"] is True


async def test_messages_of_brand_phones_keep_their_owner(client: Any, ctx: Any) -> None:
    """A brand phone's messages: owner and brand are the brand from the start."""
    a = await brand(ctx, wallet())
    own = Phone(client)
    assert (await own.pair(await pairing_code(ctx, a.id))).status_code == 201
    r = await own.credit("bkash", amount_minor=999, party=SENDER, trx=trx())
    sms_id = r.json()["results"][0]["sms_id"]
    async with ctx.sessions() as s:
        row = await s.scalar(select(SmsMessage).where(SmsMessage.id == sms_id))
    assert row is not None and (row.owner_id, row.merchant_id) == (a.id, a.id)


async def test_racing_copies_from_a_brand_phone_and_an_installation_phone_complete_once(
        backend: str, client: Any, ctx: Any) -> None:
    """PostgreSQL: the customer's submission, A's phone's copy and the installation's copy
    at the same moment, in both orders -- one completion, one message holding it."""
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    shared = wallet()
    a = await brand(ctx, shared)
    own = Phone(client)
    assert (await own.pair(await pairing_code(ctx, a.id), wallet_numbers=[shared])
            ).status_code == 201
    phone = await installation_phone(client, ctx, shared)
    txns: list[str] = []
    for n in range(6):
        code = trx()
        txn = await new_payment(client, a, "bkash_personal")
        _, token = await open_page(client, txn)
        text = received("bkash", amount_minor=AMOUNT, party=SENDER, trx=code)
        racers = [client.post(f"/checkout/{txn}/pay", data={
                      "csrf_token": token, "sender_number": SENDER, "trx_id": code}),
                  own.upload(own.message("bKash", text)),
                  phone.upload(phone.message("bKash", text))]
        if n % 2:
            racers.reverse()
        await asyncio.gather(*racers)
        txns.append(txn)
    async with ctx.sessions() as s:
        completions = dict((await s.execute(
            select(PaymentStatusHistory.payment_id, func.count())
            .where(PaymentStatusHistory.payment_id.in_(txns),
                   PaymentStatusHistory.to_status == "completed")
            .group_by(PaymentStatusHistory.payment_id))).all())
        held = dict((await s.execute(
            select(SmsMessage.matched_payment_id, func.count())
            .where(SmsMessage.matched_payment_id.in_(txns))
            .group_by(SmsMessage.matched_payment_id))).all())
    assert completions == {txn: 1 for txn in txns}
    assert held == {txn: 1 for txn in txns}
