"""The public page of an invoice, ``/invoice/{token}``, on the checkout's page kernel (the
brand's name, logo and colour; its CSP, CSRF and error pages), and its PDF.

* ``GET /invoice/{token}`` -- the brand, number, status, lines, totals, due date and notes;
  an open invoice with something left to pay has a Pay button; a paid one says "Paid", a
  void or uncollectible one says it takes no payment.  A draft is not shown (404): it was
  never sent.  The checkout returns the customer here.
* ``POST /invoice/{token}/pay`` -- CSRF-checked, limited per client IP
  (``link_payments_ip``, shared with payment links), then the payment for what is left to
  pay is created once per submission (``invoices/paying.py``) and the customer continues on
  the normal checkout (303).
* ``GET /invoice/{token}.pdf`` -- the same invoice as a PDF (``invoices/pdf.py``).

The token is the only key: 256 random bits, compared by the database's unique index (a
lookup, not a secret comparison in Python); an unknown token is the checkout's 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ownpay import i18n, money
from ownpay.checkout.forms import read_form
from ownpay.checkout.pages import payments_refused, render_public
from ownpay.i18n import gettext as _
from ownpay.invoices import paying, pdf, service, states
from ownpay.invoices.models import Invoice
from ownpay.merchants.models import Merchant
from ownpay.payments import methods
from ownpay.urls import same_origin
from ownpay.web.client import forwarded_proto
from ownpay.web.deps import app_context
from ownpay.web.pages import language
from ownpay.web.pages.csrf import transaction_token_ok
from ownpay.web.pages.security import Csp, apply_security_headers

router = APIRouter(include_in_schema=False)


def _csrf_subject(invoice: Invoice) -> str:
    return f"invoice:{invoice.id}"


def _render(request: Request, invoice: Invoice | None, merchant: Merchant | None,
            template: str, context: dict[str, Any], *, status_code: int = 200,
            form: bool = False) -> Response:
    """With ``form``: a form token bound to ``invoice``."""
    subject = _csrf_subject(invoice) if invoice is not None and form else None
    return render_public(request, merchant, template, context, status_code=status_code,
                         csrf_subject=subject)


def _not_found(request: Request) -> Response:
    return _render(request, None, None, "not_found.html", {}, status_code=404)


def _view(invoice: Invoice) -> dict[str, Any]:
    c = invoice.currency
    found = service.figures(invoice)

    def shown(minor: int) -> str:
        return i18n.amount(minor, c)  # in the page's language (Bengali digits in Bangla)

    return {
        "token": invoice.token, "number": invoice.number, "status": invoice.status,
        "mode": invoice.mode, "currency": c, "customer_name": invoice.customer_name,
        "due_date": i18n.day(invoice.due_date) if invoice.due_date else None,
        "notes": invoice.notes,
        "lines": [{"description": line["description"],
                   "quantity": i18n.digits(str(line["quantity"])),
                   "unit_price": shown(money.parse_minor(line["unit_price"], c)),
                   "tax_rate": line.get("tax_rate"), "discount_rate": line.get("discount_rate"),
                   "net": shown(t.net_minor)}
                  for line, t in zip(invoice.lines, found.lines, strict=True)],
        "subtotal": shown(found.subtotal_minor),
        "discount": shown(found.discount_minor) if found.discount_minor else None,
        "line_tax": shown(found.line_tax_minor) if found.line_tax_minor else None,
        "tax": shown(found.tax_minor) if found.tax_minor else None,
        "tax_rate": invoice.tax_rate, "total": shown(invoice.total_minor),
        "paid": shown(invoice.amount_paid_minor) if invoice.amount_paid_minor else None,
        "due": shown(invoice.outstanding_minor),
    }


async def _load(request: Request, token: str) -> tuple[Invoice, Merchant] | None:
    async with app_context(request).sessions() as session:
        invoice = await service.public_invoice(session, token)
        if invoice is None:
            return None
        merchant = await session.get(Merchant, invoice.merchant_id)
    if merchant is None or merchant.status != "active":
        return None
    language.activate(request, merchant.checkout_language)  # before any word is composed
    return invoice, merchant


async def _offered(request: Request, invoice: Invoice) -> list[methods.Method]:
    if invoice.status != states.OPEN or invoice.outstanding_minor <= 0:
        return []
    async with app_context(request).sessions() as session:
        return await methods.available(session, invoice.scope, invoice.outstanding_minor,
                                       invoice.currency)


def _page(request: Request, invoice: Invoice, merchant: Merchant,
          offered: list[methods.Method], *, why: str | None = None,
          status_code: int = 200) -> Response:
    payable = bool(offered) and why is None
    return _render(request, invoice, merchant, "invoices/invoice.html", {
        "invoice": _view(invoice), "payable": payable, "why": why,
        "no_method": invoice.status == states.OPEN and invoice.outstanding_minor > 0
        and not offered, "pdf": pdf.available(), "submission": paying.new_token()
        if payable else None}, status_code=status_code, form=payable)


@router.get("/invoice/{token}.pdf")
async def invoice_pdf(token: str, request: Request) -> Response:
    found = await _load(request, token)
    if found is None or not pdf.available():
        return _not_found(request)
    invoice, merchant = found
    body = pdf.render(invoice, brand_name=merchant.name, figures=service.figures(invoice))
    response = Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{invoice.number}.pdf"',
        "Cache-Control": "no-store"})
    # The checkout's headers (CSP, nosniff, no referrer) on the PDF too.
    https = forwarded_proto(request.scope, app_context(request).settings.trusted_proxies) \
        == "https"
    apply_security_headers(response, Csp(), https=https)
    return response


@router.get("/invoice/{token}")
async def invoice_page(token: str, request: Request) -> Response:
    found = await _load(request, token)
    if found is None:
        return _not_found(request)
    invoice, merchant = found
    return _page(request, invoice, merchant, await _offered(request, invoice))


@router.post("/invoice/{token}/pay")
async def invoice_pay(token: str, request: Request) -> Response:
    found = await _load(request, token)
    if found is None:
        return _not_found(request)
    invoice, merchant = found
    ctx = app_context(request)
    refused = await payments_refused(request)
    if refused is not None:
        why, headers = refused
        response = _page(request, invoice, merchant, [], status_code=429, why=why)
        response.headers.update(headers)
        return response
    form = await read_form(request)
    if form is None:
        return _page(request, invoice, merchant, [], why=_("The form is too large."),
                     status_code=413)
    if not transaction_token_ok(ctx.keyring, request, _csrf_subject(invoice),
                                form.get("csrf_token")):
        return _page(request, invoice, merchant, [], status_code=403,
                     why=_("This form has expired. Please open the invoice again."))
    offered = await _offered(request, invoice)
    try:
        url = await paying.pay(ctx, invoice, merchant, offered, form.get("submission", ""))
    except paying.NotPayable as exc:
        return _page(request, invoice, merchant, [], why=str(exc), status_code=409)
    # On to the checkout on the host the customer is on (see links/pages.py).
    return RedirectResponse(same_origin(url), status_code=303)
