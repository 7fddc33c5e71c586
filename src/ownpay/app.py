"""``create_app(settings)``: the API, the hosted pages, middleware and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.responses import Response

from ownpay import __version__, metrics
from ownpay.backlog import refresh_backlog
from ownpay.checkout.app import checkout_not_found, create_checkout_app
from ownpay.checkout.app import serves as checkout_serves
from ownpay.compat.dialect import DialectRouting
from ownpay.compat.dialect import router as ownpay_shared_router
from ownpay.compat.ownpay_api import router as ownpay_api_router
from ownpay.compat.piprapay import router as piprapay_router
from ownpay.compat.uddoktapay import router as uddoktapay_router
from ownpay.config import Settings, load_settings
from ownpay.context import AppContext
from ownpay.customers.endpoints import router as customers_router
from ownpay.dashboard.app import create_dashboard_app
from ownpay.dashboard.app import serves as dashboard_serves
from ownpay.domains.endpoints import router as domains_router
from ownpay.domains.routing import BrandHosts
from ownpay.errors import (
    Forbidden,
    error_response,
    install_handlers,
    json_response,
)
from ownpay.invoices.endpoints import router as invoices_router
from ownpay.ledger.endpoints import router as ledger_router
from ownpay.links.endpoints import router as links_router
from ownpay.logs import configure_logging
from ownpay.payments.endpoints import router as payments_router
from ownpay.process import freeze_startup_heap
from ownpay.provider_events.endpoints import router as provider_webhooks_router
from ownpay.refunds.endpoints import router as refunds_router
from ownpay.sms.endpoints import router as sms_device_router
from ownpay.sms.operator_api import router as sms_router
from ownpay.transactions.endpoints import router as transactions_router
from ownpay.web.middleware import (
    BoundedBodies,
    CleanRequests,
    RequestIdMiddleware,
    SubApplications,
    answer_in_envelope,
)
from ownpay.web.openapi import error_code_tables
from ownpay.web.openapi import install as install_openapi
from ownpay.webhooks.endpoints import router as webhooks_router
from ownpay.webhooks.event_docs import events_router
from ownpay.worker import run_worker

DESCRIPTION = """
OwnPay's merchant API: create payment intents, follow them, refund them, and configure the
signed webhooks that tell your server what happened.

## Authentication

Send an API key as a bearer token: `Authorization: Bearer op_test_…` (test mode) or
`op_live_…` (live mode). A key only sees and creates data of its own mode and merchant;
another merchant's (or the other mode's) object is a plain `404`. Keys carry scopes —
`read`, `write`, `admin` — and every operation says which one it needs. Scopes do not imply
each other (least privilege): a key with only `admin` can configure webhooks and decide
offline payments but cannot list transactions; keys are created with all three unless you
choose. Too many requests answer `429 RATE_LIMITED` with `Retry-After`. In this page, use
**Authorize** to try operations with your key.

## Amounts, times, retries

Amounts are JSON numbers in major units (`99.99` USD; `500` JPY), never with more decimals
than the currency has. Timestamps are ISO 8601 in UTC with `Z`. Creating a payment intent
or a refund accepts an `Idempotency-Key` header: the same key and body within 48 hours
replays the first answer (marked `Idempotent-Replayed: true`). Every answer carries
`X-Request-Id`.

## Errors

Every error is one JSON envelope (schema `ErrorBody`):

```json
{"error": true, "message": "Validation failed.", "code": "VALIDATION_ERROR",
 "errors": {"amount": ["The amount field is required."], "currency": ["Invalid currency code."]}}
```

`code` is stable (branch on it); `message` is for people. `errors` is present only for
`VALIDATION_ERROR` and lists every bad field at once; `request_id` only for
`INTERNAL_ERROR`. Each operation lists the codes it can answer, with examples.

