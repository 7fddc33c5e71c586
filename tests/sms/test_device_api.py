"""The paired phone's API (``/api/mobile/v1``) driven by a simulated phone: pairing with a
one-time code, tokens and their rotation, encrypted uploads with sequence numbers (gaps,
late arrivals, duplicates, replays), the same SMS from two phones counted once, the
generic forwarder's payload, and every way in without the device's credentials refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from ownpay.db import utcnow
from ownpay.sms.models import PairingCode, SmsAlert, SmsDevice, SmsMessage
from ownpay.tenancy import TenantScope
from tests.support.factories import create_merchant
from tests.support.sms_device import SENDERS, Phone, pairing_code, received

OTP = "Your bKash verification code is 123456. It expires in 2 minutes. Never share it."


async def paired(client: Any, ctx: Any, merchant_id: int | None = None) -> Phone:
    if merchant_id is None:
        merchant_id = (await create_merchant(ctx)).id
    phone = Phone(client)
    assert (await phone.pair(await pairing_code(ctx, merchant_id))).status_code == 201
    return phone


async def alerts(ctx: Any, device_id: str) -> list[tuple[str, int | None, int | None, bool]]:
    async with ctx.sessions() as s:
        rows = await s.scalars(select(SmsAlert).where(SmsAlert.device_id == device_id)
                               .order_by(SmsAlert.id))
        return [(a.kind, a.first_sequence, a.last_sequence, a.resolved_at is None)
                for a in rows]


async def test_a_code_pairs_one_phone_once_and_a_new_code_cancels_the_old(
        client: Any, ctx: Any) -> None:
    merchant = await create_merchant(ctx)
    old = await pairing_code(ctx, merchant.id)
    code = await pairing_code(ctx, merchant.id)
    phone = Phone(client)
    refused = await phone.pair(old)
    assert refused.status_code == 401 and refused.json()["code"] == "UNAUTHENTICATED"
    r = await phone.pair(code)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["device_id"].startswith("dev_") and body["mode"] == "test"
    assert body["access_token"].startswith("opd_") and len(phone.key) == 32
    assert r.headers["cache-control"] == "no-store"
    assert (await Phone(client).pair(code)).status_code == 401  # single use
    async with ctx.sessions() as s:  # only digests are kept
        stored = list(await s.scalars(select(PairingCode.code_digest).where(
            PairingCode.merchant_id == merchant.id)))
        device = await s.get(SmsDevice, phone.device_id)
    assert code not in stored and old not in stored
    assert device is not None and device.merchant_id == merchant.id
    assert phone.access not in (device.access_digest, device.refresh_digest)

    expired = await pairing_code(ctx, merchant.id)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PairingCode).where(PairingCode.merchant_id == merchant.id)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await Phone(client).pair(expired)).status_code == 401
    for bad in ("12345", "１２３４５６", "12345\x00", "a" * 7, 123456):
        r = await client.post("/api/mobile/v1/devices", json={"pairing_code": bad})
        assert r.status_code in (400, 401), (bad, r.text)


async def test_without_the_device_credentials_nothing_is_accepted(client: Any,
                                                                  ctx: Any) -> None:
    merchant = await create_merchant(ctx)
    phone = await paired(client, ctx, merchant.id)
    body = {"messages": [phone.message("bKash", OTP)]}
    for headers in ({}, {"Authorization": "Bearer opd_forged"},
                    {"Authorization": f"Basic {phone.access}"},
                    merchant.auth(),  # a merchant's API key is no device token
                    {"Authorization": f"Bearer {phone.refresh_token}"}):
        for path, payload in (("/api/mobile/v1/sms", body), ("/api/mobile/v1/heartbeat", {})):
            r = await client.post(path, headers=headers, json=payload)
            assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED", (headers, r)
    # Encrypted with another key: refused per message, nothing stored.
    stranger = await paired(client, ctx, merchant.id)
    forged = phone.message("bKash", OTP)
    forged["encrypted_payload"] = stranger.encrypt('{"body": "x"}')
    r = await phone.upload(forged, {**phone.message("bKash", OTP), "encrypted_payload": "%%"})
    assert [m["status"] for m in r.json()["results"]] == ["rejected", "rejected"]
    assert "decrypt" in r.json()["results"][0]["reason"]
    async with ctx.sessions() as s:
        assert await s.scalar(select(SmsMessage.id).where(
            SmsMessage.device_id == phone.device_id)) is None

    # Revoked: its token stops working at once.
    async with ctx.sessions() as s, s.begin():
        from ownpay.sms import devices

        device = await devices.get(s, TenantScope(merchant.id, "test"), phone.device_id)
        assert await devices.revoke(s, device, reason="lost", now=utcnow())
    assert (await phone.upload(phone.message("bKash", OTP))).status_code == 401
    assert (await phone.rotate()).status_code == 401


async def test_refresh_rotates_the_tokens_and_a_reused_refresh_token_revokes_the_device(
        client: Any, ctx: Any) -> None:
    phone = await paired(client, ctx)
    first_access, first_refresh = phone.access, phone.refresh_token
    r = await phone.rotate()
    assert r.status_code == 200 and phone.access != first_access
    assert (await phone.heartbeat(battery=80)).status_code == 200
    old = await client.post("/api/mobile/v1/heartbeat",
                            headers={"Authorization": f"Bearer {first_access}"}, json={})
    assert old.status_code == 401  # the replaced access token is gone
    # Someone replays the first refresh token: the device is revoked, the phone must pair.
    stolen = await client.post("/api/mobile/v1/token", json={"refresh_token": first_refresh})
    assert stolen.status_code == 401
    assert (await phone.heartbeat()).status_code == 401
    async with ctx.sessions() as s:
        device = await s.get(SmsDevice, phone.device_id)
    assert device is not None and device.revoked_reason == (
        "a used refresh token was presented again")


async def test_gaps_late_arrivals_duplicates_and_replays(client: Any, ctx: Any) -> None:
    phone = await paired(client, ctx)
    first = [phone.message("bKash", f"{OTP} {n}") for n in range(2)]  # 1, 2
    r = await phone.upload(*first)
    assert [m["status"] for m in r.json()["results"]] == ["accepted", "accepted"]
    assert r.json()["results"][0]["local_id"] == "local-1"
    phone.sequence = 6
    r = await phone.upload(phone.message("bKash", f"{OTP} 7"))  # 3–6 never arrived
    assert r.json()["last_sequence"] == 7
    assert await alerts(ctx, phone.device_id) == [("gap", 3, 6, True)]
    async with ctx.sessions() as s:
        gap = await s.scalar(select(SmsAlert.message).where(
            SmsAlert.device_id == phone.device_id))
    assert gap == f"device shop phone ({phone.device_id}): messages 3–6 never arrived"

    replay = await phone.upload(*first)  # the app retried an upload it thought lost
    assert [m["status"] for m in replay.json()["results"]] == ["duplicate", "duplicate"]
    await phone.upload(phone.message("bKash", f"{OTP} 4", sequence=4))  # splits the gap
    assert await alerts(ctx, phone.device_id) == [("gap", 3, 3, True), ("gap", 5, 6, True)]
    await phone.upload(phone.message("bKash", f"{OTP} 3", sequence=3))
    assert await alerts(ctx, phone.device_id) == [("gap", 3, 3, False), ("gap", 5, 6, True)]
    await phone.upload(phone.message("bKash", f"{OTP} 5", sequence=5))
    await phone.upload(phone.message("bKash", f"{OTP} 6", sequence=6))
    assert await alerts(ctx, phone.device_id) == [("gap", 3, 3, False), ("gap", 6, 6, False)]

    phone.sequence = 10
    await phone.upload(phone.message("bKash", f"{OTP} 11"))  # 8–10 missing
    await phone.upload(phone.message("bKash", f"{OTP} 9", sequence=9))
    assert sorted(a for a in await alerts(ctx, phone.device_id) if a[3]) == [
        ("gap", 8, 8, True), ("gap", 10, 10, True)]
    beat = await phone.heartbeat(battery=55, app_version="1.4.1", last_sequence=13)
    assert beat.json() == {"device_id": phone.device_id, "server_last_sequence": 11,
                           "missing_after_last": 2}


async def test_the_same_sms_from_two_phones_counts_once(client: Any, ctx: Any) -> None:
    merchant = await create_merchant(ctx)
    one, two = await paired(client, ctx, merchant.id), await paired(client, ctx, merchant.id)
    text = received("bkash", amount_minor=50000, party="01812345678", trx="BDUP0000A1")
    at = utcnow()
    a = await one.upload(one.message("bKash", text, received_at=at))
    # The second phone's clock differs: only the transaction id tells it is the same credit.
    b = await two.upload(two.message("bKash", text, received_at=at + timedelta(seconds=9)))
    c = await two.upload(two.message("bKash", text, received_at=at))
    assert [r.json()["results"][0]["status"] for r in (a, b, c)] == [
        "accepted", "duplicate", "duplicate"]
    async with ctx.sessions() as s:
        rows = list(await s.scalars(select(SmsMessage).where(
            SmsMessage.merchant_id == merchant.id)))
    assert [(r.kind, r.trx_id, r.amount_minor) for r in rows] == [
        ("received", "BDUP0000A1", 50000)]


async def test_messages_from_no_provider_are_kept_without_their_text(client: Any,
                                                                      ctx: Any) -> None:
    phone = await paired(client, ctx)
    r = await phone.upload(phone.message("01712345678", "my PIN for the locker is 4411"),
                           phone.message("bKash", OTP),
                           phone.message("upay", "Dear customer, a new statement."))
    assert [m["match"] for m in r.json()["results"]] == ["ignored", "ignored", "review"]
    async with ctx.sessions() as s:
        rows = {m.kind: m for m in await s.scalars(select(SmsMessage).where(
            SmsMessage.device_id == phone.device_id))}
    assert rows["not_a_provider"].body == "" and rows["otp"].body == OTP
    assert rows["unrecognised"].decision == "no pattern matches"


@pytest.mark.parametrize("messages", [
    None, [], "x", [1], [{}] * 201,
])
async def test_a_malformed_upload_is_refused_whole(client: Any, ctx: Any,
                                                   messages: Any) -> None:
    phone = await paired(client, ctx)
    r = await client.post("/api/mobile/v1/sms", headers=phone.auth(),
                          json={"messages": messages})
    if isinstance(messages, list) and 1 <= len(messages) <= 200:
        assert r.status_code == 200 and r.json()["results"][0]["status"] == "rejected"
    else:
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", r.text


async def test_hostile_fields_are_refused_per_message_and_nothing_is_stored(
        client: Any, ctx: Any) -> None:
    phone = await paired(client, ctx)
    good = phone.message("bKash", OTP)
    cases = [
        {**good, "encrypted_payload": phone.encrypt('{"body": "a\\u0000b"}')},
        {**good, "received_at": "yesterday"},
        {**good, "received_at": "2026-05-26T10:58:00"},  # no offset: ambiguous
        {**good, "received_at": (utcnow() + timedelta(days=2)).isoformat()},
        {**good, "sequence": 0}, {**good, "sequence": True}, {**good, "sequence": "٣"},
        {**good, "sender": "x" * 41},
        {**good, "encrypted_payload": phone.encrypt("Tk 1 " * 3300)},  # 16 KiB of text
        {**good, "encrypted_payload": phone.encrypt("   ")},
    ]
    r = await phone.upload(*cases)
    assert r.status_code == 200, r.text
    assert [m["status"] for m in r.json()["results"]] == ["rejected"] * len(cases)
    raw = await client.post(  # a lone surrogate in the JSON itself
        "/api/mobile/v1/sms", headers={**phone.auth(), "Content-Type": "application/json"},
        content=b'{"messages": [{"sender": "bKash", "body": "\\ud800", "received_at": 1}]}')
    assert raw.status_code == 400 and raw.json()["code"] == "INVALID_JSON"
    async with ctx.sessions() as s:
        assert await s.scalar(select(SmsMessage.id).where(
            SmsMessage.device_id == phone.device_id)) is None


async def test_the_generic_forwarder_posts_to_its_secret_url(client: Any, ctx: Any) -> None:
    from ownpay.sms import devices

    merchant = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        device, path = await devices.add_forwarder(s, TenantScope(merchant.id, "test"),
                                                   name="old phone", now=utcnow())
    text = received("nagad", amount_minor=30000, party="01912345678", trx="71FWD0001")
    stamp = int(utcnow().timestamp() * 1000)
    payload = {"from": SENDERS["nagad"], "text": text, "sentStamp": stamp,
               "receivedStamp": stamp, "sim": "SIM1"}
    r = await client.post(path, json=payload)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert (await client.post(path, json=payload)).json()["status"] == "duplicate"
    assert (await client.post(path + "x", json=payload)).status_code == 401
    assert (await client.post(path, json={**payload, "text": 5})).status_code == 400
    async with ctx.sessions() as s, s.begin():
        fresh = await s.get(SmsDevice, device.id)
        assert fresh is not None
        await devices.revoke(s, fresh, reason="replaced", now=utcnow())
    assert (await client.post(path, json=payload)).status_code == 401
