"""Compatibility APIs of the brand and mode shown: switch the UddoktaPay and PipraPay
facades on or off (the same switch as ``ownpay compat enable|disable``).  Switching one on
lets that product's weaker key-in-a-header scheme in, so it needs step-up and says why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit
from ownpay.compat import switches
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import scope_of
from ownpay.dashboard.web import Viewer, render, require, see_other
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Manager = Annotated[Viewer, Depends(require(Permission.GATEWAYS))]
Confirmed = Annotated[Viewer, Depends(require(Permission.GATEWAYS, step_up=True))]
NAMES = {switches.UDDOKTAPAY: "UddoktaPay", switches.PIPRAPAY: "PipraPay"}
HEADERS = {switches.UDDOKTAPAY: "RT-UDDOKTAPAY-API-KEY", switches.PIPRAPAY: "mh-piprapay-api-key"}


@router.get("/admin/compatibility")
async def compat_page(request: Request, session: Session, viewer: Manager,
                      done: str | None = None) -> Response:
    scope = scope_of(viewer)
    rows = [{"api": api, "name": NAMES[api], "header": HEADERS[api],
             "enabled": await switches.is_enabled(session, scope, api)}
            for api in switches.APIS]
    return render(request, "compat.html", {"rows": rows, "done": done}, viewer=viewer)


@router.post("/admin/compatibility")
async def compat_switch(request: Request, session: Session, viewer: Confirmed) -> Response:
    api, wanted = viewer.form.get("api", ""), viewer.form.get("enabled")
    if api not in switches.APIS or wanted not in ("on", "off"):
        return see_other("/admin/compatibility")
    scope = scope_of(viewer)
    before = await switches.is_enabled(session, scope, api)
    await switches.set_enabled(session, scope, api, enabled=wanted == "on")
    now_on = wanted == "on"
    if before != now_on:
        await audit.record(session, viewer.actor,
                           "compat.enabled" if now_on else "compat.disabled",
                           merchant_id=scope.merchant_id, mode=scope.mode,
                           object_type="compat_api", object_id=api,
                           details={"enabled": {"before": before, "after": now_on}})
    return see_other(f"/admin/compatibility?done={api}")
