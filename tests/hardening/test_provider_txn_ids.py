"""Finding 7 of issue 16: an offline payment's transaction id is unique per merchant and
mode among payments that still hold it -- a test submission never blocks a live customer's
real id, and an id an operator rejected can be submitted again."""

from __future__ import annotations

import secrets

from tests.support.checkout import checkout, new_intent, refused
from tests.support.factories import MerchantKeys


async def _submit(client, merchant: MerchantKeys, txn_id: str, *, mode: str = "test"):
    txn = await new_intent(client, merchant, gateway="manual", mode=mode)
    r = await checkout(client, txn, sender_account="01700000000", provider_txn_id=txn_id)
    return txn, r


async def test_the_same_id_in_test_and_live_mode_is_two_payments(
    client, merchant: MerchantKeys
) -> None:
    txn_id = "TRX" + secrets.token_hex(5).upper()
    _, in_test = await _submit(client, merchant, txn_id, mode="test")
    _, in_live = await _submit(client, merchant, txn_id, mode="live")
    assert in_test.status_code == 303 and in_live.status_code == 303


async def test_an_id_is_refused_while_another_payment_holds_it(
    client, merchant: MerchantKeys
) -> None:
    txn_id = "TRX" + secrets.token_hex(5).upper()
    _, first = await _submit(client, merchant, txn_id)
    txn, second = await _submit(client, merchant, txn_id)
    assert first.status_code == 303
    page = await refused(client, second, txn)  # redirect after the refused form
    assert "already been used for another payment" in page.text
    got = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert got.json()["status"] == "pending"


async def test_a_rejected_payment_lets_its_id_go(client, merchant: MerchantKeys) -> None:
    txn_id = "TRX" + secrets.token_hex(5).upper()
    rejected, _ = await _submit(client, merchant, txn_id)
    r = await client.post(f"/api/v1/payment-intents/{rejected}/reject",
                          json={"reason": "no such transfer"}, headers=merchant.auth())
    assert r.json()["status"] == "failed"
    again, answer = await _submit(client, merchant, txn_id)
    assert answer.status_code == 303
    got = await client.get(f"/api/v1/payment-intents/{again}", headers=merchant.auth())
    assert got.json()["status"] == "awaiting_verification"
    assert got.json()["provider_transaction_id"] == txn_id
