"""The hosted checkout as its own sub-application: HTML pages (with their own error pages),
the checkout's static assets, and the provider return routes.  ``ownpay.app`` hands it
every request under ``/checkout/``, ``/pay/`` (payment links, ``links/pages.py``),
``/assets/``, ``/checkout-assets/``, ``/brand-assets/`` (``branding/endpoints.py``) and
``/gateways/<slug>/callback/``."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import structlog
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ownpay import i18n
from ownpay.branding.endpoints import router as brand_assets
from ownpay.checkout.endpoints import router
from ownpay.checkout.forms import BadForm
from ownpay.checkout.pages import brand, build_assets, build_pages
from ownpay.context import AppContext
from ownpay.i18n import gettext as _
from ownpay.invoices.pages import router as invoice_pages
from ownpay.links.pages import router as link_pages
from ownpay.web.pages.security import Csp

log = structlog.get_logger("ownpay.checkout")


class OwnLanguage:
    """Each checkout request starts in English and its language ends with it
    (``i18n.scoped``), whatever ran before in the same context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with i18n.scoped():
            await self.app(scope, receive, send)


def create_checkout_app(ctx: AppContext | None = None) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(OwnLanguage)
    assets = build_assets()
    pages = build_pages(assets)
    app.state.pages = pages
    if ctx is not None:
        app.state.ctx = ctx

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return pages.render(request, "not_found.html", {"brand": brand(None)}, csp=Csp(),
                                status_code=404)
        return Response(status_code=exc.status_code, headers=dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        log.error("unhandled_error", request_id=request_id, path=request.url.path, exc_info=exc)
        response = pages.render(request, "error.html",
                                {"brand": brand(None), "request_id": request_id}, csp=Csp(),
                                status_code=500)
        response.headers["X-Request-Id"] = request_id
        return response

    async def on_bad_form(request: Request, exc: Exception) -> Response:
        return pages.render(request, "error.html", {
            "brand": brand(None),
            "message": _("The form contained characters that cannot be accepted (a NUL "
                         "character or invalid text). Please go back and try again.")},
            csp=Csp(), status_code=400)

    app.add_exception_handler(BadForm, on_bad_form)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    app.include_router(router)
    app.include_router(link_pages)
    app.include_router(brand_assets)
    app.include_router(invoice_pages)
    for mount in assets.mounts():
        app.routes.append(mount)
    return app


def checkout_not_found(app: FastAPI) -> Callable[[Request], Response]:
    """The checkout's own 404 page, for requests refused before they reach it (a brand
    domain's foreign payment, ``domains/routing.py``)."""
    def render(request: Request) -> Response:
        return app.state.pages.render(request, "not_found.html",  # type: ignore[no-any-return]
                                      {"brand": brand(None)}, csp=Csp(), status_code=404)
    return render


def serves(path: str) -> bool:
    """Whether a request path belongs to the checkout sub-application (payment links' and
    invoices' public pages included)."""
    if path.startswith(("/checkout/", "/assets/", "/checkout-assets/", "/pay/", "/invoice/",
                        "/brand-assets/")):
        return True
    parts = path.split("/", 4)  # "", "gateways", slug, "callback", rest
    return len(parts) == 5 and parts[1] == "gateways" and parts[3] == "callback"
