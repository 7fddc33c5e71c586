"""The overview and the brand/mode switcher."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay.dashboard import overview
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.web import Gone, Viewer, render, require, safe_next, see_other
from ownpay.tenancy import TenantScope
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]


@router.get("/admin")
async def admin_root() -> Response:
    return see_other("/admin/")


@router.get("/admin/")
async def overview_page(request: Request, session: Session, viewer: Reader) -> Response:
    figures = None
    if viewer.merchant is not None:
        figures = await overview.build(session, TenantScope(viewer.merchant.id, viewer.mode))
    return render(request, "overview.html", {"figures": figures}, viewer=viewer)


@router.post("/admin/switch")
async def switch(request: Request, viewer: Reader) -> Response:
    """Show another brand (one the user may see) and/or the other mode."""
    form = viewer.form
    if "merchant" in form:
        chosen = next((b for b in viewer.brands if str(b.id) == form["merchant"]), None)
        if chosen is None:
            raise Gone()
        viewer.row.merchant_id = chosen.id
    if form.get("mode") in ("test", "live"):
        viewer.row.mode = form["mode"]
    return see_other(safe_next(form.get("next")))
