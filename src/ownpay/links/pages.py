"""The public page of a payment link, ``/pay/{slug}``, on the checkout's page kernel (the
brand's name, logo and colour; its CSP, CSRF and error pages).

* ``GET /pay/{slug}`` -- the title, description, image, price (or an amount field), the
  link's own fields, the customer's name, e-mail and phone, and the method when the link
  allows several; a link that takes no payment now says why (410).
* ``POST /pay/{slug}`` -- checked (``links/paying.py``), then the payment is created once
  per submission and the customer continues on the normal checkout (303).  Limited per
  client IP (``link_payments_ip``): every payment started holds a place under the cap
  until it expires.
* ``GET /pay/{slug}/thanks`` -- where the checkout returns a link payment without its own
  ``redirect_url``: the payment's status as the database has it (the query string only
  says which payment of this link).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from ownpay import i18n
from ownpay.checkout.forms import read_form
from ownpay.checkout.pages import payments_refused, render_public
from ownpay.db import utcnow
from ownpay.i18n import gettext as _
from ownpay.links import paying
from ownpay.links.models import PaymentLink
from ownpay.links.service import closed_because, holding, public_link
from ownpay.merchants.models import Merchant
from ownpay.payments import methods, states
from ownpay.payments.models import PaymentIntent
from ownpay.urls import same_origin
from ownpay.web.deps import app_context
from ownpay.web.pages import language
from ownpay.web.pages.csrf import transaction_token_ok

router = APIRouter(include_in_schema=False)


def _csrf_subject(link: PaymentLink) -> str:
    return f"link:{link.id}"


def _render(request: Request, link: PaymentLink | None, merchant: Merchant | None,
            template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """With ``link``: its image allowed and a form token bound to it."""
    return render_public(request, merchant, template, context, status_code=status_code,
                         csrf_subject=_csrf_subject(link) if link is not None else None,
                         images=(link.image_url,) if link is not None else ())


def _not_found(request: Request) -> Response:
    return _render(request, None, None, "not_found.html", {}, status_code=404)


def _view(link: PaymentLink) -> dict[str, Any]:
    def shown(minor: int | None) -> str | None:
        return None if minor is None else i18n.amount(minor, link.currency)

    return {"slug": link.slug, "title": link.title, "description": link.description,
            "image_url": link.image_url, "currency": link.currency,
            "price": shown(link.amount_minor), "min": shown(link.min_minor or 1),
            "max": shown(link.max_minor), "fields": list(link.fields or []),
            "mode": link.mode}


async def _offered(request: Request, link: PaymentLink) -> list[methods.Method]:
    """The brand's methods for the link's currency and price (for a customer's own amount:
    its least), those the link allows; the customer's amount is checked again on paying."""
    async with app_context(request).sessions() as session:
        found = await methods.available(session, link.scope,
                                        link.amount_minor or link.min_minor or 1, link.currency)
    allowed = set(link.gateways or [])
    return [m for m in found if not allowed or m.gateway in allowed]


async def _load(request: Request, slug: str) -> tuple[PaymentLink, Merchant] | None:
    async with app_context(request).sessions() as session:
        found = await public_link(session, slug)
    if found is not None:
        language.activate(request, found[1].checkout_language)
    return found


async def _closed(request: Request, link: PaymentLink) -> str | None:
    now = utcnow()
    if link.max_uses is None:
        return closed_because(link, now=now)
    async with app_context(request).sessions() as session:
        return closed_because(link, now=now, taken=await holding(session, link.id, now=now))


async def _open(request: Request,
                link: PaymentLink) -> tuple[str | None, list[methods.Method]]:
    """Why the link takes no payment now (None: it does), and the methods it offers."""
    why = await _closed(request, link)
    offered = await _offered(request, link) if why is None else []
    if why is None and not offered:
        why = _("This payment link cannot take payments right now.")
    return why, offered


def _form_page(request: Request, link: PaymentLink, merchant: Merchant,
               offered: list[methods.Method], *, values: dict[str, str] | None = None,
               errors: dict[str, list[str]] | None = None, status_code: int = 200) -> Response:
    return _render(request, link, merchant, "links/link.html", {
        "link": _view(link), "methods": offered, "values": values or {},
        "errors": errors or {}, "submission": (values or {}).get("submission")
        or paying.new_token()}, status_code=status_code)


@router.get("/pay/{slug}")
async def link_page(slug: str, request: Request) -> Response:
    found = await _load(request, slug)
    if found is None:
        return _not_found(request)
    link, merchant = found
    why, offered = await _open(request, link)
    if why is not None:
        return _render(request, None, merchant, "links/closed.html",
                       {"link": _view(link), "why": why}, status_code=410)
    return _form_page(request, link, merchant, offered)


@router.post("/pay/{slug}")
async def link_pay(slug: str, request: Request) -> Response:
    found = await _load(request, slug)
    if found is None:
        return _not_found(request)
    link, merchant = found
    ctx = app_context(request)
    refused = await payments_refused(request)
    if refused is not None:
        message, headers = refused
        response = _render(request, None, merchant, "links/closed.html", {
            "link": _view(link), "temporary": True, "why": message}, status_code=429)
        response.headers.update(headers)
        return response
    form = await read_form(request)
    if form is None:
        return _render(request, None, merchant, "links/closed.html", {
            "link": _view(link), "temporary": True, "why": _("The form is too large.")},
            status_code=413)
    if not transaction_token_ok(ctx.keyring, request, _csrf_subject(link),
                                form.get("csrf_token")):
        return _render(request, None, merchant, "links/closed.html", {
            "link": _view(link), "temporary": True,
            "why": _("This form has expired. Please open the link again.")}, status_code=403)
    why, offered = await _open(request, link)
    if why is not None:
        return _render(request, None, merchant, "links/closed.html",
                       {"link": _view(link), "why": why}, status_code=410)
    order, errors = paying.read_order(ctx, link, merchant, form, offered)
    if order is None:
        return _form_page(request, link, merchant, offered, values=form, errors=errors,
                          status_code=400)
    try:
        url = await paying.pay(ctx, link, merchant, order)
    except paying.LinkClosed as exc:
        return _render(request, None, merchant, "links/closed.html",
                       {"link": _view(link), "why": str(exc)}, status_code=409)
    # On to the checkout on the host the customer is on (the brand's domain or the main
    # address: both serve it): a redirect to another origin would also break the page's
    # CSP ``form-action 'self'``, which applies to where a form's answer redirects.
    return RedirectResponse(same_origin(url), status_code=303)


@router.get("/pay/{slug}/thanks")
async def link_thanks(slug: str, request: Request) -> Response:
    found = await _load(request, slug)
    if found is None:
        return _not_found(request)
    link, merchant = found
    txn = request.query_params.get("transaction_id", "")
    intent = None
    if txn.startswith("txn_") and len(txn) <= 24:
        async with app_context(request).sessions() as session:
            intent = await session.scalar(select(PaymentIntent).where(
                PaymentIntent.id == txn, PaymentIntent.link_id == link.id))
    paid = intent is not None and intent.status in (
        states.COMPLETED, states.PARTIALLY_REFUNDED, states.REFUNDED)
    return _render(request, None, merchant, "links/thanks.html", {
        "link": _view(link), "paid": paid,
        "waiting": intent is not None and intent.status in (
            states.PROCESSING, states.AWAITING_VERIFICATION),
        "payment": None if intent is None else {
            "id": intent.id, "amount": i18n.amount(intent.amount_minor, intent.currency)}})
