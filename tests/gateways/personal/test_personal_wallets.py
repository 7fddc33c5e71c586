"""The personal-wallet gateways (bKash, Nagad, Rocket, Upay personal) through the real API
and checkout: configuration refused field by field, the page (number, exact amount,
reference, steps, the QR drawn here), the customer's sender number and transaction id
validated per provider, the claim waiting for an operator, and a transaction id that can
pay one payment only."""

from __future__ import annotations

from typing import Any

import pytest

from ownpay.errors import ValidationFailed
from ownpay.merchants import service as merchants
from tests.support.checkout import refused
from tests.support.factories import create_merchant, intent_body
from tests.support.personal_wallets import SAMPLES, enable, new_payment, open_page

SLUGS = sorted(SAMPLES)


@pytest.mark.parametrize("slug", SLUGS)
async def test_configuration_is_refused_field_by_field(ctx: Any, slug: str) -> None:
    merchant = await create_merchant(ctx)
    wallet = SAMPLES[slug][0]
    for values, field in (({"wallet_number": "12345"}, "wallet_number"),
                          ({"wallet_number": f"{wallet},{wallet}"}, "wallet_number"),
                          ({"wallet_number": wallet, "account_type": "business"},
                           "account_type"),
                          ({"wallet_number": wallet, "qr_payload": "x" * 501}, "qr_payload"),
                          ({"wallet_number": wallet, "amount_matching": "maybe"},
                           "amount_matching"),
                          ({"wallet_number": wallet, "overpay_tolerance": "-1"},
                           "overpay_tolerance"),
                          ({"wallet_number": wallet, "overpay_tolerance": "١٠"},
                           "overpay_tolerance"),
                          ({"wallet_number": wallet, "overpay_tolerance": "1000.01"},
                           "overpay_tolerance"),
                          ({}, "wallet_number")):
        with pytest.raises(ValidationFailed) as refusal:
            async with ctx.sessions() as s, s.begin():
                row = await merchants.get_merchant(s, merchant.slug)
                await merchants.enable_gateway(s, ctx.keyring, merchant=row, mode="test",
                                               gateway=slug, values=values)
        assert field in refusal.value.errors, (values, refusal.value.errors)


@pytest.mark.parametrize("slug", SLUGS)
async def test_a_customer_pays_and_an_operator_approves(client: Any, ctx: Any,
                                                        slug: str) -> None:
    merchant = await create_merchant(ctx)
    wallet, sender, trx = SAMPLES[slug]
    await enable(ctx, merchant, slug, qr_payload=f"wallet:{wallet}")
    txn = await new_payment(client, merchant, slug)
    html, token = await open_page(client, txn)
    assert wallet in html and "1,250.50" in html
    assert 'src="data:image/svg+xml' in html  # the QR is drawn here, not fetched
    assert ("Reference" in html) == (slug != "rocket_personal")
    assert "Send Money" in html and "personal-wallet.js" in html

    bad = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token, "sender_number": "12", "trx_id": "no!"})
    page = (await refused(client, bad, txn)).text
    assert "number you paid from" in page and "transaction ID exactly as" in page
    assert 'aria-invalid="true"' in page
    # NUL, a lone surrogate, 5,000 characters: refused, nothing stored.  (Bengali digits are
    # a customer's own digits, read as 0-9 since issue 14: tests/i18n/test_language_pages.py.)
    for fields in (f"sender_number={sender}%00&trx_id={trx}",
                   f"sender_number={sender}&trx_id={trx}%ED%A0%80",
                   f"sender_number={'0' * 5000}&trx_id={'A' * 5000}"):
        hostile = await client.post(
            f"/checkout/{txn}/pay", content=f"csrf_token={token}&{fields}",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert hostile.status_code in (303, 400), hostile.text
        if hostile.status_code == 303:  # refused: the page shows the form again
            assert "aria-invalid" in (await client.get(hostile.headers["location"])).text
    got = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert got.json()["status"] == "pending"

    ok = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token, "sender_number": sender, "trx_id": f" {trx.lower()} "})
    assert ok.status_code == 303, ok.text
    got = (await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())).json()
    assert (got["status"], got["provider_transaction_id"]) == ("awaiting_verification", trx)

    # The same transaction id cannot pay a second payment of the merchant.
    again = await new_payment(client, merchant, slug)
    _, token2 = await open_page(client, again)
    reused = await client.post(f"/checkout/{again}/pay", data={
        "csrf_token": token2, "sender_number": sender, "trx_id": trx})
    assert "already been used" in (await refused(client, reused, again)).text

    approved = await client.post(f"/api/v1/payment-intents/{txn}/approve",
                                 headers=merchant.auth(), json={"reason": "seen in the app"})
    assert approved.status_code == 200 and approved.json()["status"] == "completed"


async def test_an_agent_number_gets_cash_out_steps_and_only_taka_is_taken(
        client: Any, ctx: Any) -> None:
    merchant = await create_merchant(ctx)
    await enable(ctx, merchant, "bkash_personal", account_type="Agent",
                 wallet_number="01712345678, 01812-345678")
    txn = await new_payment(client, merchant, "bkash_personal")
    html, _ = await open_page(client, txn)
    assert "Cash Out" in html and "agent number (any one)" in html
    assert "01812345678" in html
    usd = await client.post("/api/v1/payment-intents", headers=merchant.auth(),
                            json=intent_body(gateway="bkash_personal", currency="USD"))
    assert usd.status_code >= 400 and usd.status_code < 500, usd.text
