"""Razorpay's REST API as the adapter uses it: the official ``razorpay`` SDK builds every
request (paths, JSON bodies, Basic ``key_id:key_secret``) and the provider executor
performs every HTTP call.

The SDK is blocking (``requests`` underneath), so each SDK call runs in a worker thread
(``asyncio.to_thread``).  Its ``requests.Session`` is replaced by :class:`_ExecutorSession`,
which hands each request back to the event loop and sends it with
:class:`~ownpay.gateways.executor.ProviderExecutor` on the shared ``GatewayContext.http``
client (timeouts, no redirects, SSRF-safe transport, one redacted log line, metrics) -- so
the SDK never opens a connection of its own and never retries (its retries stay off).  Its
base URL is ours: ``base_url`` (tests: a loopback stand-in), else ``api.razorpay.com``
(test and live keys share it).

Answers are classified in the session, before the SDK sees them: a refusal (HTTP 4xx with
``{"error": {"code": "BAD_REQUEST_ERROR", "description": …}}``) is
:class:`RazorpayRefused` (Razorpay did not act); 409 (the same idempotent request still
being processed) may have acted; 429 did not act; a 5xx, a timeout after sending or a lost
answer are the executor's :class:`ProviderMayHaveActed`.  An answer that is no JSON object
may have acted for a write and cannot have for a read.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import razorpay  # type: ignore[import-untyped]
from razorpay.errors import BadRequestError, ServerError  # type: ignore[import-untyped]
from razorpay.errors import GatewayError as SdkGatewayError

from ownpay.gateways.base import GatewayContext, GatewayError
from ownpay.gateways.executor import ProviderDidNotAct, ProviderExecutor, ProviderMayHaveActed
from ownpay.gateways.razorpay.mapping import error_description

SLUG = "razorpay"
API_URL = "https://api.razorpay.com"  # test and live keys share it (rzp_test_/rzp_live_)
# Fields of our requests and Razorpay's answers redacted in the executor's log lines,
# besides the secrets it always redacts (Authorization, *signature, …).
SENSITIVE = ("contact", "email", "name", "customer", "vpa", "card", "prefill")


class RazorpayRefused(GatewayError):
    """Razorpay answered 4xx with its error object: it did not act."""

    def __init__(self, status: int, said: str, operation: str) -> None:
        super().__init__(f"Razorpay refused {operation} (HTTP {status}): {said}"[:400],
                         retryable=False, may_have_acted=False)
        self.status = status
        self.said = said


def base_url(ctx: GatewayContext) -> str:
    configured = ctx.settings.get("base_url") or ctx.credentials.get("base_url")
    return str(configured).rstrip("/") if configured else API_URL


def path_id(value: str) -> str:
    """A Razorpay id as one path segment (never a way to another path)."""
    return quote(value, safe="")


def _basic(auth: Any) -> str | None:
    if not (isinstance(auth, tuple) and len(auth) == 2):
        return None
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return f"Basic {token}"


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class _ExecutorSession:
    """The SDK's ``requests.Session``: called in the SDK's worker thread, sends on the
    event loop through the executor, answers with the httpx response (which has the
    ``status_code`` and ``json()`` the SDK reads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, executor: ProviderExecutor,
                 operation: str) -> None:
        self.loop = loop
        self.executor = executor
        self.operation = operation

    def get(self, url: str, **options: Any) -> Any:
        return self._send("GET", url, **options)

    def post(self, url: str, **options: Any) -> Any:
        return self._send("POST", url, **options)

    def patch(self, url: str, **options: Any) -> Any:
        return self._send("PATCH", url, **options)

    def put(self, url: str, **options: Any) -> Any:
        return self._send("PUT", url, **options)

    def delete(self, url: str, **options: Any) -> Any:
        return self._send("DELETE", url, **options)

    def _send(self, method: str, url: str, *, auth: Any = None, params: Any = None,
              data: Any = None, headers: Mapping[str, str] | None = None,
              **_ignored: Any) -> Any:
        # ``verify`` (the SDK's CA bundle) is ignored: TLS is the shared client's.
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        sent = {str(k): str(v).strip() for k, v in (headers or {}).items() if v is not None}
        sent.setdefault("Accept", "application/json")
        if (authorization := _basic(auth)) is not None:
            sent["Authorization"] = authorization
        content: bytes | None
        if data is None or data == {}:
            content = None
        elif isinstance(data, bytes):
            content = data
        elif isinstance(data, str):
            content = data.encode()
        else:  # a form (the SDK sends JSON strings for every call the adapter makes)
            content = urlencode(data, doseq=True).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        future = asyncio.run_coroutine_threadsafe(
            self.executor.send(self.operation, method, url, headers=sent, content=content,
                               sensitive=SENSITIVE), self.loop)
        response = future.result()
        data_out = _json(response)
        status = response.status_code
        if status == 409:
            raise ProviderMayHaveActed(f"Razorpay answered HTTP 409 on {self.operation}: "
                                       f"{error_description(data_out)}")
        if status == 429:
            raise ProviderDidNotAct(f"Razorpay rate-limited {self.operation} (HTTP 429)")
        if status >= 400:
            raise RazorpayRefused(status, error_description(data_out), self.operation)
        if not isinstance(data_out, dict):
            said = (f"Razorpay answered HTTP {status} without a JSON object on "
                    f"{self.operation}")
            if method == "GET":
                raise ProviderDidNotAct(said)
            raise ProviderMayHaveActed(said)
        return response


def sdk(ctx: GatewayContext, loop: asyncio.AbstractEventLoop, operation: str) -> Any:
    """A ``razorpay.Client`` whose every request goes through the executor."""
    executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="Razorpay")
    client = razorpay.Client(
        session=_ExecutorSession(loop, executor, operation),
        auth=(ctx.credentials.get("key_id", ""), ctx.credentials.get("key_secret", "")),
        base_url=base_url(ctx))
    client.set_app_details({"title": "OwnPay"})
    return client


async def call(ctx: GatewayContext, operation: str, run: Callable[[Any], Any], *,
               write: bool) -> dict[str, Any]:
    """One SDK call (``run`` takes the SDK client) in a worker thread; Razorpay's JSON
    object.  Raises RazorpayRefused or ProviderUnavailable."""
    client = sdk(ctx, asyncio.get_running_loop(), operation)
    try:
        data = await asyncio.to_thread(run, client)
    except (BadRequestError, SdkGatewayError, ServerError) as exc:  # pragma: no cover
        # The session answers refusals itself; this is the SDK's own complaint.
        raise RazorpayRefused(0, str(exc)[:200], operation) from exc
    if not isinstance(data, dict):
        said = f"Razorpay answered without a JSON object on {operation}"
        if write:
            raise ProviderMayHaveActed(said)
        raise ProviderDidNotAct(said)
    return data


__all__ = ["API_URL", "RazorpayRefused", "base_url", "call", "path_id", "sdk"]
