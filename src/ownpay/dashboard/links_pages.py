"""Payment links of the brand and mode shown: the list (on / off filter, cursor pages, each
link's public URL with a copy button), the "New link" form, and a link's page (its terms,
the edit form, turning it on or off, and the payments made on it).

Every read and change goes through ``links/service.py``, so the dashboard refuses exactly
what ``/api/v1/payment-links`` refuses, in the same words, shown beside each input
(``links_form.py`` translates the form).  Every role reads; ``links.manage`` (owner, admin,
manager, operator) changes.  Changes are audited as the API's are
(``payment_link.created`` / ``payment_link.updated``) in the same transaction.  No step-up:
a link shows no secret and moves no money by itself, as the payment actions need none."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit, money
from ownpay.dashboard import links_form
from ownpay.dashboard.payments_pages import STATUS_LABELS
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import brand_of, errors_of, scope_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.db import utcnow
from ownpay.errors import ApiError, NotFound, ValidationFailed
from ownpay.links import service, terms
from ownpay.links.models import PaymentLink
from ownpay.merchants.accounts import public_base_url
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Manager = Annotated[Viewer, Depends(require(Permission.LINKS))]
PAGE = 20
STATES = {"active": True, "inactive": False}


def _base(request: Request, viewer: Viewer) -> str:
    return public_base_url(ctx_of(request), brand_of(viewer).base_url)


def price_of(link: PaymentLink) -> str:
    if link.amount_minor is not None:
        return money.format_plain(link.amount_minor, link.currency)
    low = None if link.min_minor is None else money.to_major(link.min_minor, link.currency)
    high = None if link.max_minor is None else money.to_major(link.max_minor, link.currency)
    if low is not None and high is not None:
        return f"{low}–{high} {link.currency}"
    if low is not None:
        return f"at least {low} {link.currency}"
    if high is not None:
        return f"up to {high} {link.currency}"
    return f"any amount ({link.currency})"


def state_of(link: PaymentLink, now: datetime) -> tuple[str, str]:
    """(css name, label) of the link's state."""
    if not link.active:
        return "off", "Off"
    if link.expires_at is not None and link.expires_at <= now:
        return "expired", "Expired"
    return "on", "Active"


def _shown(link: PaymentLink, base: str, paid: int, now: datetime) -> dict[str, Any]:
    state, label = state_of(link, now)
    return {"link": link, "url": service.link_url(base, link), "price": price_of(link),
            "paid": paid, "state": state, "state_label": label}


async def _link(session: Session, viewer: Viewer, link_id: str) -> PaymentLink:
    try:
        return await service.get_link(session, scope_of(viewer), link_id)
    except NotFound:
        raise Gone() from None


async def _form_context(session: Session, viewer: Viewer, values: dict[str, str],
                        errors: dict[str, list[str]], *, link: PaymentLink | None = None,
                        more: bool = False) -> dict[str, Any]:
    offered = await service.offered_gateways(session, scope_of(viewer))
    known = {slug for slug, _ in offered}
    # A gateway the link allows that is off now stays listed, so it can be unticked.
    kept = [(g, f"{g} (turned off)") for g in (link.gateways if link else []) if g not in known]
    return {"values": values, "errors": links_form.errors_for_form(errors, values),
            "gateways": offered + kept, "rows": links_form.rows_shown(values, more),
            "field_types": terms.FIELD_TYPES, "max_options": terms.MAX_OPTIONS,
            "max_uses_limit": terms.MAX_USES}


# ---- the list ------------------------------------------------------------------------------


@router.get("/admin/links")
async def links_list(request: Request, session: Session, viewer: Reader,
                     state: str | None = None, after: str | None = None) -> Response:
    scope, now = scope_of(viewer), utcnow()
    state = state if state in STATES else None
    error = None
    try:
        rows, more = await service.list_links(session, scope, limit=PAGE, starting_after=after,
                                              active=STATES.get(state or ""))
    except ValidationFailed:
        rows, more, error = [], False, "That page no longer exists: start from the first."
    paid = await service.paid_counts(session, [link.id for link in rows])
    base = _base(request, viewer)
    query = f"&state={state}" if state else ""
    return render(request, "links.html", {
        "rows": [_shown(link, base, paid.get(link.id, 0), now) for link in rows],
        "state": state, "error": error,
        "next_url": f"/admin/links?after={rows[-1].id}{query}" if more and rows else None,
        "first_url": f"/admin/links{'?state=' + state if state else ''}" if after else None,
    }, viewer=viewer)


# ---- making one ----------------------------------------------------------------------------


async def _new_form(request: Request, session: Session, viewer: Viewer,
                    values: dict[str, str], errors: dict[str, list[str]], *,
                    more: bool = False, status_code: int = 200) -> Response:
    context = await _form_context(session, viewer, values, errors, more=more)
    return render(request, "link_new.html", context, viewer=viewer, status_code=status_code)


async def _refuse_missing_amount(session: Session, viewer: Viewer, ctx: Any,
                                 form: dict[str, str], body: dict[str, Any],
                                 link: PaymentLink | None = None) -> None:
    """A fixed price chosen but left empty is refused with the service's other findings
    (its checks run, nothing is written), so every problem is shown at once."""
    if not links_form.needs_amount(form):
        return
    errors = {"amount": [links_form.FIXED_NEEDS_AMOUNT]}
    try:
        await terms.check_terms(session, scope_of(viewer), body, settings=ctx.settings,
                                link=link, now=utcnow())
    except ValidationFailed as exc:
        errors = {**(exc.errors or {}), **errors}
    raise ValidationFailed(errors=errors)


