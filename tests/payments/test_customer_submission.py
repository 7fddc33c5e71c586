"""What a customer submits for an offline payment reaches the operator who decides it: the
intent, the transaction detail and every webhook of that payment carry it as
``customer_submission`` (the CLI's ``payments show`` is in tests/cli/test_manual_review.py),
and a manual gateway cannot be configured to ask for a secret."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.errors import ValidationFailed
from ownpay.merchants import service as merchants
from ownpay.outbox.models import OutboxEvent
from tests.support.factories import MerchantKeys, intent_body

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def submit(client: httpx.AsyncClient, merchant: MerchantKeys, form: dict[str, str]) -> str:
    r = await client.post("/api/v1/payment-intents", headers=merchant.auth(),
                          json=intent_body(gateway="manual", amount="40"))
    assert r.status_code == 201, r.text
    txn = str(r.json()["transaction_id"])
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    assert token, page.text
    sent = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1), **form})
    assert sent.status_code == 303, sent.text
    return txn


async def events(ctx: AppContext, txn: str) -> dict[str, dict[str, Any]]:
    async with ctx.sessions() as s:
        rows = (await s.scalars(select(OutboxEvent).where(OutboxEvent.payment_id == txn))).all()
    return {row.type: row.payload for row in rows}


async def test_the_submission_is_on_the_intent_the_transaction_and_the_webhooks(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    txn = await submit(client, merchant, {"sender_account": "  01711-222333 ",
                                          "provider_txn_id": "trx9a8b7c"})
    # As typed (runs of spaces collapsed); the transaction id it is matched by is upper-cased.
    expected = {"sender_account": "01711-222333", "provider_txn_id": "trx9a8b7c"}

    got = (await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())).json()
    assert got["status"] == "awaiting_verification"
    assert got["customer_submission"] == expected
    assert got["provider_transaction_id"] == "TRX9A8B7C"
    detail = (await client.get(f"/api/v1/transactions/{txn}", headers=merchant.auth())).json()
    assert detail["customer_submission"] == expected
    assert (await events(ctx, txn))["payment.awaiting_verification"]["customer_submission"] \
        == expected

    approved = await client.post(f"/api/v1/payment-intents/{txn}/approve",
                                 headers=merchant.auth(), json={"reason": "on the statement"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["customer_submission"] == expected
    # The completion event still says what the operator approved on.
    assert (await events(ctx, txn))["payment.completed"]["customer_submission"] == expected


async def test_nothing_submitted_is_null_on_the_api_and_absent_from_webhooks(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    r = await client.post("/api/v1/payment-intents", headers=merchant.auth(),
                          json=intent_body(gateway="manual"))
    txn = r.json()["transaction_id"]
    got = (await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())).json()
    assert got["customer_submission"] is None
    detail = (await client.get(f"/api/v1/transactions/{txn}", headers=merchant.auth())).json()
    assert detail["customer_submission"] is None
    cancelled = await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=merchant.auth())
    assert cancelled.status_code == 200
    assert "customer_submission" not in (await events(ctx, txn))["payment.cancelled"]


async def test_the_merchants_own_fields_are_what_is_shown(
    client: httpx.AsyncClient, ctx: AppContext, merchant: MerchantKeys
) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(
            s, ctx.keyring, merchant=m, mode="test", gateway="manual",
            values={"fields": "bank:Bank name,reference:Bank reference"})
    txn = await submit(client, merchant, {"bank": "City Bank", "reference": "CB-0042",
                                          "sender_account": "not asked for"})
    got = (await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())).json()
    assert got["customer_submission"] == {"bank": "City Bank", "reference": "CB-0042"}


@pytest.mark.parametrize("fields", [
    "pin:Your bKash PIN",
    "wallet_password:Wallet password",
    "code:One-time code you received",
    "otp:Code",
    "check:Card verification code",
])
async def test_a_manual_gateway_never_asks_for_a_secret(
    ctx: AppContext, merchant: MerchantKeys, fields: str
) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        with pytest.raises(ValidationFailed) as refused:
            await merchants.enable_gateway(s, ctx.keyring, merchant=m, mode="test",
                                           gateway="manual", values={"fields": fields})
    assert "Never ask a customer for a PIN" in str(refused.value.errors)


async def test_ordinary_fields_are_not_mistaken_for_secrets(
    ctx: AppContext, merchant: MerchantKeys
) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(
            s, ctx.keyring, merchant=m, mode="test", gateway="manual",
            values={"fields": "spinner_id:Spinner shop id,option:Option chosen,"
                              "shipping:Shipping reference"})
