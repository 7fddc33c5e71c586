"""SIGKILL the server while customers submit transaction ids and two phones upload the
matching SMS at the same moment, then restart it and let the phones retry what they never
saw acknowledged: every payment completes exactly once (one completion in its history,
one ``payment.completed`` event), by exactly one SMS, and no SMS holds two payments."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.sms.models import SmsMessage
from tests.support.commands import ownpay_cli
from tests.support.processes import server_env, start_server
from tests.support.settings import make_settings
from tests.support.sms_device import Phone, received

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
SENDER = "01812345678"


async def _submit(client: httpx.AsyncClient, txn: str, trx: str) -> None:
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    if token:
        await client.post(f"/checkout/{txn}/pay", data={
            "csrf_token": token.group(1), "sender_number": SENDER, "trx_id": trx})


async def _pair(env: dict[str, str], slug: str, client: httpx.AsyncClient) -> Phone:
    code = json.loads(ownpay_cli(env, "devices", "pair", "--merchant", slug, "--mode", "test",
                                 "--json").stdout)["code"]
    phone = Phone(client)
    assert (await phone.pair(code)).status_code == 201
    return phone


async def _shop(url: str, key: str, phones: list[Phone], paid: dict[str, str],
                stop_after: int) -> None:
    """Payments, each submitted by its customer while both phones upload its SMS."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        for i in range(stop_after):
            trx = f"K{secrets.token_hex(4).upper()}{i % 10}"
            try:
                r = await client.post("/api/v1/payment-intents", headers=headers, json={
                    "gateway": "bkash_personal", "amount": "500.00", "currency": "BDT",
                    "order_id": f"SMS-KILL-{i}-{secrets.token_hex(3)}", "customer_name": "C",
                    "customer_email": "c@example.com", "return_url": "https://shop.example/r"})
                if r.status_code != 201:
                    continue
                txn = r.json()["transaction_id"]
                paid[txn] = trx
                text = received("bkash", amount_minor=50000, party=SENDER, trx=trx)
                await asyncio.gather(
                    _submit(client, txn, trx),
                    *[phone.upload(phone.message("bKash", text)) for phone in phones])
            except httpx.HTTPError:
                return  # the server is gone


async def test_sigkill_during_matching_completes_nothing_twice(database_url: str,
                                                               tmp_path: Path) -> None:
    env = server_env(database_url, tmp_path / "data", OWNPAY_RUN_WORKER="false")
    slug = "smskill-" + secrets.token_hex(4)
    ownpay_cli(env, "migrate")
    ownpay_cli(env, "merchants", "create", "--slug", slug, "--name", "SMS Kill Shop")
    ownpay_cli(env, "gateways", "enable", "bkash_personal", "--merchant", slug, "--mode",
               "test", "--set", "wallet_number=01712345678", "--set", "account_type=personal")
    key = json.loads(ownpay_cli(env, "api-keys", "create", "--merchant", slug, "--mode",
                                "test", "--json").stdout)["api_key"]
    server = start_server(env, tmp_path / "server1.log")
    paid: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as device_client:
        phones = [await _pair(env, slug, device_client) for _ in range(2)]
        load = asyncio.create_task(_shop(server.url, key, phones, paid, stop_after=10_000))
        while len(paid) < 12 and not load.done():  # noqa: ASYNC110 - polls the load's dict
            await asyncio.sleep(0.05)
        server.stop(signal.SIGKILL)
        await asyncio.wait_for(load, timeout=30)
    assert len(paid) >= 12

    # Restart; the phones upload everything again (what was stored is a duplicate) and the
    # customers who never got an answer submit again.
    server = start_server(env, tmp_path / "server2.log")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            for phone in phones:
                phone.client = client
                sent = list(phone.sent)
                for start in range(0, len(sent), 200):
                    r = await phone.upload(*sent[start:start + 200])
                    assert r.status_code == 200, r.text
            await asyncio.gather(*[_submit(client, txn, trx) for txn, trx in paid.items()])
    finally:
        server.stop()

    ctx = AppContext.create(make_settings(database_url, tmp_path / "data"))
    try:
        async with ctx.sessions() as s:
            for txn, trx in paid.items():
                status = await s.scalar(select(PaymentIntent.status).where(
                    PaymentIntent.id == txn))
                completions = await s.scalar(
                    select(func.count()).select_from(PaymentStatusHistory).where(
                        PaymentStatusHistory.payment_id == txn,
                        PaymentStatusHistory.to_status == "completed"))
                events = await s.scalar(select(func.count()).select_from(OutboxEvent).where(
                    OutboxEvent.payment_id == txn, OutboxEvent.type == "payment.completed"))
                holders = list(await s.scalars(select(SmsMessage.trx_id).where(
                    SmsMessage.matched_payment_id == txn)))
                assert (status, completions, events, holders) == (
                    "completed", 1, 1, [trx]), txn
            copies = await s.scalar(select(func.count()).select_from(SmsMessage).where(
                SmsMessage.trx_id.in_(list(paid.values()))))
            assert copies == len(paid)  # two phones, retried uploads: each credit once
    finally:
        await ctx.close()
