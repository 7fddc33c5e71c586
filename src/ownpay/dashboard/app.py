"""The operator dashboard as its own sub-application at ``/admin``: its pages, its asset
bundle (``/admin/assets/…``), and its HTML error pages (403, 404, 400, 500)."""

from __future__ import annotations

import uuid
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ownpay.context import AppContext
from ownpay.dashboard import (
    account_pages,
    admin_pages,
    auth_pages,
    brand_theme_pages,
    brands_pages,
    compat_pages,
    customers_pages,
    domains_pages,
    gateways_pages,
    keys_pages,
    ledger_pages,
    links_pages,
    pages,
    payments_pages,
    refunds_pages,
    sms_pages,
    webhooks_pages,
)
from ownpay.dashboard.web import BadRequest, Denied, Gone, Redirect, render, see_other
from ownpay.web.pages import Pages
from ownpay.web.pages.assets import Assets
from ownpay.web.pages.forms import BadForm

log = structlog.get_logger("ownpay.dashboard")
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PREFIX = "/admin"


def _error(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"title": title, "message": message},
                  status_code=status)


def create_dashboard_app(ctx: AppContext | None = None) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    assets = Assets(prefix=f"{PREFIX}/assets")
    assets.add("dashboard", STATIC)
    app.state.pages = Pages(TEMPLATES, assets=assets, default_bundle="dashboard")
    if ctx is not None:
        app.state.ctx = ctx

    async def on_redirect(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Redirect)
        return see_other(exc.url)

    async def on_denied(request: Request, exc: Exception) -> Response:
        return _error(request, 403, "Not allowed",
                      "Your role does not allow this. Ask an owner or a manager.")

    async def on_gone(request: Request, exc: Exception) -> Response:
        return _error(request, 404, "Not found", "There is nothing here.")

    async def on_bad_request(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, BadRequest) else (
            "The form contained characters that cannot be accepted.")
        return _error(request, 400, "Please try again", message)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return await on_gone(request, exc)
        if exc.status_code == 405:
            return _error(request, 405, "Not allowed", "This page does not take that request.")
        return Response(status_code=exc.status_code, headers=dict(exc.headers or {}))

    async def on_invalid(request: Request, exc: Exception) -> Response:
        return _error(request, 400, "Please try again",
                      "Part of the address is not valid (for example a number that is not one).")

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        log.error("unhandled_error", request_id=request_id, path=request.url.path, exc_info=exc)
        response = _error(request, 500, "Something went wrong",
                          f"Nothing was changed. Reference: {request_id}")
        response.headers["X-Request-Id"] = request_id
        return response

    from fastapi.exceptions import RequestValidationError

    app.add_exception_handler(Redirect, on_redirect)
    app.add_exception_handler(Denied, on_denied)
    app.add_exception_handler(Gone, on_gone)
    app.add_exception_handler(BadRequest, on_bad_request)
    app.add_exception_handler(BadForm, on_bad_request)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    for module in (auth_pages, pages, account_pages, admin_pages, payments_pages,
                   refunds_pages, links_pages, customers_pages, domains_pages,
                   brands_pages, brand_theme_pages, gateways_pages, keys_pages,
                   webhooks_pages, ledger_pages, compat_pages, sms_pages):
        app.include_router(module.router)
    for mount in assets.mounts():
        app.routes.append(mount)
    return app


def serves(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")
