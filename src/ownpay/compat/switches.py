"""The per-brand opt-in of the UddoktaPay and PipraPay facades (``compat_switches``).

Off by default: without an enabled row for the merchant, mode and API, the facade answers
the merchant's keys exactly as it answers a wrong key and changes nothing.  Switched by the
operator (``ownpay compat enable|disable``); read on every facade request (one indexed
lookup), so a ``disable`` takes effect at the next request in every process.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.compat.models import CompatSwitch
from ownpay.db import utcnow
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso

UDDOKTAPAY = "uddoktapay"
PIPRAPAY = "piprapay"
APIS = (UDDOKTAPAY, PIPRAPAY)


async def is_enabled(session: AsyncSession, scope: TenantScope, api: str) -> bool:
    found = await session.scalar(select(CompatSwitch.enabled).where(
        CompatSwitch.merchant_id == scope.merchant_id, CompatSwitch.mode == scope.mode,
        CompatSwitch.api == api))
    return bool(found)


async def set_enabled(session: AsyncSession, scope: TenantScope, api: str, *,
                      enabled: bool) -> CompatSwitch:
    """Turn the facade on or off for the merchant and mode (in the caller's transaction)."""
    if api not in APIS:
        raise ValueError(f"unknown API {api!r}: one of {', '.join(APIS)}")
    row = await session.scalar(select(CompatSwitch).where(
        CompatSwitch.merchant_id == scope.merchant_id, CompatSwitch.mode == scope.mode,
        CompatSwitch.api == api).with_for_update())
    now = utcnow()
    if row is None:
        row = CompatSwitch(merchant_id=scope.merchant_id, mode=scope.mode, api=api,
                           enabled=enabled, created_at=now, updated_at=now)
        session.add(row)
    elif row.enabled != enabled:
        row.enabled, row.updated_at = enabled, now
    await session.flush()
    return row


async def listing(session: AsyncSession, merchant_id: int) -> list[dict[str, Any]]:
    """Every API in both modes, switched on or not (no row: off)."""
    rows = {(r.api, r.mode): r for r in await session.scalars(
        select(CompatSwitch).where(CompatSwitch.merchant_id == merchant_id))}
    found = []
    for api in APIS:
        for mode in ("test", "live"):
            row = rows.get((api, mode))
            found.append({"api": api, "mode": mode, "enabled": bool(row and row.enabled),
                          "updated_at": iso(row.updated_at) if row else None})
    return found
