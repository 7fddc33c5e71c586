"""Matching wallet SMS to personal-wallet payments, through the real checkout and the
device API: either order of arrival completes the payment once, with the SMS named on its
history; any disagreement goes to review; amount-only matching needs exactly one fit; a
debit never pays; a balance that does not add up raises an alert; one SMS never verifies
two payments and one transaction id never completes two."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from ownpay.merchants.models import GatewayAccount
from ownpay.payments.models import PaymentIntent
from ownpay.sms.models import SmsAlert, SmsMessage
from tests.support.factories import create_merchant
from tests.support.personal_wallets import SAMPLES, enable, new_payment
from tests.support.sms import AMOUNT, message, payment, shop, submit
from tests.support.sms_device import Phone, minutes_ago, pairing_code, received

PROVIDER = {slug: slug.removesuffix("_personal") for slug in SAMPLES}


@pytest.mark.parametrize("slug", sorted(SAMPLES))
async def test_the_sms_after_the_submission_completes_the_payment(client: Any, ctx: Any,
                                                                 slug: str) -> None:
    merchant, phone = await shop(client, ctx, slug)
    _, sender, trx = SAMPLES[slug]
    txn = await new_payment(client, merchant, slug)
    await submit(client, txn, sender, trx)
    assert (await payment(client, merchant, txn))["status"] == "awaiting_verification"
    r = await phone.credit(PROVIDER[slug], amount_minor=AMOUNT, party=sender, trx=trx)
    result = r.json()["results"][0]
    assert (result["status"], result["match"]) == ("accepted", "matched"), result
    got = await payment(client, merchant, txn)
    assert got["status"] == "completed"
    last = got["status_history"][-1]
    assert last["reason"].startswith(f"verified by SMS {result['sms_id']} (trx_id)")
    row = await message(ctx, result["sms_id"])
    assert (row.matched_payment_id, row.status) == (txn, "matched")
    assert row.decision == f"trx_id: completed payment {txn}"


@pytest.mark.parametrize("slug", sorted(SAMPLES))
async def test_the_sms_before_the_submission_completes_it_at_submission(
        client: Any, ctx: Any, slug: str) -> None:
    merchant, phone = await shop(client, ctx, slug)
    _, sender, trx = SAMPLES[slug]
    txn = await new_payment(client, merchant, slug)
    # Received before the customer's payment was created: outside the amount window's
    # reach, so it waits for the transaction id.
    r = await phone.credit(PROVIDER[slug], amount_minor=AMOUNT, party=sender, trx=trx,
                           at=minutes_ago(45))
    assert r.json()["results"][0]["match"] == "waiting"
    await submit(client, txn, sender, trx.lower())
    assert (await payment(client, merchant, txn))["status"] == "completed"


async def test_a_wrong_amount_or_sender_goes_to_review_never_completion(client: Any,
                                                                         ctx: Any) -> None:
    merchant, phone = await shop(client, ctx)
    cases = (({"amount_minor": AMOUNT - 100}, "the SMS says 1249.50 BDT"),
             ({"amount_minor": AMOUNT + 100}, "the SMS says 1251.50 BDT"),
             ({"party": "01999999999"}, "the customer typed sender 01812345678"))
    for n, (changes, why) in enumerate(cases):
        trx = f"BREVIEW00{n}"
        txn = await new_payment(client, merchant, "bkash_personal")
        await submit(client, txn, "01812345678", trx)
        fields = {"amount_minor": AMOUNT, "party": "01812345678", "trx": trx, **changes}
        r = await phone.credit("bkash", **fields)
        sms_id = r.json()["results"][0]["sms_id"]
        assert r.json()["results"][0]["match"] == "review"
        row = await message(ctx, sms_id)
        assert row.considered_payment_id == txn and row.matched_payment_id is None
        assert why in (row.decision or ""), row.decision
        assert (await payment(client, merchant, txn))["status"] == "awaiting_verification"
        # The operator decides on the payment as for any offline payment.
        ok = await client.post(f"/api/v1/payment-intents/{txn}/reject",
                               headers=merchant.auth(), json={"reason": "amount differs"})
        assert ok.json()["status"] == "failed"


async def test_an_explicit_tolerance_accepts_the_fee_paid_on_top(client: Any,
                                                                 ctx: Any) -> None:
    merchant, phone = await shop(client, ctx)
    async with ctx.sessions() as s, s.begin():
        account = await s.scalar(select(GatewayAccount).where(
            GatewayAccount.merchant_id == merchant.id, GatewayAccount.gateway ==
            "bkash_personal"))
        assert account is not None and account.settings["overpay_tolerance"] == "0"
        await s.execute(update(GatewayAccount).where(GatewayAccount.id == account.id).values(
            settings={**account.settings, "overpay_tolerance": "25"}))
    txn = await new_payment(client, merchant, "bkash_personal")
    await submit(client, txn, "01812345678", "BTOLER0001")
    r = await phone.credit("bkash", amount_minor=AMOUNT + 2300, party="01812345678",
                           trx="BTOLER0001")
    assert r.json()["results"][0]["match"] == "matched"
    assert (await payment(client, merchant, txn))["status"] == "completed"


async def test_without_a_typed_id_exactly_one_pending_payment_of_the_amount_matches(
        client: Any, ctx: Any) -> None:
    merchant, phone = await shop(client, ctx)
    only = await new_payment(client, merchant, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party="01812345678", trx="BWINDOW001")
    assert r.json()["results"][0]["match"] == "matched"
    got = await payment(client, merchant, only)
    assert (got["status"], got["provider_transaction_id"]) == ("completed", "BWINDOW001")
    assert "(amount_window)" in got["status_history"][-1]["reason"]

    # Two payments of the same amount are waiting: neither is guessed.
    a = await new_payment(client, merchant, "bkash_personal")
    b = await new_payment(client, merchant, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party="01812345678", trx="BWINDOW002")
    sms_id = r.json()["results"][0]["sms_id"]
    assert r.json()["results"][0]["match"] == "review"
    assert "2 or more payments" in ((await message(ctx, sms_id)).decision or "")
    assert {(await payment(client, merchant, t))["status"] for t in (a, b)} == {"pending"}
    # The customer who paid then types the id: rule 1 settles it.
    await submit(client, b, "01812345678", "BWINDOW002")
    assert (await payment(client, merchant, b))["status"] == "completed"
    assert (await payment(client, merchant, a))["status"] == "pending"


async def test_debits_and_other_messages_never_pay_and_one_sms_pays_once(client: Any,
                                                                        ctx: Any) -> None:
    merchant, phone = await shop(client, ctx)
    txn = await new_payment(client, merchant, "bkash_personal")
    await submit(client, txn, "01812345678", "BDEBIT0001")
    debit = ("Payment of Tk 1,250.50 to Merchant 54321 is successful. Balance Tk 100.00. "
             "TrxID BDEBIT0001 at 26/05/2026 15:07.")
    cash_out = ("Cash Out Tk 1,250.50 to 01712345678 successful. Fee Tk 18.50. Balance Tk "
                "0.00. TrxID BDEBIT0001 at 02/06/2026 10:10.")
    r = await phone.upload(phone.message("bKash", debit), phone.message("bKash", cash_out))
    assert [m["match"] for m in r.json()["results"]] == ["ignored", "ignored"]
    assert (await payment(client, merchant, txn))["status"] == "awaiting_verification"

    credit = received("bkash", amount_minor=AMOUNT, party="01812345678", trx="BDEBIT0001")
    assert (await phone.upload(phone.message("bKash", credit))).json()["results"][0][
        "match"] == "matched"
    # The same credit again (re-sent with a new sequence number): a duplicate, nothing more.
    again = await phone.upload(phone.message("bKash", credit))
    assert again.json()["results"][0]["status"] == "duplicate"
    async with ctx.sessions() as s:
        matched = list(await s.scalars(select(SmsMessage.matched_payment_id).where(
            SmsMessage.merchant_id == merchant.id, SmsMessage.matched_payment_id.is_not(None))))
        completed = list(await s.scalars(select(PaymentIntent.id).where(
            PaymentIntent.merchant_id == merchant.id, PaymentIntent.status == "completed")))
    assert matched == [txn] and completed == [txn]


async def test_a_balance_that_does_not_add_up_raises_an_alert(client: Any, ctx: Any) -> None:
    _, phone = await shop(client, ctx)
    steps = ((1_050_000, 50000, "BBALANCE01", 45), (1_070_000, 20000, "BBALANCE02", 40),
             # 10,900.00 expected; 11,100.00 stated: a 200-taka credit was never forwarded
             (1_110_000, 20000, "BBALANCE03", 35))
    for balance, amount, trx, ago in steps:
        await phone.credit("bkash", amount_minor=amount, party="01812345678", trx=trx,
                           balance_minor=balance, at=minutes_ago(ago))
    async with ctx.sessions() as s:
        found = list(await s.scalars(select(SmsAlert).where(
            SmsAlert.device_id == phone.device_id, SmsAlert.kind == "balance")))
    assert len(found) == 1, [a.message for a in found]
    assert found[0].message == (
        "bkash wallet on shop phone: balance 10700.00 then 11100.00 after BBALANCE03; "
        "expected 10900.00 -- a message was missed or altered")


async def test_amount_matching_can_be_turned_off_per_gateway(client: Any, ctx: Any) -> None:
    merchant, phone = await shop(client, ctx)
    await enable(ctx, merchant, "bkash_personal", amount_matching="OFF")
    only = await new_payment(client, merchant, "bkash_personal")
    r = await phone.credit("bkash", amount_minor=AMOUNT, party="01812345678", trx="BNOAMT0001")
    assert r.json()["results"][0]["match"] == "waiting"
    assert (await payment(client, merchant, only))["status"] == "pending"
    await submit(client, only, "01812345678", "BNOAMT0001")  # the typed id still matches
    assert (await payment(client, merchant, only))["status"] == "completed"


async def test_a_phone_that_names_its_wallets_only_verifies_payments_to_them(
        client: Any, ctx: Any) -> None:
    merchant = await create_merchant(ctx)
    await enable(ctx, merchant, "bkash_personal")  # customers pay 01712345678
    elsewhere = Phone(client)  # a phone holding another wallet of the shop
    r = await elsewhere.pair(await pairing_code(ctx, merchant.id),
                             wallet_numbers=["01999-888777"])
    assert r.status_code == 201, r.text
    txn = await new_payment(client, merchant, "bkash_personal")
    await submit(client, txn, "01812345678", "BWALLET001")
    r = await elsewhere.credit("bkash", amount_minor=AMOUNT, party="01812345678",
                               trx="BWALLET001")
    sms_id = r.json()["results"][0]["sms_id"]
    assert r.json()["results"][0]["match"] == "review"
    assert "the SMS reached 01999888777, not a number this payment's gateway shows" in (
        (await message(ctx, sms_id)).decision or "")
    assert (await payment(client, merchant, txn))["status"] == "awaiting_verification"

    pending = await new_payment(client, merchant, "bkash_personal")
    r = await elsewhere.credit("bkash", amount_minor=AMOUNT, party="01812345678",
                               trx="BWALLET002")
    assert r.json()["results"][0]["match"] == "waiting"  # not guessed onto another wallet
    # The phone says it now holds the shop's number too: the amount rule applies again.
    beat = await elsewhere.heartbeat(wallet_numbers="01999888777,01712345678")
    assert beat.status_code == 200
    r = await elsewhere.credit("bkash", amount_minor=AMOUNT, party="01812345678",
                               trx="BWALLET003")
    assert r.json()["results"][0]["match"] == "matched"
    assert (await payment(client, merchant, pending))["status"] == "completed"
    for bad in (["12345"], "01712345678," * 5, [1], "٠١٧١٢٣٤٥٦٧٨"):
        refused = await elsewhere.heartbeat(wallet_numbers=bad)
        assert refused.status_code == 400 and "wallet_numbers" in refused.json()["errors"]
