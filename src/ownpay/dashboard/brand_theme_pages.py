"""A brand's "Look & feel": colours (the button text checked for WCAG AA contrast), logo and
favicon uploads, support contact, footer text and custom CSS, through
``branding.service.update_theme`` (the one function ``ownpay merchants theme`` calls too).

The form is ``multipart/form-data`` (``require(..., uploads=True)``); the CSRF token, the
permission (``brands.edit``, as the brand's profile) and the brand's visibility are checked
as on every dashboard POST, and each change writes one audit row ``brand.theme_updated``
with what changed (assets by their SHA-256).  The whole request is bounded at 1 MiB
(``web/middleware.py``), so the largest image is uploaded on its own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit
from ownpay.branding import service, theme
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import errors_of
from ownpay.dashboard.web import Gone, Viewer, render, require, see_other
from ownpay.errors import ApiError
from ownpay.merchants.models import Merchant
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Editor = Annotated[Viewer, Depends(require(Permission.BRANDS_EDIT, uploads=True))]
TEXTS = ("primary_color", "accent_color", "button_text_color", "support_email",
         "support_phone", "support_url", "footer_text")


def _visible(viewer: Viewer, brand_id: int) -> Merchant:
    brand = next((b for b in viewer.brands if b.id == brand_id), None)
    if brand is None:
        raise Gone()
    return brand


def _current(brand: Merchant) -> dict[str, str]:
    stored = brand.theme or {}
    shown = {k: str(stored.get(k) or "") for k in TEXTS}
    shown["primary_color"] = brand.primary_color or ""
    return shown


def _page(request: Request, viewer: Viewer, brand: Merchant, *, values: dict[str, Any],
          errors: dict[str, list[str]] | None = None, notice: str | None = None,
          status_code: int = 200) -> Response:
    stored = brand.theme or {}
    return render(request, "brand_theme.html", {
        "brand": brand, "values": values, "errors": errors or {}, "notice": notice,
        "css": values.get("css", ""),
        "logo": theme.asset_url(stored["logo"], "logo") if stored.get("logo") else None,
        "favicon": theme.asset_url(stored["favicon"], "favicon")
        if stored.get("favicon") else None,
        "preview": theme.view(brand)}, viewer=viewer, status_code=status_code)


async def _stored_css(session: Session, brand: Merchant) -> str:
    sha = (brand.theme or {}).get("css")
    found = await service.asset(session, sha, "text/css") if sha else None
    return found.data.decode("utf-8") if found else ""


@router.get("/admin/brands/{brand_id}/theme")
async def theme_page(request: Request, session: Session, viewer: Editor, brand_id: int,
                     saved: str | None = None) -> Response:
    brand = _visible(viewer, brand_id)
    values: dict[str, Any] = {**_current(brand), "css": await _stored_css(session, brand)}
    return _page(request, viewer, brand, values=values, notice="Saved." if saved else None)


@router.post("/admin/brands/{brand_id}/theme")
async def theme_save(request: Request, session: Session, viewer: Editor,
                     brand_id: int) -> Response:
    brand = _visible(viewer, brand_id)
    form = viewer.form
    values: dict[str, Any] = {k: form.get(k, "").strip() for k in TEXTS}
    values["css"] = form.get("css", "")
    before = _current(brand)
    changes: dict[str, Any] = {k: v for k, v in values.items()
                               if k in TEXTS and v != before[k]}
    if values["css"].strip() != (await _stored_css(session, brand)).strip():
        changes["css"] = values["css"]
    for kind in ("logo", "favicon"):
        if kind in viewer.files:
            changes[kind] = viewer.files[kind]
        elif form.get(f"remove_{kind}") == "on" and (brand.theme or {}).get(kind):
            changes[kind] = None
    if not changes:
        return _page(request, viewer, brand, values=values, notice="Nothing changed.")
    try:
        changed = await service.update_theme(session, brand, changes=changes)
    except ApiError as exc:
        return _page(request, viewer, brand, values=values, errors=errors_of(exc),
                     status_code=400)
    if changed:
        await audit.record(session, viewer.actor, "brand.theme_updated",
                           merchant_id=brand.id, object_type="merchant",
                           object_id=brand.slug, details=changed)
    return see_other(f"/admin/brands/{brand.id}/theme?saved=1")
