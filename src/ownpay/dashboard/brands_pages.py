"""Brands: the list, a new brand (owners and admins), and a brand's profile (name, logo,
colour, base URL, checkout language) through the merchants service.  The slug is fixed once
made: it is in every provider webhook URL (``merchants.service.update_merchant``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import errors_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.errors import ApiError, MerchantExists, ValidationFailed
from ownpay.merchants import service
from ownpay.merchants.models import Merchant
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Editor = Annotated[Viewer, Depends(require(Permission.BRANDS_EDIT))]
Creator = Annotated[Viewer, Depends(require(Permission.BRANDS_CREATE))]
EDITABLE = ("name", "logo_url", "primary_color", "base_url", "checkout_language")


def _list(request: Request, viewer: Viewer, *, errors: dict[str, list[str]] | None = None,
          values: dict[str, str] | None = None, notice: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "brands.html", {
        "brands": viewer.brands, "errors": errors or {}, "values": values or {},
        "notice": notice}, viewer=viewer, status_code=status_code)


@router.get("/admin/brands")
async def brands_list(request: Request, viewer: Editor, saved: str | None = None) -> Response:
    return _list(request, viewer, notice="Saved." if saved else None)


@router.post("/admin/brands")
async def brands_create(request: Request, session: Session, viewer: Creator) -> Response:
    form = viewer.form
    values = {k: form.get(k, "").strip() for k in ("slug", *EDITABLE)}
    try:
        made = await service.create_merchant(
            session, slug=values["slug"], name=values["name"],
            base_url=values["base_url"] or None, logo_url=values["logo_url"] or None,
            primary_color=values["primary_color"] or None,
            checkout_language=values["checkout_language"] or None)
    except MerchantExists as exc:
        return _list(request, viewer, errors={"slug": [exc.message]}, values=values,
                     status_code=400)
    except ApiError as exc:
        return _list(request, viewer, errors=errors_of(exc), values=values, status_code=400)
    await audit.record(session, viewer.actor, "brand.created", merchant_id=made.id,
                       object_type="merchant", object_id=made.slug,
                       details={k: {"before": None, "after": getattr(made, k)}
                                for k in ("slug", *EDITABLE)})
    return see_other(f"/admin/brands/{made.id}?created=1")


def _visible(viewer: Viewer, brand_id: int) -> Merchant:
    brand = next((b for b in viewer.brands if b.id == brand_id), None)
    if brand is None:
        raise Gone()
    return brand


def _edit(request: Request, viewer: Viewer, brand: Merchant, *, values: dict[str, Any],
          errors: dict[str, list[str]] | None = None, notice: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "brand_edit.html", {
        "brand": brand, "values": values, "errors": errors or {}, "notice": notice,
        "default_lifetime": ctx_of(request).settings.intent_lifetime},
        viewer=viewer, status_code=status_code)


def _current(brand: Merchant) -> dict[str, str]:
    shown = {k: getattr(brand, k) or "" for k in EDITABLE}
    shown["intent_lifetime"] = str(brand.intent_lifetime or "")
    return shown


def _typed(name: str, shown: str) -> Any:
    """A field's stored value from its form text ("" is no value)."""
    if not shown:
        return None
    return int(shown) if name == "intent_lifetime" else shown


def _lifetime(raw: str) -> int | None:
    """The form's seconds (empty: the installation's default); not a whole number → 400."""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7:  # not ² or ১২৩
        raise ValidationFailed(errors={"intent_lifetime": [
            "Give a whole number of seconds between 60 and 604800."]})
    return int(raw)


@router.get("/admin/brands/{brand_id}")
async def brand_page(request: Request, viewer: Editor, brand_id: int,
                     created: str | None = None) -> Response:
    brand = _visible(viewer, brand_id)
    return _edit(request, viewer, brand, values=_current(brand),
                 notice="The brand is created. Next: enable a gateway and create an API key."
                 if created else None)


@router.post("/admin/brands/{brand_id}")
async def brand_save(request: Request, session: Session, viewer: Editor,
                     brand_id: int) -> Response:
    brand = _visible(viewer, brand_id)
    values = {k: viewer.form.get(k, "").strip() for k in (*EDITABLE, "intent_lifetime")}
    before = _current(brand)
    values["checkout_language"] = values["checkout_language"] or before["checkout_language"]
    changes: dict[str, Any] = {k: v for k, v in values.items() if v != before[k]}
    if not changes:
        return _edit(request, viewer, brand, values=values, notice="Nothing changed.")
    try:
        if "intent_lifetime" in changes:
            changes["intent_lifetime"] = _lifetime(changes["intent_lifetime"])
        await service.update_merchant(session, brand, changes=changes)
    except ApiError as exc:
        return _edit(request, viewer, brand, values=values, errors=errors_of(exc),
                     status_code=400)
    await audit.record(session, viewer.actor, "brand.updated", merchant_id=brand.id,
                       object_type="merchant", object_id=brand.slug, details={
                           k: {"before": _typed(k, before[k]), "after": getattr(brand, k)}
                           for k in changes})
    return see_other("/admin/brands?saved=1")
