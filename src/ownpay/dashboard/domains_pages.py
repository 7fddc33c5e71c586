"""The brand's own domains: the list (state, last check and its result, the primary one)
with the "Add domain" form, a domain's page (the DNS records to create, each with a copy
button, "Check now", "Make primary") and "Remove" behind a confirmation page.

Every read and change goes through ``domains/service.py``: the dashboard refuses exactly
what ``/api/v1/domains`` refuses, in the same words, and "Check now" is the worker's check
(:func:`ownpay.domains.service.verify`, the one writer of a domain's status).  Domains are
the brand's, not a mode's: both modes show the same list.  Every role reads;
``domains.manage`` (owner, admin) changes.  Changes are audited as the API's are
(``domain.added`` / ``domain.checked`` / ``domain.primary`` / ``domain.removed``).  No
step-up: a domain shows no secret (its token is meant for public DNS) and moves no money."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import brand_of, errors_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.domains import presenters, service
from ownpay.domains.models import BrandDomain
from ownpay.errors import ApiError, NotFound
from ownpay.web.deps import Session, unit_of_work

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Manager = Annotated[Viewer, Depends(require(Permission.DOMAINS))]
STATE_LABELS = {"pending": "Pending", "verified": "Verified", "suspended": "Suspended"}
NOTICES = {"added": "The domain is added: create its DNS records, then check it.",
           "primary": "This is now the brand's primary domain: new payment addresses use it."}


async def _domain(session: Session, viewer: Viewer, domain_id: str) -> BrandDomain:
    try:
        return await service.get_domain(session, brand_of(viewer).id, domain_id)
    except NotFound:
        raise Gone() from None


async def _record(session: Session, viewer: Viewer, action: str, row: BrandDomain,
                  details: dict[str, Any]) -> None:
    await audit.record(session, viewer.actor, action, merchant_id=row.merchant_id,
                       mode=viewer.mode, object_type="domain", object_id=row.id,
                       details=details)


def _shown(row: BrandDomain) -> dict[str, Any]:
    return {"d": row, "label": STATE_LABELS.get(row.status, row.status)}


async def _list(request: Request, session: Session, viewer: Viewer, *,
                values: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None, notice: str | None = None,
                status_code: int = 200) -> Response:
    rows = await service.list_domains(session, brand_of(viewer).id)
    return render(request, "domains.html", {
        "rows": [_shown(row) for row in rows], "values": values or {}, "errors": errors or {},
        "notice": notice, "limit": service.MAX_PER_BRAND}, viewer=viewer,
        status_code=status_code)


@router.get("/admin/domains")
async def domains_list(request: Request, session: Session, viewer: Reader,
                       removed: str | None = None) -> Response:
    return await _list(request, session, viewer,
                       notice="The domain is removed: the brand is no longer served there."
                       if removed else None)


@router.post("/admin/domains")
async def domain_add(request: Request, session: Session, viewer: Manager) -> Response:
    brand, ctx = brand_of(viewer), ctx_of(request)
    value = viewer.form.get("domain", "")
    try:
        row = await service.add_domain(session, brand.id, value, settings=ctx.settings)
    except ApiError as exc:
        return await _list(request, session, viewer, values={"domain": value},
                           errors=errors_of(exc, "domain"), status_code=400)
    await _record(session, viewer, "domain.added", row, {"domain": row.domain})
    return see_other(f"/admin/domains/{row.id}?done=added")


async def _page(request: Request, session: Session, viewer: Viewer, row: BrandDomain, *,
                notice: str | None = None, error: str | None = None,
                checked: bool = False, status_code: int = 200) -> Response:
    context = _shown(row)
    context.update({
        "records": presenters.dns_records(ctx_of(request).settings, row),
        "notice": notice, "error": error, "checked": checked})
    return render(request, "domain.html", context, viewer=viewer, status_code=status_code)


@router.get("/admin/domains/{domain_id}")
async def domain_page(request: Request, session: Session, viewer: Reader, domain_id: str,
                      done: str | None = None) -> Response:
    row = await _domain(session, viewer, domain_id)
    return await _page(request, session, viewer, row, notice=NOTICES.get(done or ""),
                       checked=done == "checked")


@router.post("/admin/domains/{domain_id}/check")
async def domain_check(request: Request, session: Session, viewer: Manager,
                       domain_id: str) -> Response:
    """The worker's check, now.  It asks DNS, so the request's transaction is committed
    first (none is held across the lookup); ``verify`` runs its own, and the audit row is
    written in a unit of its own after it."""
    ctx = ctx_of(request)
    row = await _domain(session, viewer, domain_id)
    await session.commit()
    try:
        row = await service.verify(ctx, row.merchant_id, row.id)
    except NotFound:  # removed while we asked DNS
        raise Gone() from None
    async with unit_of_work(ctx) as own:
        await _record(own, viewer, "domain.checked", row,
                      {"domain": row.domain, "status": row.status})
    return see_other(f"/admin/domains/{row.id}?done=checked#check-h")


@router.post("/admin/domains/{domain_id}/primary")
async def domain_primary(request: Request, session: Session, viewer: Manager,
                         domain_id: str) -> Response:
    row = await _domain(session, viewer, domain_id)
    try:
        row = await service.set_primary(session, row.merchant_id, row.id)
    except ApiError as exc:
        return await _page(request, session, viewer, row, error=exc.message, status_code=409)
    await _record(session, viewer, "domain.primary", row, {"domain": row.domain})
    service.forget_cached(ctx_of(request))
    return see_other(f"/admin/domains/{row.id}?done=primary")


@router.get("/admin/domains/{domain_id}/remove")
async def domain_remove_form(request: Request, session: Session, viewer: Manager,
                             domain_id: str) -> Response:
    row = await _domain(session, viewer, domain_id)
    return render(request, "domain_remove.html", {"d": row}, viewer=viewer)


@router.post("/admin/domains/{domain_id}/remove")
async def domain_remove(request: Request, session: Session, viewer: Manager,
                        domain_id: str) -> Response:
    row = await _domain(session, viewer, domain_id)
    try:
        row = await service.remove_domain(session, row.merchant_id, row.id)
    except NotFound:
        raise Gone() from None
    await _record(session, viewer, "domain.removed", row, {"domain": row.domain})
    service.forget_cached(ctx_of(request))
    return see_other("/admin/domains?removed=1")
