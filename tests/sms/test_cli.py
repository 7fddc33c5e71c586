"""``ownpay devices …`` and ``ownpay sms inbox|alerts``: a code printed by the CLI pairs a
real (simulated) phone, a forwarder URL accepts the forwarder's payload, revocation stops
the device, the inbox and alerts show what the phones sent, and every change is audited."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from tests.support.commands import app_env, in_process
from tests.support.factories import create_merchant
from tests.support.sms_device import Phone, received

pytestmark = pytest.mark.api


async def cli(ctx: Any, *args: str) -> Any:
    return await asyncio.to_thread(in_process, app_env(ctx), *args)


async def test_pair_list_revoke_and_the_inbox(ctx: Any, client: httpx.AsyncClient) -> None:
    merchant = await create_merchant(ctx)
    made = await cli(ctx, "devices", "pair", "--merchant", merchant.slug, "--mode", "test",
                     "--json")
    assert made.exit_code == 0, made.stderr
    shown = json.loads(made.stdout)
    assert len(shown["code"]) == 6 and shown["code"].isdigit()
    assert shown["pair_url"] == "http://127.0.0.1:8000/api/mobile/v1/devices"  # OWNPAY_BASE_URL
    phone = Phone(client)
    assert (await phone.pair(shown["code"])).status_code == 201

    text = received("bkash", amount_minor=50000, party="01812345678", trx="BCLI000001")
    await phone.upload(phone.message("bKash", text))
    phone.sequence = 4
    await phone.upload(phone.message("bKash", "Your bKash verification code is 1. x"))

    inbox = json.loads((await cli(ctx, "sms", "inbox", "--merchant", merchant.slug, "--mode",
                                  "test", "--json")).stdout)
    assert [(m["kind"], m["status"], m["amount"], m["trx_id"]) for m in inbox] == [
        ("otp", "ignored", None, None), ("received", "waiting", "500.00", "BCLI000001")]
    waiting = (await cli(ctx, "sms", "inbox", "--merchant", merchant.slug, "--mode", "test",
                         "--status", "waiting")).stdout
    assert "BCLI000001" in waiting and "otp" not in waiting
    bad = await cli(ctx, "sms", "inbox", "--merchant", merchant.slug, "--status", "bogus")
    assert bad.exit_code == 1 and "--status is one of" in bad.stderr

    alerts = json.loads((await cli(ctx, "sms", "alerts", "--merchant", merchant.slug,
                                   "--mode", "test", "--json")).stdout)
    assert [(a["kind"], a["first_sequence"], a["last_sequence"]) for a in alerts] == [
        ("gap", 2, 4)]
    resolved = await cli(ctx, "sms", "alerts", "--merchant", merchant.slug, "--mode", "test",
                         "--resolve", str(alerts[0]["id"]))
    assert resolved.exit_code == 0 and "no open alerts" in resolved.stdout
    again = await cli(ctx, "sms", "alerts", "--merchant", merchant.slug, "--mode", "test",
                      "--resolve", str(alerts[0]["id"]))
    assert again.exit_code == 1 and "no open alert" in again.stderr

    listed = json.loads((await cli(ctx, "devices", "list", "--merchant", merchant.slug,
                                   "--mode", "test", "--json")).stdout)
    assert [(d["id"], d["kind"], d["last_sequence"]) for d in listed] == [
        (phone.device_id, "app", 5)]
    assert phone.access not in json.dumps(listed) and phone.refresh_token not in json.dumps(
        listed)
    other = await create_merchant(ctx)  # another brand cannot revoke it
    refused = await cli(ctx, "devices", "revoke", phone.device_id, "--merchant", other.slug,
                        "--mode", "test")
    assert refused.exit_code == 1 and "no device" in refused.stderr
    assert (await phone.heartbeat()).status_code == 200
    done = await cli(ctx, "devices", "revoke", phone.device_id, "--merchant", merchant.slug,
                     "--mode", "test")
    assert done.exit_code == 0 and "revoked" in done.stdout
    assert (await phone.heartbeat()).status_code == 401

    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.merchant_id == merchant.id).order_by(AuditEntry.id)))
    assert actions == ["device.pairing_code", "sms_alert.resolved", "device.revoked"]


async def test_a_forwarder_url_is_printed_once_and_works(ctx: Any,
                                                         client: httpx.AsyncClient) -> None:
    merchant = await create_merchant(ctx)
    for name in ("", "x" * 101, "bad\x07name"):
        refused = await cli(ctx, "devices", "add-forwarder", "--merchant", merchant.slug,
                            "--name", name)
        assert refused.exit_code == 1 and "--name" in refused.stderr
    made = await cli(ctx, "devices", "add-forwarder", "--merchant", merchant.slug,
                     "--mode", "test", "--name", "old phone", "--json")
    url = json.loads(made.stdout)["url"]
    assert url.startswith("http://127.0.0.1:8000/api/mobile/v1/forward/")
    path = url.removeprefix("http://127.0.0.1:8000")
    r = await client.post(path, json={"from": "upay", "text": received(
        "upay", amount_minor=20000, party="01512345678", trx="01HKCLI001"),
        "receivedStamp": 1764800000000})
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    listed = (await cli(ctx, "devices", "list", "--merchant", merchant.slug, "--mode",
                        "test")).stdout
    assert "forwarder" in listed and path.rsplit("/", 1)[1] not in listed


async def test_the_installation_phones_through_the_cli(ctx: Any,
                                                       client: httpx.AsyncClient) -> None:
    """``--installation`` instead of ``--merchant`` (one of them, never both): a pairing code
    for the installation, its devices, the wallets an operator sets, its inbox and
    revocation -- none of which a brand's ``--merchant`` reaches."""
    merchant = await create_merchant(ctx)
    for args in ((), ("--merchant", merchant.slug, "--installation")):
        refused = await cli(ctx, "devices", "pair", *args, "--mode", "test")
        assert refused.exit_code == 1 and "--merchant SLUG or --installation" in refused.stderr
    made = json.loads((await cli(ctx, "devices", "pair", "--installation", "--mode", "test",
                                 "--json")).stdout)
    assert made["installation"] is True and len(made["code"]) == 6
    phone = Phone(client)
    assert (await phone.pair(made["code"])).status_code == 201

    listed = json.loads((await cli(ctx, "devices", "list", "--installation", "--mode",
                                   "test", "--json")).stdout)
    assert phone.device_id in {d["id"] for d in listed}
    theirs = json.loads((await cli(ctx, "devices", "list", "--merchant", merchant.slug,
                                   "--mode", "test", "--json")).stdout)
    assert phone.device_id not in {d["id"] for d in theirs}

    bad = await cli(ctx, "devices", "set-wallets", phone.device_id, "--installation",
                    "--mode", "test", "--wallet", "12345")
    assert bad.exit_code == 1 and "--wallet" in bad.stderr
    number = "019" + phone.device_id[-8:].translate(str.maketrans("abcdef", "123456"))
    set_ = await cli(ctx, "devices", "set-wallets", phone.device_id, "--installation",
                     "--mode", "test", "--wallet", number, "--json")
    assert set_.exit_code == 0, set_.stderr
    assert json.loads(set_.stdout)["wallets"] == [number]
    not_theirs = await cli(ctx, "devices", "set-wallets", phone.device_id, "--merchant",
                           merchant.slug, "--mode", "test", "--wallet", number)
    assert not_theirs.exit_code == 1 and "no device" in not_theirs.stderr

    text = received("bkash", amount_minor=4100, party="01812345678", trx="BINST00001")
    sms_id = (await phone.upload(phone.message("bKash", text))).json()["results"][0]["sms_id"]
    inbox = json.loads((await cli(ctx, "sms", "inbox", "--installation", "--mode", "test",
                                  "--json")).stdout)
    assert sms_id in {m["id"] for m in inbox}

    forwarder = await cli(ctx, "devices", "add-forwarder", "--installation", "--mode", "test",
                          "--name", "counter phone")
    assert forwarder.exit_code == 1 and "needs --wallet" in forwarder.stderr
    done = await cli(ctx, "devices", "revoke", phone.device_id, "--installation", "--mode",
                     "test")
    assert done.exit_code == 0 and "revoked" in done.stdout
    assert (await phone.heartbeat()).status_code == 401
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == phone.device_id).order_by(AuditEntry.id)))
    assert actions == ["device.wallets", "device.revoked"]
