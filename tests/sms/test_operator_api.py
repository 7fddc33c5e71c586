"""The merchant API's SMS routes: a code made through the API pairs a phone, the device
list never shows a secret, revocation through the API stops the phone at once, and the
message list filters by status and refuses bad parameters (tenant and scope cases are
the generated ones of tests/platform/test_route_auth.py)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from tests.support.factories import create_merchant
from tests.support.sms_device import Phone, received


async def test_pair_list_revoke_and_messages_through_the_api(
        ctx: Any, client: httpx.AsyncClient) -> None:
    merchant = await create_merchant(ctx)
    made = await client.post("/api/v1/sms/pairing-codes", headers=merchant.auth())
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    assert made.json()["mode"] == "test" and made.json()["pair_url"].endswith(
        "/api/mobile/v1/devices")
    phone = Phone(client)
    assert (await phone.pair(made.json()["code"])).status_code == 201
    await phone.upload(
        phone.message("bKash", received("bkash", amount_minor=1000, party="01812345678",
                                        trx="BAPI000001")),
        phone.message("bKash", "Your bKash verification code is 1234. Never share it."))

    listed = await client.get("/api/v1/sms/devices", headers=merchant.auth())
    assert [d["id"] for d in listed.json()["data"]] == [phone.device_id]
    assert phone.access not in listed.text and phone.refresh_token not in listed.text
    live = await client.get("/api/v1/sms/devices", headers=merchant.auth("live"))
    assert live.json()["data"] == []  # paired in test mode

    waiting = await client.get("/api/v1/sms/messages", headers=merchant.auth(),
                               params={"status": "waiting"})
    assert [(m["trx_id"], m["amount"], m["kind"]) for m in waiting.json()["data"]] == [
        ("BAPI000001", "10.00", "received")]
    every = await client.get("/api/v1/sms/messages", headers=merchant.auth(),
                             params={"limit": "1"})
    assert [m["kind"] for m in every.json()["data"]] == ["otp"]  # newest first
    for params in ({"status": "x"}, {"limit": "0"}, {"limit": "٣"}, {"limit": "201"},
                   {"limit": "9" * 40}):
        bad = await client.get("/api/v1/sms/messages", headers=merchant.auth(), params=params)
        assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR", params

    revoked = await client.post(f"/api/v1/sms/devices/{phone.device_id}/revoke",
                                headers=merchant.auth())
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await phone.heartbeat()).status_code == 401
    again = await client.post(f"/api/v1/sms/devices/{phone.device_id}/revoke",
                              headers=merchant.auth())
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()[
        "revoked_at"]
    missing = await client.post("/api/v1/sms/devices/dev_" + "0" * 16 + "/revoke",
                                headers=merchant.auth())
    assert missing.status_code == 404 and missing.json()["message"] == "No such device."
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.merchant_id == merchant.id).order_by(AuditEntry.id)))
    assert actions == ["device.pairing_code", "device.revoked"]
