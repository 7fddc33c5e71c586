"""Hosted checkout pages at ``/checkout/{transaction_id}``.

Works without JavaScript for form-based gateways (sandbox, manual); ``checkout.js`` only
adds the countdown and status polling.  The amount and currency always come from the
database: nothing the browser sends can change them.

Size: the page and every action on it (pay, cancel, retry, the choice of method, the
provider's return by GET and by POST) share the page helpers here (rendering with the CSRF
cookie and CSP, the rate limit, the refusal redirect); split by action, each would import
them all back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ownpay import i18n
from ownpay.branding import theme
from ownpay.checkout import outcomes, service
from ownpay.checkout.forms import read_form
from ownpay.checkout.pages import brand, gateway_template
from ownpay.db import utcnow
from ownpay.errors import DuplicateProviderTransaction, GatewayNotFound, json_response
from ownpay.gateways.base import CheckoutView, FormError, GatewayError
from ownpay.i18n import gettext as _
from ownpay.payments import states
from ownpay.payments.service import ORDER_ALREADY_PAID_REASON
from ownpay.timefmt import iso
from ownpay.web.client import client_ip, forwarded_proto
from ownpay.web.deps import app_context as _ctx
from ownpay.web.pages import Pages, flash, language
from ownpay.web.pages.csrf import CHECKOUT_COOKIE, TransactionCsrf, transaction_token_ok
from ownpay.web.pages.security import Csp

log = structlog.get_logger("ownpay.checkout")
router = APIRouter(include_in_schema=False)


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _not_found(request: Request) -> Response:
    return _pages(request).render(request, "not_found.html", {"brand": brand(None)},
                                  csp=Csp(), status_code=404)


async def _load(request: Request, transaction_id: str, *,
                expire: bool = True) -> service.Loaded:
    """The payment (``service.load``), and this request's language: the customer's choice,
    else the brand's (``web/pages/language.py``), before any message is composed."""
    loaded = await service.load(_ctx(request), transaction_id, expire=expire)
    language.activate(request, loaded.merchant.checkout_language)
    return loaded