@router.get("/admin/links/new")
async def link_new(request: Request, session: Session, viewer: Manager) -> Response:
    brand_of(viewer)
    return await _new_form(request, session, viewer,
                           {"price": links_form.FIXED, "active": "on"}, {})


@router.post("/admin/links")
async def link_create(request: Request, session: Session, viewer: Manager) -> Response:
    scope, ctx, form = scope_of(viewer), ctx_of(request), viewer.form
    if form.get("more_rows"):  # "More questions": the same form with more empty rows
        return await _new_form(request, session, viewer, dict(form), {}, more=True)
    body = links_form.create_body(form)
    try:
        await _refuse_missing_amount(session, viewer, ctx, form, body)
        link = await service.create_link(session, scope, body, settings=ctx.settings)
    except ApiError as exc:
        return await _new_form(request, session, viewer, dict(form), errors_of(exc),
                               status_code=400)
    shown = service.serialize(link, base_url=_base(request, viewer), paid=0)
    await audit.record(session, viewer.actor, "payment_link.created",
                       merchant_id=scope.merchant_id, mode=scope.mode,
                       object_type="payment_link", object_id=link.id,
                       details=service.audited(shown))
    return see_other(f"/admin/links/{link.id}?created=1")


# ---- one link ------------------------------------------------------------------------------


async def _page(request: Request, session: Session, viewer: Viewer, link: PaymentLink, *,
                values: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None, notice: str | None = None,
                after: str | None = None, more_rows: bool = False,
                status_code: int = 200) -> Response:
    scope, now = scope_of(viewer), utcnow()
    paid = (await service.paid_counts(session, [link.id])).get(link.id, 0)
    error = None
    try:
        payments, more = await service.payments_of(session, scope, link.id, limit=PAGE,
                                                    starting_after=after)
    except ValidationFailed:
        payments, more, error = [], False, "That page no longer exists: start from the first."
    context = await _form_context(session, viewer, values or links_form.values_of(link),
                                  errors or {}, link=link, more=more_rows)
    context.update(_shown(link, _base(request, viewer), paid, now))
    context.update({
        "notice": notice, "error": error, "holding": await service.holding(
            session, link.id, now=now),
        "closed": service.closed_because(link, now=now),
        "payments": [{"p": p, "label": STATUS_LABELS.get(p.status, p.status),
                      "amount": money.format_plain(p.amount_minor, p.currency)}
                     for p in payments],
        "next_url": f"/admin/links/{link.id}?after={payments[-1].id}#payments-h"
        if more and payments else None,
        "first_url": f"/admin/links/{link.id}#payments-h" if after else None})
    return render(request, "link.html", context, viewer=viewer, status_code=status_code)


@router.get("/admin/links/{link_id}")
async def link_page(request: Request, session: Session, viewer: Reader, link_id: str,
                    after: str | None = None, saved: str | None = None,
                    created: str | None = None, turned: str | None = None) -> Response:
    link = await _link(session, viewer, link_id)
    notice = ("The link is made: share its address." if created else "Saved." if saved
              else f"The link is turned {'on' if link.active else 'off'}." if turned else None)
    return await _page(request, session, viewer, link, notice=notice, after=after)


async def _change(request: Request, session: Session, viewer: Viewer, link: PaymentLink,
                  body: dict[str, Any]) -> None:
    scope, base = scope_of(viewer), _base(request, viewer)
    paid = (await service.paid_counts(session, [link.id])).get(link.id, 0)
    before = service.audited(service.serialize(link, base_url=base, paid=paid))
    link = await service.update_link(session, scope, link.id, body,
                                     settings=ctx_of(request).settings)
    after = service.audited(service.serialize(link, base_url=base, paid=paid))
    await audit.record(session, viewer.actor, "payment_link.updated",
                       merchant_id=scope.merchant_id, mode=scope.mode,
                       object_type="payment_link", object_id=link.id,
                       details=audit.changes(before, after))


@router.post("/admin/links/{link_id}")
async def link_save(request: Request, session: Session, viewer: Manager,
                    link_id: str) -> Response:
    link = await _link(session, viewer, link_id)
    form = viewer.form
    if form.get("more_rows"):
        return await _page(request, session, viewer, link, values=dict(form), more_rows=True)
    body = links_form.change_body(form, link)
    if not body:
        return await _page(request, session, viewer, link, values=dict(form),
                           notice="Nothing changed.")
    try:
        await _refuse_missing_amount(session, viewer, ctx_of(request), form, body, link)
        await _change(request, session, viewer, link, body)
    except ApiError as exc:
        return await _page(request, session, viewer, link, values=dict(form),
                           errors=errors_of(exc), status_code=400)
    return see_other(f"/admin/links/{link.id}?saved=1#main")  # not the form's #edit-h


@router.post("/admin/links/{link_id}/active")
async def link_turn(request: Request, session: Session, viewer: Manager,
                    link_id: str) -> Response:
    link = await _link(session, viewer, link_id)
    await _change(request, session, viewer, link, {"active": viewer.form.get("active") == "on"})
    return see_other(f"/admin/links/{link.id}?turned=1#main")
