"""``create_app(settings)``: the API, the hosted pages, middleware and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ownpay import __version__, jsoncodec, metrics
from ownpay.backlog import refresh_backlog
from ownpay.checkout.app import create_checkout_app
from ownpay.checkout.app import serves as checkout_serves
from ownpay.config import Settings, load_settings
from ownpay.context import AppContext
from ownpay.errors import (
    ApiError,
    Forbidden,
    PayloadTooLarge,
    ValidationFailed,
    error_response,
    install_handlers,
    json_response,
)
from ownpay.ledger.endpoints import router as ledger_router
from ownpay.logs import configure_logging
from ownpay.payments.endpoints import router as payments_router
from ownpay.process import freeze_startup_heap
from ownpay.provider_events.endpoints import router as provider_webhooks_router
from ownpay.refunds.endpoints import router as refunds_router
from ownpay.transactions.endpoints import router as transactions_router
from ownpay.web.client import forwarded_proto
from ownpay.web.openapi import error_code_tables
from ownpay.web.openapi import install as install_openapi
from ownpay.web.pages.security import HSTS
from ownpay.webhooks.endpoints import events_router
from ownpay.webhooks.endpoints import router as webhooks_router
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
FALLBACK_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class RequestIdMiddleware:
    """Give every request an id (``X-Request-Id``, echoed when the caller sent a sane one),
    mark API answers ``no-store``, and put the security headers on every answer of every
    surface (API, checkout, docs, metrics, errors): ``X-Content-Type-Options: nosniff``,
    ``Referrer-Policy``, HSTS when the client came over HTTPS (``X-Forwarded-Proto`` only
    from a trusted proxy), and a Content-Security-Policy on HTML that set none itself.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs every request through
    an extra task and memory streams, which cost more CPU than creating a payment intent.
    """

    def __init__(self, app: ASGIApp, *, trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not (0 < len(rid) <= 64 and rid.replace("-", "").isalnum()):
            rid = uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        is_api = scope["path"].startswith("/api/")
        started = time.perf_counter()
        answered = False

        async def send_with_headers(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                metrics.observe_request(scope, message["status"], started)
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = rid
                if is_api:
                    headers.setdefault("Cache-Control", "no-store")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if forwarded_proto(scope, self.trusted_proxies) == "https":
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if (headers.get("content-type", "").startswith("text/html")
                        and "content-security-policy" not in headers):
                    headers["Content-Security-Policy"] = FALLBACK_CSP
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not answered:  # the outer error handler answers 500
                metrics.observe_request(scope, 500, started)
            raise


def refusal(scope: Scope, error: ApiError, text: str) -> Response:
    """A request refused before any route saw it, in its surface's envelope: the JSON error
    under /api/ and /gateways/ (provider webhooks), plain ``text`` elsewhere (pages)."""
    if str(scope.get("path", "")).startswith(("/api/", "/gateways/")):
        return error_response(error)
    return Response(text, status_code=error.status_code, media_type="text/plain")


class CleanRequests:
    """Refuse, in one place for every surface, a URL whose path or query holds a NUL character
    or is not valid UTF-8 once percent-decoded: nothing downstream (PostgreSQL text, path
    ids, filters) can store or compare such a value.  The answer is ``400`` in the
    surface's envelope (JSON under /api/ and /gateways/…/webhooks/, plain text elsewhere)."""

    MESSAGE = "The URL contains a NUL character or invalid UTF-8."

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def clean(scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        if "\x00" in path or not jsoncodec.clean_text(path) or "\ufffd" in path:
            return False
        query = bytes(scope.get("query_string", b""))
        if not query:
            return True
        try:
            decoded = unquote_to_bytes(query.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return "\x00" not in decoded and jsoncodec.clean_text(decoded)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.clean(scope):
            await self.app(scope, receive, send)
            return
        response = refusal(scope, ValidationFailed(errors={"request": [self.MESSAGE]}),
                           self.MESSAGE)
        await response(scope, receive, send)


# No route of any surface takes more: the API's JSON bodies stop at 64 KiB, checkout forms at
# 16 KiB, provider webhooks at theirs.  This bound is for every route, present and future,
# including those that never read a body (it is not buffered, but not streamed in either).
MAX_REQUEST_BODY = 1024 * 1024


class BoundedBodies:
    """Refuse a request body over :data:`MAX_REQUEST_BODY` bytes on every route: at once
    when ``Content-Length`` says so, and as soon as a streamed (chunked) body passes it.
    ``413`` in the surface's envelope (JSON under /api/ and /gateways/, text elsewhere)."""

    MESSAGE = "The request body is too large."

    def __init__(self, app: ASGIApp, *, limit: int = MAX_REQUEST_BODY) -> None:
        self.app = app
        self.limit = limit

    def _refusal(self, scope: Scope) -> Response:
        return refusal(scope, PayloadTooLarge(), self.MESSAGE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.limit:
                    await self._refusal(scope)(scope, receive, send)
                    return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            if not started:
                await self._refusal(scope)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class SubApplications:
    """Hand the requests a sub-application serves to it (full paths, no prefix stripped, so
    route templates -- and the metrics labels made from them -- stay the same); everything
    else goes to the JSON API.  Inside the request-id middleware, outside the API's routing."""

    def __init__(self, app: ASGIApp, *, subapps: list[tuple[Callable[[str], bool], ASGIApp]]
                 ) -> None:
        self.app = app
        self.subapps = subapps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for serves, subapp in self.subapps:
                if serves(scope["path"]):
                    await subapp(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, ctx: AppContext | None = None) -> FastAPI:
    """The JSON API (with /docs, /metrics and provider webhooks), with the hosted checkout
    as a sub-application (``ownpay.checkout.app``); the operator dashboard joins at /admin."""
    settings = settings or (ctx.settings if ctx else load_settings())
    configure_logging(settings)
    owns_ctx = ctx is None
    checkout_app = create_checkout_app(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = ctx or AppContext.create(settings)
        app.state.ctx = context
        checkout_app.state.ctx = context
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
    install_handlers(app)
    app.add_middleware(SubApplications, subapps=[(checkout_serves, checkout_app)])
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
                   transactions_router, provider_webhooks_router):
        app.include_router(router)
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
