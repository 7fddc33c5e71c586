"""Migration 0016 (phones shared by the installation) on both engines: existing messages
take their brand as owner, the copy index moves to the owner (so two installation copies of
one SMS collide although they have no brand), and down removes only what has no brand."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import migration_engine

pytestmark = pytest.mark.slow

DEVICE = ("INSERT INTO sms_devices (id, merchant_id, mode, kind, name, spent_refresh, "
          "wallets, created_at) VALUES (:id, :m, 'test', 'forwarder', 'p', '[]', '[]', "
          "CURRENT_TIMESTAMP)")
MESSAGE = ("INSERT INTO sms_messages (id, {owner}merchant_id, mode, device_id, sender, body, "
           "body_digest, received_at, created_at, kind, status) VALUES (:id, {owner_value}:m, "
           "'test', :device, 'bKash', 'x', 'd1', '2026-12-01 10:00:00', CURRENT_TIMESTAMP, "
           "'unrecognised', 'review')")


async def test_owner_and_unassigned_messages(backend: str, tmp_path: Path) -> None:
    old_message = MESSAGE.format(owner="", owner_value="")
    new_message = MESSAGE.format(owner="owner_id, ", owner_value=":owner, ")
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0015", True)
            await conn.execute(text(
                "INSERT INTO merchants (id, slug, name, status, created_at) "
                "VALUES (7, 'old', 'Old shop', 'active', CURRENT_TIMESTAMP)"))
            await conn.execute(text(DEVICE), {"id": "dev_brand", "m": 7})
            await conn.execute(text(old_message), {"id": "sms_brand", "m": 7,
                                                   "device": "dev_brand"})
        async with engine.begin() as conn:
            await conn.run_sync(run, "head", True)
            assert (await conn.execute(text(
                "SELECT owner_id, merchant_id FROM sms_messages"))).one() == (7, 7)
            await conn.execute(text(DEVICE), {"id": "dev_shared", "m": None})
            await conn.execute(text(new_message), {"id": "sms_shared", "m": None, "owner": 0,
                                                   "device": "dev_shared"})
            await conn.execute(text(
                "INSERT INTO sms_alerts (merchant_id, mode, device_id, kind, message, "
                "details, created_at) VALUES (NULL, 'test', 'dev_shared', 'gap', 'm', '{}', "
                "CURRENT_TIMESTAMP)"))
        with pytest.raises(IntegrityError):  # the same SMS again from the installation
            async with engine.begin() as conn:
                await conn.execute(text(new_message), {"id": "sms_again", "m": None,
                                                       "owner": 0, "device": "dev_shared"})
        for target, up in (("0015", False), ("head", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT id FROM sms_devices"))).scalars().all() \
                == ["dev_brand"]
            assert (await conn.execute(text(
                "SELECT id, owner_id FROM sms_messages"))).all() == [("sms_brand", 7)]
            assert (await conn.execute(text("SELECT count(*) FROM sms_alerts"))).scalar() == 0
