"""A paired phone that goes quiet: after ``OWNPAY_DEVICE_OFFLINE_AFTER`` the worker raises
one alert, counts it and sends one ``device.offline`` event to the brand's endpoints; the
phone's next heartbeat clears it, and a second silence is reported again.  Forwarder apps
(which send no heartbeats) and revoked devices are not watched.

The test silences its devices for 5 minutes and watches with a 1-minute threshold: a live
server of the same test session (its embedded worker shares this database, with the
default 30 minutes) must not report them first."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import select, update

from ownpay.db import utcnow
from ownpay.outbox.models import OutboxEvent
from ownpay.sms import devices
from ownpay.sms.models import SmsAlert, SmsDevice
from ownpay.tenancy import TenantScope
from ownpay.webhooks.delivery import dispatch_events
from ownpay.webhooks.models import WebhookDelivery
from ownpay.worker import watch_devices
from tests.support.factories import create_merchant
from tests.support.sms_device import Phone, pairing_code


def _offline_alerts() -> float:
    return REGISTRY.get_sample_value("ownpay_sms_alerts_total", {"kind": "offline"}) or 0.0


async def _silence(ctx: Any, device_id: str) -> None:
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(SmsDevice).where(SmsDevice.id == device_id).values(
            last_seen_at=utcnow() - timedelta(minutes=5)))


async def _watch(ctx: Any) -> list[str]:
    """One pass of the worker's check with a 1-minute threshold; the devices it reported
    (other tests' phones idle for a minute included)."""
    async with ctx.sessions() as s, s.begin():
        quiet = await devices.mark_offline(s, now=utcnow(), after=timedelta(minutes=1))
        return [d.id for d in quiet]


async def _events(ctx: Any, merchant_id: int) -> list[dict[str, Any]]:
    async with ctx.sessions() as s:
        return [e.payload for e in await s.scalars(select(OutboxEvent).where(
            OutboxEvent.merchant_id == merchant_id, OutboxEvent.type == "device.offline")
            .order_by(OutboxEvent.created_at))]


async def test_a_quiet_phone_is_reported_once_until_it_is_heard_from(client: Any,
                                                                    ctx: Any) -> None:
    merchant = await create_merchant(ctx)
    hook = await client.post("/api/v1/webhook-endpoints", headers=merchant.auth(), json={
        "url": "http://127.0.0.1:9/hooks", "events": ["device.offline"]})
    assert hook.status_code == 201, hook.text
    phone = Phone(client)
    assert (await phone.pair(await pairing_code(ctx, merchant.id))).status_code == 201
    async with ctx.sessions() as s, s.begin():
        forwarder, _ = await devices.add_forwarder(s, TenantScope(merchant.id, "test"),
                                                   name="forwarder", now=utcnow())
        gone = Phone(client)
    assert (await gone.pair(await pairing_code(ctx, merchant.id))).status_code == 201
    async with ctx.sessions() as s, s.begin():
        row = await s.get(SmsDevice, gone.device_id)
        assert row is not None
        await devices.revoke(s, row, reason="lost", now=utcnow())
    for device_id in (phone.device_id, forwarder.id, gone.device_id):
        await _silence(ctx, device_id)

    before = _offline_alerts()
    first = await _watch(ctx)
    second = await _watch(ctx)  # a second pass reports nothing new
    assert phone.device_id in first and phone.device_id not in second
    assert forwarder.id not in first + second and gone.device_id not in first + second
    assert _offline_alerts() == before + len(first) + len(second)
    events = await _events(ctx, merchant.id)
    assert [(e["event"], e["device_id"], e["name"]) for e in events] == [
        ("device.offline", phone.device_id, "shop phone")]
    async with ctx.sessions() as s:
        alerts = list(await s.scalars(select(SmsAlert.message).where(
            SmsAlert.merchant_id == merchant.id, SmsAlert.kind == "offline")))
    assert len(alerts) == 1 and alerts[0].startswith(
        f"device shop phone ({phone.device_id}) has not been heard from since ")

    for _ in range(100):  # the event reaches the subscribed endpoint (bounded)
        async with ctx.sessions() as s:
            sent = await s.scalar(select(WebhookDelivery.event_type).where(
                WebhookDelivery.merchant_id == merchant.id))
        if sent:
            break
        if not await dispatch_events(ctx):
            await asyncio.sleep(0.05)
    assert sent == "device.offline"

    assert (await phone.heartbeat(battery=40)).status_code == 200
    assert phone.device_id not in await _watch(ctx)  # heard from: nothing to report
    assert len(await _events(ctx, merchant.id)) == 1
    await _silence(ctx, phone.device_id)
    assert phone.device_id in await _watch(ctx)
    assert len(await _events(ctx, merchant.id)) == 2
    assert await watch_devices(ctx) >= 0  # the worker's step itself (30-minute threshold)
