"""SMS-matching test steps on top of the simulated phone (``tests/support/sms_device.py``)
and the personal-wallet checkout (``tests/support/personal_wallets.py``): a brand with a
paired phone (:func:`shop`), a customer's submission (:func:`submit`), a payment as the API
shows it, a stored message, and the installation's phones -- a pairing code, a paired phone
holding some wallet numbers (:func:`installation_phone`) and a fresh wallet number."""

from __future__ import annotations

import secrets
from typing import Any

from ownpay.db import utcnow
from ownpay.sms import devices
from ownpay.sms.models import SmsMessage
from tests.support.factories import create_merchant
from tests.support.personal_wallets import enable, open_page
from tests.support.sms_device import Phone, pairing_code

AMOUNT = 125050  # new_payment's 1,250.50 BDT


async def shop(client: Any, ctx: Any, slug: str = "bkash_personal") -> tuple[Any, Phone]:
    merchant = await create_merchant(ctx)
    await enable(ctx, merchant, slug)
    phone = Phone(client)
    assert (await phone.pair(await pairing_code(ctx, merchant.id))).status_code == 201
    return merchant, phone


async def submit(client: Any, txn: str, sender: str, trx: str) -> None:
    _, token = await open_page(client, txn)
    r = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token, "sender_number": sender, "trx_id": trx})
    assert r.status_code == 303, r.text


async def payment(client: Any, merchant: Any, txn: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert r.status_code == 200
    return dict(r.json())


async def message(ctx: Any, sms_id: str) -> SmsMessage:
    async with ctx.sessions() as s:
        row = await s.get(SmsMessage, sms_id)
    assert row is not None
    return row


def wallet() -> str:
    return "017" + "".join(secrets.choice("0123456789") for _ in range(8))


async def installation_code(ctx: Any) -> str:
    async with ctx.sessions() as s, s.begin():
        code, _ = await devices.create_pairing_code(s, devices.Installation("test"),
                                                    now=utcnow())
    return code


async def installation_phone(client: Any, ctx: Any, *wallets: str) -> Phone:
    phone = Phone(client)
    extra = {"wallet_numbers": list(wallets)} if wallets else {}
    assert (await phone.pair(await installation_code(ctx), **extra)).status_code == 201
    return phone
