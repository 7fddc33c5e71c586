"""The ASGI middleware every surface shares, outermost first as ``create_app`` stacks it:
request ids, metrics and security headers (:class:`RequestIdMiddleware`), oversized bodies
(:class:`BoundedBodies`), URLs nothing can store (:class:`CleanRequests`), and the hand-off
to a sub-application (:class:`SubApplications`).  Plain ASGI classes: Starlette's
``BaseHTTPMiddleware`` runs every request through an extra task and memory streams."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ownpay import jsoncodec, metrics
from ownpay.errors import ApiError, PayloadTooLarge, ValidationFailed, error_response
from ownpay.web.client import forwarded_proto
from ownpay.web.pages.security import HSTS

FALLBACK_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class RequestIdMiddleware:
    """Give every request an id (``X-Request-Id``, echoed when the caller sent a sane one),
    mark API answers ``no-store``, and put the security headers on every answer of every
    surface (API, checkout, docs, metrics, errors): ``X-Content-Type-Options: nosniff``,
    ``Referrer-Policy``, HSTS when the client came over HTTPS (``X-Forwarded-Proto`` only
    from a trusted proxy), and a Content-Security-Policy on HTML that set none itself.
    (``BaseHTTPMiddleware`` would cost more CPU per request than creating a payment intent.)
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


# The routes of the compatibility facades (compat/): their path pattern → the facade's own
# error renderer, registered by the app as it mounts them (``answer_in_envelope``), so a
# refusal made before routing (a body over the bound, a NUL in the URL) is in their envelope.
ForeignRender = Callable[[Request, ApiError], Response]
_FOREIGN: dict[str, tuple[re.Pattern[str], ForeignRender]] = {}


def answer_in_envelope(path_regex: re.Pattern[str], render: ForeignRender) -> None:
    _FOREIGN[path_regex.pattern] = (path_regex, render)


def refusal(scope: Scope, error: ApiError, text: str) -> Response:
    """A request refused before any route saw it, in its surface's envelope: a facade's own
    on its routes, the JSON error under /api/ and /gateways/ (provider webhooks), plain
    ``text`` elsewhere (pages)."""
    path = str(scope.get("path", ""))
    for pattern, render in _FOREIGN.values():
        if pattern.match(path):
            return render(Request(scope), error)
    if path.startswith(("/api/", "/gateways/")):
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