def _translated(errors: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    """Form errors in the customer's language (a gateway's own messages are in the
    catalogue through ``i18n.N_``; one that is not stays as the gateway wrote it)."""
    if errors is None:
        return None
    return {field: [_(m) for m in messages] for field, messages in errors.items()}


def _typed_digits(form: dict[str, str]) -> dict[str, str]:
    """What the customer typed, with Bengali digits (০-৯) read as 0-9: a TrxID, a phone
    number or an amount typed on a Bangla keyboard is the same as in ASCII."""
    return {k: v if k == "csrf_token" else i18n.ascii_digits(v) for k, v in form.items()}


def _page_context(loaded: service.Loaded, **extra: Any) -> dict[str, Any]:
    intent, merchant = loaded.intent, loaded.merchant
    return {
        "merchant": {"name": merchant.name, "logo_url": theme.logo_src(merchant)},
        "brand": theme.view(merchant),
        "payment": {
            "id": intent.id,
            "amount": i18n.amount(intent.amount_minor, intent.currency),
            "currency": intent.currency,
            "description": intent.description,
            "order_id": intent.order_id,
            "status": intent.status,
            "mode": intent.mode,
            "expires_at": iso(intent.expires_at),
            "expires_utc": i18n.date_parts(intent.expires_at),
            "failure_reason": intent.failure_reason,
            "submission": intent.submission or {},
        },
        "gateway_name": loaded.method_name,
        "return_url": service.return_url_for(intent),
        "cancel_url": service.cancel_url_for(intent),
        "payable": service.is_payable(intent),
        "retry_possible": intent.status == states.FAILED and intent.expires_at > utcnow(),
        **extra,
    }


def _page(
    request: Request,
    loaded: service.Loaded,
    template: str,
    *,
    status_code: int = 200,
    view: CheckoutView | None = None,
    **extra: Any,
) -> Response:
    intent = loaded.intent
    ctx = _ctx(request)
    https = forwarded_proto(request.scope, ctx.settings.trusted_proxies) == "https"
    csrf = TransactionCsrf(ctx.keyring, request, intent.id, https=https)
    csp = Csp().allow_forms(intent.return_url, intent.cancel_url)
    csp.allow_images(loaded.merchant.logo_url)
    if view is not None:
        csp.allow_forms(view.redirect_url, *view.form_origins)
        csp.allow_scripts(*view.script_origins)
    context = _page_context(loaded, view=view, csrf_token=csrf.token, **extra)
    if view is not None and view.template:
        context["view_template"] = gateway_template(intent.gateway, view.template)
    return _pages(request).render(request, template, context, csp=csp, https=https,
                                  status_code=status_code, after=csrf.set_cookie)


async def _status_page(request: Request, loaded: service.Loaded) -> Response:
    intent = loaded.intent
    extra: dict[str, Any] = {}
    names = {"merchant_name": loaded.merchant.name, "order_id": intent.order_id}
    if intent.status == states.CANCELLED:
        last = await service.last_change(_ctx(request), intent)
        reason = last.reason if last else None
        extra["order_already_paid"] = (reason or "").startswith(ORDER_ALREADY_PAID_REASON)
        extra["told"] = outcomes.cancelled(loaded.adapter, **names)
    elif intent.status == states.FAILED:
        last = await service.last_change(_ctx(request), intent)
        extra["told"] = outcomes.failed(loaded.adapter, failure_reason=intent.failure_reason,
                                        last=last, **names)
    return _page(request, loaded, "status.html", **extra)


@router.get("/checkout/{transaction_id}")
async def checkout_page(transaction_id: str, request: Request) -> Response:
    ctx = _ctx(request)
    try:
        loaded = await _load(request, transaction_id)
    except service.CheckoutNotFound:
        return _not_found(request)
    if service.awaits_method(loaded.intent):
        return await _chooser(request, loaded)
    if not service.is_payable(loaded.intent) or loaded.adapter is None:
        response = await _status_page(request, loaded)
        flash.clear(request, response, path=_flash_path(transaction_id))
        return response
    try:
        view = await service.start(ctx, loaded)
    except GatewayNotFound:
        return _page(request, loaded, "status.html", status_code=503,
                     notice=_("This payment method is not available right now. "
                            "Please contact the merchant."))
    except GatewayError as exc:
        log.warning("gateway_unavailable", payment_id=transaction_id, error=str(exc))
        return _page(request, loaded, "status.html", status_code=503, temporary_error=True,
                     notice=_("The payment provider is temporarily unavailable. "
                            "Please try again in a moment."))
    if view.redirect_url:
        return RedirectResponse(view.redirect_url, status_code=303)
    refused = flash.take(request, ctx.keyring, scope=_flash_scope(request, transaction_id))
    response = _page(request, loaded, "pay.html", view=view,
                     form_errors=_translated(refused.errors) if refused else None,
                     form_values=refused.values if refused else None)
    flash.clear(request, response, path=_flash_path(transaction_id))
    return response


async def _chooser(request: Request, loaded: service.Loaded, *, status_code: int = 200,
                   refused: bool = False) -> Response:
    """The brand's methods that can take this payment, for the customer to pick one."""
    offered = await service.offered_methods(_ctx(request), loaded.intent)
    if not offered:
        return _page(request, loaded, "status.html", status_code=503,
                     notice=_("No payment method is available for this payment right now. "
                            "Please contact the merchant."))
    return _page(request, loaded, "choose.html", status_code=status_code, methods=offered,
                 method_refused=refused)


@router.post("/checkout/{transaction_id}/method")
async def choose_method(transaction_id: str, request: Request) -> Response:
    """The customer's choice of method for a payment created without one."""
    ctx = _ctx(request)
    try:
        loaded = await _load(request, transaction_id)
    except service.CheckoutNotFound:
        return _not_found(request)
    if (too_fast := await _too_fast(request, loaded)) is not None:
        return too_fast
    form = await read_form(request)
    if form is None:
        return _page(request, loaded, "status.html", status_code=413,
                     notice=_("The form is too large."))
    if not transaction_token_ok(ctx.keyring, request, transaction_id, form.get("csrf_token")):
        return _forbidden(request, loaded)
    if not service.awaits_method(loaded.intent):
        return RedirectResponse(f"/checkout/{transaction_id}", status_code=303)
    if not await service.choose_method(ctx, loaded.intent, form.get("gateway") or ""):
        return await _chooser(request, loaded, status_code=422, refused=True)
    return RedirectResponse(f"/checkout/{transaction_id}", status_code=303)


def _flash_path(transaction_id: str) -> str:
    return f"/checkout/{transaction_id}"


def _flash_scope(request: Request, transaction_id: str) -> str:
    """A refused form's flash is for this payment in this browser (its CSRF cookie)."""
    return f"checkout:{transaction_id}:{request.cookies.get(CHECKOUT_COOKIE, '')}"


def _refused(request: Request, loaded: service.Loaded, errors: dict[str, list[str]],
             form: dict[str, str]) -> Response:
    """Redirect after a refused form: back to the payment's page (GET), which shows the
    errors and the values from a flash -- a refresh there never re-posts the form."""
    ctx = _ctx(request)
    txn = loaded.intent.id
    response = RedirectResponse(f"/checkout/{txn}", status_code=303)
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    https = forwarded_proto(request.scope, ctx.settings.trusted_proxies) == "https"
    flash.put(response, ctx.keyring, flash.Flash(errors=errors, values=values),
              scope=_flash_scope(request, txn), path=_flash_path(txn), https=https)
    return response


async def _too_fast(request: Request, loaded: service.Loaded) -> Response | None:
    """Checkout submissions are limited per client IP and per payment (guessing offline
    transaction ids, or hammering a provider through our page, is not free)."""
    ctx = _ctx(request)
    ip = client_ip(request.scope, ctx.settings.trusted_proxies)
    refused = (await ctx.rate_limiter.hit("checkout_ip", ip)
               or await ctx.rate_limiter.hit("checkout_payment", loaded.intent.id))
    if refused is None:
        return None
    response = _page(request, loaded, "status.html", status_code=429, temporary_error=True,
                     notice=_("Too many attempts in a short time. Please wait "
                              "%(seconds)s seconds, then try again.")
                     % {"seconds": refused.reset_after})
    response.headers.update(refused.headers())
    return response


def _forbidden(request: Request, loaded: service.Loaded) -> Response:
    return _page(request, loaded, "status.html", status_code=403,
                 notice=_("Your session expired. Please reload the page and try again."))


def _after_action(loaded: service.Loaded, intent: Any) -> Response:
    """Where the customer goes after acting: back to the merchant when it is over."""
    if intent.status == states.COMPLETED:
        return RedirectResponse(service.return_url_for(intent), status_code=303)
    if intent.status == states.CANCELLED:
        return RedirectResponse(service.cancel_url_for(intent), status_code=303)
    return RedirectResponse(f"/checkout/{intent.id}", status_code=303)


@router.get("/checkout/{transaction_id}/back")
async def return_page(transaction_id: str, request: Request) -> Response:
    """Back to the merchant with a posted form, for a payment created with ``return_type``
    POST (UddoktaPay's and PipraPay's clients read ``invoice_id`` / ``pp_id`` from the form).
    A payment still open goes to its page; one that returns by GET is redirected."""
    try:
        loaded = await _load(request, transaction_id)
    except service.CheckoutNotFound:
        return _not_found(request)
    intent = loaded.intent
    if intent.status in (states.PENDING, states.PROCESSING):
        return RedirectResponse(f"/checkout/{intent.id}", status_code=303)
    if intent.return_method != service.POST:
        return RedirectResponse(service.return_url_for(intent), status_code=303)
    return _page(request, loaded, "return.html", return_action=intent.return_url,
                 return_fields=service.result_params(intent, intent.status))


@router.post("/checkout/{transaction_id}/pay")
async def pay(transaction_id: str, request: Request) -> Response:
    ctx = _ctx(request)
    try:
        loaded = await _load(request, transaction_id)
    except service.CheckoutNotFound:
        return _not_found(request)
    if (too_fast := await _too_fast(request, loaded)) is not None:
        return too_fast
    form = await read_form(request)
    if form is None:
        return _page(request, loaded, "status.html", status_code=413,
                     notice=_("The form is too large."))
    if not transaction_token_ok(ctx.keyring, request, transaction_id, form.get("csrf_token")):
        return _forbidden(request, loaded)
    if not service.is_payable(loaded.intent) or loaded.adapter is None:
        return RedirectResponse(f"/checkout/{transaction_id}", status_code=303)
    form = _typed_digits(form)
    try:
        intent, result = await service.submit(ctx, loaded, form)
    except FormError as exc:
        return _refused(request, loaded, exc.errors, form)
    except DuplicateProviderTransaction:
        # errors.py's message, in the customer's language.
        return _refused(request, loaded, {"provider_txn_id": [_(
            "This transaction ID has already been used for another payment.")]}, form)
    except (GatewayError, GatewayNotFound) as exc:
        log.warning("gateway_unavailable", payment_id=transaction_id, error=str(exc))
        return _page(request, loaded, "status.html", status_code=503, temporary_error=True,
                     notice=_("The payment provider is temporarily unavailable. "
                            "Nothing was charged; please try again."))
    if result.redirect_url and intent.status == states.PENDING:
        return RedirectResponse(result.redirect_url, status_code=303)
    return _after_action(loaded, intent)


@router.post("/checkout/{transaction_id}/cancel")
async def cancel(transaction_id: str, request: Request) -> Response:
    ctx = _ctx(request)
    try:
        loaded = await _load(request, transaction_id)
    except service.CheckoutNotFound:
        return _not_found(request)
    if (too_fast := await _too_fast(request, loaded)) is not None:
        return too_fast
    form = await read_form(request) or {}
    if not transaction_token_ok(ctx.keyring, request, transaction_id, form.get("csrf_token")):
        return _forbidden(request, loaded)
    intent = await service.cancel(ctx, loaded)
    return _after_action(loaded, intent)


@router.post("/checkout/{transaction_id}/retry")
async def retry(transaction_id: str, request: Request) -> Response:
    ctx = _ctx(request)
    try:
        loaded = await _load(request, transaction_id)
    except service.CheckoutNotFound:
        return _not_found(request)
    if (too_fast := await _too_fast(request, loaded)) is not None:
        return too_fast
    form = await read_form(request) or {}
    if not transaction_token_ok(ctx.keyring, request, transaction_id, form.get("csrf_token")):
        return _forbidden(request, loaded)
    await service.retry(ctx, loaded)
    return RedirectResponse(f"/checkout/{transaction_id}", status_code=303)


@router.get("/checkout/{transaction_id}/status")
async def status(transaction_id: str, request: Request) -> Response:
    try:
        loaded = await _load(request, transaction_id)
    except service.CheckoutNotFound:
        return json_response(404, {"error": True, "message": "Not found.", "code": "NOT_FOUND"},
                             {"Cache-Control": "no-store"})
    return json_response(200, service.status_json(loaded.intent), {"Cache-Control": "no-store"})


@router.get("/checkout/{transaction_id}/return")
@router.get("/gateways/{gateway}/callback/{transaction_id}")
@router.get("/gateways/{gateway}/callback/{transaction_id}/{return_token}")
async def provider_return(transaction_id: str, request: Request, gateway: str | None = None,
                          return_token: str | None = None) -> Response:
    """The customer's browser comes back from a provider: verify with the provider.

    An adapter may put an opaque ``return_token`` after the transaction id of the return
    URL it gives its provider (e.g. a MAC only it can make); it reaches the adapter's
    ``verify_return`` as the ``return_token`` parameter, never from the query string."""
    loaded = await _returning(request, transaction_id, gateway)
    if isinstance(loaded, Response):
        return loaded
    params = {k: v for k, v in request.query_params.items() if k != "return_token"}
    return await _verify_return(request, loaded, return_token, params)


@router.post("/gateways/{gateway}/callback/{transaction_id}")
@router.post("/gateways/{gateway}/callback/{transaction_id}/{return_token}")
async def provider_return_by_post(transaction_id: str, gateway: str, request: Request,
                                  return_token: str | None = None) -> Response:
    """The same return, posted by a provider's auto-submitting form (SSLCommerz, aamarPay,
    …): only for a gateway that declares ``returns_by_post``.  It carries no CSRF token (the
    provider's page cannot have one) and needs none: the fields are hints passed to
    ``verify_return``, which asks the provider; once the payment is settled the answer is a
    redirect (303).  Query-string fields count too; the form's win.
    Limited like the checkout's own forms (per client IP and per payment)."""
    loaded = await _returning(request, transaction_id, gateway)
    if isinstance(loaded, Response):
        return loaded
    if loaded.adapter is None or not loaded.adapter.returns_by_post:
        return _not_found(request)
    if (too_fast := await _too_fast(request, loaded)) is not None:
        return too_fast
    form = await read_form(request)  # BadForm: the checkout's 400 page (checkout/app.py)
    if form is None:
        return _page(request, loaded, "status.html", status_code=413,
                     notice=_("The payment provider sent back a form that is too large. "
                            "If you were charged, it will be confirmed automatically."))
    params = {k: v for k, v in request.query_params.items() if k != "return_token"}
    params.update({k: v for k, v in form.items() if k != "return_token"})
    return await _verify_return(request, loaded, return_token, params)


async def _returning(request: Request, transaction_id: str, gateway: str | None
                     ) -> service.Loaded | Response:
    """The payment a provider sends the customer back to, or the 404 page: unknown, or the
    return names another gateway than the payment's."""
    try:
        loaded = await _load(request, transaction_id, expire=False)
    except service.CheckoutNotFound:
        return _not_found(request)
    if loaded.adapter is None or (gateway is not None and gateway != loaded.intent.gateway):
        return _not_found(request)
    return loaded


async def _verify_return(request: Request, loaded: service.Loaded, return_token: str | None,
                         params: dict[str, str]) -> Response:
    ctx = _ctx(request)
    transaction_id = loaded.intent.id
    if loaded.intent.status not in (states.PENDING, states.PROCESSING):
        return _after_action(loaded, loaded.intent)
    try:
        if return_token is not None:
            params["return_token"] = return_token
        intent, result = await service.verify_return(ctx, loaded, params)
    except (GatewayError, GatewayNotFound) as exc:
        log.warning("gateway_unavailable", payment_id=transaction_id, error=str(exc))
        return _page(request, loaded, "status.html", status_code=503, temporary_error=True,
                     notice=_("We could not confirm your payment with the provider yet. "
                            "If you were charged, it will be confirmed automatically."))
    if (intent.status == states.PENDING and result.customer_message
            and service.is_payable(intent)):
        # Back on our page with the provider's word (e.g. cancelled at bKash): try again.
        # Also after a POST return: no redirect with a flash, since the provider's
        # cross-site post carries none of our (SameSite=Lax) cookies to bind one to; a
        # refresh posts the provider's fields again, which only asks the provider again.
        fresh = dataclasses.replace(loaded, intent=intent)
        try:
            view = await service.start(ctx, fresh)
        except (GatewayError, GatewayNotFound) as exc:
            log.warning("gateway_unavailable", payment_id=transaction_id, error=str(exc))
            return _page(request, fresh, "status.html", status_code=503, temporary_error=True,
                         notice=_(result.customer_message) + " " + _(
                             "The payment provider is temporarily unavailable; please try "
                             "again in a moment."))
        return _page(request, fresh, "pay.html", view=view,
                     form_errors=_translated({"provider": [result.customer_message]}))
    return _after_action(loaded, intent)