""" + error_code_tables()


class Health(BaseModel):
    """``GET /api/v1/health``."""

    status: Literal["ok", "unavailable"] = Field(
        description="`ok` (HTTP 200) or `unavailable` (HTTP 503).")
    database: Literal["ok", "unreachable"] = Field(
        description="Whether a `SELECT 1` on the database succeeded.")
    version: str = Field(description="The OwnPay version serving the request.",
                         examples=[__version__])


# The policy of an HTML answer that brought none of its own (pages bring theirs, with nonces).
def create_app(settings: Settings | None = None, *, ctx: AppContext | None = None) -> FastAPI:
    """The JSON API (with /docs, /metrics and provider webhooks), with the hosted checkout
    and the operator dashboard (``ownpay.dashboard.app``, at /admin) as sub-applications."""
    settings = settings or (ctx.settings if ctx else load_settings())
    configure_logging(settings)
    owns_ctx = ctx is None
    checkout_app = create_checkout_app(ctx)
    dashboard_app = create_dashboard_app(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = ctx or AppContext.create(settings)
        app.state.ctx = context
        checkout_app.state.ctx = context
        dashboard_app.state.ctx = context
        if owns_ctx:
            freeze_startup_heap()
        worker_task: asyncio.Task[None] | None = None
        stop = asyncio.Event()
        if settings.run_worker:
            worker_task = asyncio.create_task(run_worker(context, stop=stop))
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(worker_task, timeout=15)
            if owns_ctx:
                await context.close()

    app = FastAPI(
        title="OwnPay API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from vendored assets: no CDN at run time
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    if ctx is not None:
        app.state.ctx = ctx
    app.state.checkout_app = checkout_app
    app.state.dashboard_app = dashboard_app
    install_handlers(app)
    app.add_middleware(DialectRouting)
    app.add_middleware(SubApplications, subapps=[(checkout_serves, checkout_app),
                                                   (dashboard_serves, dashboard_app)])
    app.add_middleware(BrandHosts, ctx_of=lambda: app.state.ctx,
                       not_found=checkout_not_found(checkout_app))
    app.add_middleware(CleanRequests)
    app.add_middleware(BoundedBodies)
    app.add_middleware(RequestIdMiddleware, trusted_proxies=settings.trusted_proxies)

    @app.get(
        "/api/v1/health", tags=["Operations"], summary="Liveness and database check",
        response_model=Health,
        responses={
            200: {"content": {"application/json": {"example": {
                "status": "ok", "database": "ok", "version": __version__}}}},
            503: {"description": "The database does not answer.", "model": Health,
                  "content": {"application/json": {"example": {
                      "status": "unavailable", "database": "unreachable",
                      "version": __version__}}}},
        },
    )
    async def health(request: Request) -> Response:
        """No authentication. 200 when the database answers, 503 otherwise (for load
        balancers and uptime checks; it reveals nothing but the version)."""
        context: AppContext = request.app.state.ctx
        try:
            async with context.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return json_response(
                503, {"status": "unavailable", "database": "unreachable", "version": __version__}
            )
        return json_response(200, {"status": "ok", "database": "ok", "version": __version__})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus exposition; see ``ownpay.metrics`` for who may scrape."""
        context: AppContext = request.app.state.ctx
        client = request.client.host if request.client else None
        forwarded = any(name in request.headers for name in metrics.FORWARDING_HEADERS)
        if not metrics.scrape_allowed(
            context.settings.metrics_token, request.headers.get("authorization", ""), client,
            forwarded=forwarded,
        ):
            return error_response(Forbidden(
                "Metrics need OWNPAY_METRICS_TOKEN, or a loopback client that did not come "
                "through a proxy."))
        with contextlib.suppress(Exception):  # the gauges are a bonus; counters still answer
            await refresh_backlog(context)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    _mount_docs(app)
    for router in (payments_router, webhooks_router, refunds_router, ledger_router,
                   transactions_router, provider_webhooks_router, ownpay_api_router,
                   ownpay_shared_router, uddoktapay_router, piprapay_router, sms_router,
                   sms_device_router, links_router, domains_router, customers_router,
                   invoices_router):
        app.include_router(router)
    # A facade's refusals made before routing are in its envelope too.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        render = getattr(type(route), "facade_render", None)
        if isinstance(route, APIRoute) and render is not None:
            answer_in_envelope(route.path_regex, render)
    app.webhooks.include_router(events_router)  # the events we send: documentation only
    install_openapi(app)
    return app


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI at /docs with its JS/CSS served locally (from the fastapi-offline wheel)."""
    import base64
    import hashlib
    import re
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="OwnPay API",
        swagger_js_url="/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/docs-assets/swagger-ui.css",
        swagger_favicon_url="/docs-assets/favicon.png",
    )
    html = bytes(page.body)
    # Swagger UI starts from one inline script: allow exactly that script, by its hash.
    inline = re.findall(rb"<script>(.*?)</script>", html, flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code).digest()).decode() + "'"
        for code in inline)
    csp = ("default-src 'none'; " f"script-src 'self' {hashes}; "
           "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
           "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return Response(html, media_type="text/html",
                        headers={"Content-Security-Policy": csp, "X-Frame-Options": "DENY"})
