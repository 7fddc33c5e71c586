"""The customers of the brand and mode shown: the list (newest first, cursor pages, search
by e-mail or phone), a customer's page (details, payments with their refunds) and "Forget
customer" behind a confirmation page.

Every read and change goes through ``customers/service.py``: a search compares keyed
digests (the service's lookup, never a scan of decrypted values), so it finds exact
e-mails and phones only -- there is no name search, as the API has none.  Every role sees
that customers exist and what they paid; names, e-mails and phones are decrypted only for
``customers.view`` (owner, admin, manager, operator), and only they may search by them (a
search is a test of whether someone is a customer).  Forgetting needs
``customers.forget`` (owner, admin, manager) and a recent re-authentication (it cannot be
undone), and is audited as the API's is (``customer.forgotten``, by count, never PII)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit, money
from ownpay.customers import service
from ownpay.customers.models import Customer
from ownpay.dashboard.payments_pages import STATUS_LABELS
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import scope_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.errors import NotFound, ValidationFailed
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Forgetter = Annotated[Viewer, Depends(require(Permission.CUSTOMERS_FORGET, step_up=True))]
PAGE = 20
SEARCH_LIMIT = 254
STALE_PAGE = "That page no longer exists: start from the first."
NO_SEARCH = "Your role does not show customers' personal details, so it cannot search by them."


def _details(request: Request, viewer: Viewer, customer: Customer) -> dict[str, Any]:
    """What the page shows of a customer: the decrypted details only for customers.view."""
    shown: dict[str, Any] = {"c": customer, "forgotten": customer.forgotten_at is not None}
    if viewer.can(Permission.CUSTOMERS_VIEW):
        full = service.serialize(ctx_of(request).keyring, customer)
        shown.update(name=full["name"], email=full["email"], phone=full["phone"],
                     metadata=full["metadata"])
    return shown


def _search(q: str) -> dict[str, str]:
    """The service's lookup for what was typed: an e-mail if it has an @, else a phone."""
    return {"email": q} if "@" in q else {"phone": q}


@router.get("/admin/customers")
async def customers_list(request: Request, session: Session, viewer: Reader,
                         q: str | None = None, after: str | None = None) -> Response:
    scope, ctx = scope_of(viewer), ctx_of(request)
    q = (q or "").strip() or None
    may_search = viewer.can(Permission.CUSTOMERS_VIEW)
    error = search_error = None
    lookup: dict[str, str] = {}
    if q is not None and not may_search:
        search_error, q = NO_SEARCH, None
    elif q is not None and len(q) > SEARCH_LIMIT:
        search_error = f"Search by a whole e-mail or phone number (up to {SEARCH_LIMIT} " \
                       "characters)."
    elif q is not None:
        lookup = _search(q)
    rows: list[Customer] = []
    more = False
    if search_error is None:
        try:
            rows, more = await service.list_customers(
                session, ctx.keyring, scope, limit=PAGE, starting_after=after, **lookup)
        except ValidationFailed as exc:
            found = exc.errors or {}
            if "email" in found or "phone" in found:
                search_error = " ".join(found.get("email", []) + found.get("phone", []))
            else:
                error = STALE_PAGE
    query = "&q=" + quote(q, safe="") if q else ""
    return render(request, "customers.html", {
        "rows": [_details(request, viewer, c) for c in rows], "q": q or "",
        "may_search": may_search, "error": error, "search_error": search_error,
        "next_url": f"/admin/customers?after={rows[-1].id}{query}" if more and rows else None,
        "first_url": f"/admin/customers{'?q=' + quote(q, safe='') if q else ''}" if after
        else None,
    }, viewer=viewer, status_code=400 if search_error else 200)


async def _customer(session: Session, viewer: Viewer, customer_id: str) -> Customer:
    try:
        return await service.get_customer(session, scope_of(viewer), customer_id)
    except NotFound:
        raise Gone() from None


def _payment_row(p: PaymentIntent, refunds: list[Refund]) -> dict[str, Any]:
    return {"p": p, "label": STATUS_LABELS.get(p.status, p.status),
            "amount": money.format_plain(p.amount_minor, p.currency),
            "refunded": money.format_plain(p.refunded_minor or 0, p.currency)
            if p.refunded_minor else None,
            "refunds": [{"r": r, "amount": money.format_plain(r.amount_minor, r.currency)}
                        for r in refunds]}


@router.get("/admin/customers/{customer_id}")
async def customer_page(request: Request, session: Session, viewer: Reader,
                        customer_id: str, after: str | None = None,
                        forgotten: str | None = None) -> Response:
    customer = await _customer(session, viewer, customer_id)
    error = None
    try:
        payments, more, refunds = await service.payments_of(
            session, scope_of(viewer), customer.id, limit=PAGE, starting_after=after)
    except ValidationFailed:
        payments, more, refunds, error = [], False, {}, STALE_PAGE
    context = _details(request, viewer, customer)
    context.update({
        "error": error,
        "notice": "The customer is forgotten: their details are erased; the payments stay."
        if forgotten and customer.forgotten_at is not None else None,
        "may_view": viewer.can(Permission.CUSTOMERS_VIEW),
        "payments": [_payment_row(p, refunds.get(p.id, [])) for p in payments],
        "next_url": f"/admin/customers/{customer.id}?after={payments[-1].id}#payments-h"
        if more and payments else None,
        "first_url": f"/admin/customers/{customer.id}#payments-h" if after else None})
    return render(request, "customer.html", context, viewer=viewer)


@router.get("/admin/customers/{customer_id}/forget")
async def customer_forget_form(request: Request, session: Session, viewer: Forgetter,
                               customer_id: str) -> Response:
    customer = await _customer(session, viewer, customer_id)
    if customer.forgotten_at is not None:
        return see_other(f"/admin/customers/{customer.id}")
    return render(request, "customer_forget.html", _details(request, viewer, customer),
                  viewer=viewer)


@router.post("/admin/customers/{customer_id}/forget")
async def customer_forget(request: Request, session: Session, viewer: Forgetter,
                          customer_id: str) -> Response:
    scope = scope_of(viewer)
    try:
        customer, cleaned = await service.forget_customer(session, ctx_of(request).keyring, scope,
                                                          customer_id)
    except NotFound:
        raise Gone() from None
    if cleaned is not None:  # forgetting again changes nothing and records nothing
        await audit.record(session, viewer.actor, "customer.forgotten",
                           merchant_id=scope.merchant_id, mode=scope.mode,
                           object_type="customer", object_id=customer.id,
                           details={"payments_cleaned": cleaned})
    return see_other(f"/admin/customers/{customer.id}?forgotten=1")
