"""PayPal's REST API as the adapter uses it: the official ``paypal-server-sdk`` builds every
request and parses every answer, and the provider executor performs every HTTP call.

The SDK is blocking (requests underneath), so each SDK call runs in a worker thread
(``asyncio.to_thread``).  Its HTTP client is replaced by :class:`_ExecutorBridge`, which
hands the request back to the event loop and sends it with
:class:`~ownpay.gateways.executor.ProviderExecutor` on the shared ``GatewayContext.http``
client (timeouts, no redirects, SSRF-safe transport, one log line, metrics) -- so the SDK
never opens a connection of its own, never retries (its retry settings are off) and never
logs (no logging configuration).  Its base URL is ours: ``base_url`` (tests: a loopback
stand-in), else PayPal's sandbox (test mode) or live API.

OAuth 2 (client credentials): the access token is kept in the gateway account's encrypted
state store, shared by every process and fetched under its ``exclusive`` lock, and handed
to the SDK for each call; a 401 forgets it.

Refusals (HTTP 4xx with PayPal's ``{"name", "message", "debug_id", "details": [{"issue"}]}``)
become :class:`PayPalRefused`: PayPal did not act.  A 5xx, a timeout after sending or a lost
answer are the executor's :class:`ProviderMayHaveActed`; a 429 is "did not act".

The verify-webhook-signature API is not in the SDK: it is called directly through the
executor, with the same token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from apimatic_core_interfaces.client.http_client import HttpClient
from apimatic_core_interfaces.types.http_method_enum import HttpMethodEnum
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.o_auth_token import OAuthToken
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from ownpay.gateways.base import GatewayContext, GatewayError
from ownpay.gateways.executor import ProviderDidNotAct, ProviderExecutor, ProviderMayHaveActed
from ownpay.gateways.paypal.mapping import issue_of

SLUG = "paypal"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"
LIVE_URL = "https://api-m.paypal.com"
TOKEN_KEY = "oauth"  # noqa: S105 - the state-store key, not a secret
TOKEN_MARGIN = 120  # seconds: a token this close to expiry is fetched anew
VERIFY_PATH = "/v1/notifications/verify-webhook-signature"
# Fields of our requests and PayPal's answers redacted in the executor's log lines, besides
# the secrets it always redacts (Authorization, access_token, …).
SENSITIVE = ("payer", "email_address", "name", "given_name", "surname", "phone",
             "payment_source", "address", "transmission_sig", "nonce")


class PayPalRefused(GatewayError):
    """PayPal answered 4xx with its error object: it did not act."""

    def __init__(self, status: int, name: str, issue: str, message: str,
                 operation: str) -> None:
        super().__init__(f"PayPal refused {operation} (HTTP {status}): {issue}: {message}"[:400],
                         retryable=False, may_have_acted=False)
        self.status = status
        self.name = name
        self.issue = issue
        self.said = message


def base_url(ctx: GatewayContext) -> str:
    configured = ctx.settings.get("base_url")
    if configured:
        return str(configured).rstrip("/")
    return LIVE_URL if ctx.mode == "live" else SANDBOX_URL


# ---- the SDK's HTTP client: the executor ---------------------------------------------------


class _ExecutorBridge(HttpClient):  # type: ignore[misc]
    """The SDK's HttpClient: runs in the SDK's worker thread, sends on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, executor: ProviderExecutor,
                 operation: str) -> None:
        self.loop = loop
        self.executor = executor
        self.operation = operation
        self.response_factory: Any = None

    def execute(self, request: Any, endpoint_configuration: Any) -> Any:
        method = HttpMethodEnum.to_string(request.http_method)
        url = str(request.query_url)
        if request.query_parameters:
            url += ("&" if "?" in url else "?") + urlencode(request.query_parameters)
        headers = {str(k): str(v) for k, v in (request.headers or {}).items()
                   if v is not None}
        body = request.parameters
        content: bytes | None
        if isinstance(body, Mapping | list):  # a form (the token request): pairs
            pairs = body.items() if isinstance(body, Mapping) else body
            content = urlencode([(k, v) for k, v in pairs if v is not None]).encode()
        elif body is None:
            content = None
        else:
            content = str(body).encode()
        future = asyncio.run_coroutine_threadsafe(
            self.executor.send(self.operation, method, url, headers=headers, content=content,
                               sensitive=SENSITIVE), self.loop)
        response = future.result()
        return self.response_factory.create(response.status_code, response.reason_phrase,
                                            dict(response.headers), response.text, request)

    def convert_response(self, response: Any, contains_binary_response: Any,
                         http_request: Any) -> Any:
        return response


class _Configuration(Configuration):  # type: ignore[misc]
    """The SDK's configuration with our HTTP client and our base URL."""

    def __init__(self, *, bridge: _ExecutorBridge, base: str, **kwargs: Any) -> None:
        self._ownpay_bridge = bridge
        self._ownpay_base = base
        super().__init__(**kwargs)

    def create_http_client(self) -> _ExecutorBridge:
        self._ownpay_bridge.response_factory = self.http_response_factory
        return self._ownpay_bridge

    def get_base_uri(self, server: Any = Server.DEFAULT) -> str:
        return self._ownpay_base


def _sdk(ctx: GatewayContext, loop: asyncio.AbstractEventLoop, operation: str,
         token: Mapping[str, Any] | None) -> PaypalServersdkClient:
    executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="PayPal")
    o_auth = None
    if token:
        o_auth = OAuthToken(access_token=str(token["access_token"]), token_type="Bearer",  # noqa: S106
                            expires_in=int(token.get("expires_in") or 0),
                            expiry=int(token.get("expiry") or 0))
    credentials = ClientCredentialsAuthCredentials(
        o_auth_client_id=ctx.credentials.get("client_id", ""),
        o_auth_client_secret=ctx.credentials.get("client_secret", ""),
        o_auth_token=o_auth,
    )
    config = _Configuration(
        bridge=_ExecutorBridge(loop, executor, operation), base=base_url(ctx),
        max_retries=0, environment=Environment.PRODUCTION if ctx.mode == "live"
        else Environment.SANDBOX,
        client_credentials_auth_credentials=credentials,
    )
    return PaypalServersdkClient(config=config)


def _refused(exc: ApiException, operation: str) -> GatewayError:
    status = int(getattr(exc, "response_code", 0) or 0)
    name = str(getattr(exc, "name", None) or getattr(exc, "error", None) or "")
    issue = issue_of(name, getattr(exc, "details", None))
    message = " ".join(str(getattr(exc, "message", None) or exc.reason or "").split())[:200]
    if status == 429:
        return ProviderDidNotAct(f"PayPal rate-limited {operation} (HTTP 429)")
    if status == 409:  # the same PayPal-Request-Id is still being processed
        return ProviderMayHaveActed(f"PayPal answered HTTP 409 on {operation}: {issue}")
    if status >= 500:
        return ProviderMayHaveActed(f"PayPal answered HTTP {status} on {operation}")
    return PayPalRefused(status, name, issue, message, operation)


def _json(text: str | None, operation: str, *, write: bool) -> dict[str, Any]:
    try:
        data = json.loads(text or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        said = f"PayPal answered without a JSON object on {operation}"
        if write:
            raise ProviderMayHaveActed(said)
        raise ProviderDidNotAct(said)
    return data


# ---- tokens ---------------------------------------------------------------------------------


def _basic(ctx: GatewayContext) -> str:
    pair = f"{ctx.credentials.get('client_id', '')}:{ctx.credentials.get('client_secret', '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _usable(token: Mapping[str, Any] | None) -> bool:
    return bool(token and token.get("access_token")
                and float(token.get("expiry") or 0) > time.time() + TOKEN_MARGIN)


async def access_token(ctx: GatewayContext) -> dict[str, Any]:
    """A valid access token, shared by every process (fetched by one at a time)."""
    token = await ctx.store.get(TOKEN_KEY)
    if _usable(token):
        assert token is not None  # noqa: S101
        return token
    async with ctx.store.exclusive(TOKEN_KEY):
        token = await ctx.store.get(TOKEN_KEY)
        if _usable(token):
            assert token is not None  # noqa: S101
            return token
        loop = asyncio.get_running_loop()
        client = _sdk(ctx, loop, "token", None)

        def fetch() -> Any:
            return client.o_auth_authorization.request_token(
                {"authorization": _basic(ctx)})

        try:
            answer = await asyncio.to_thread(fetch)
        except ApiException as exc:
            raise _refused(exc, "token") from exc
        data = _json(answer.text, "token", write=False)
        if not data.get("access_token"):
            raise ProviderDidNotAct("PayPal answered a token without access_token")
        lifetime = int(data.get("expires_in") or 0)
        fresh = {"access_token": str(data["access_token"]), "expires_in": lifetime,
                 "expiry": int(time.time()) + lifetime}
        await ctx.store.put(TOKEN_KEY, fresh)
        return fresh


async def forget_token(ctx: GatewayContext) -> None:
    await ctx.store.put(TOKEN_KEY, {})


# ---- calls ----------------------------------------------------------------------------------


async def call(ctx: GatewayContext, operation: str,
               run: Callable[[PaypalServersdkClient], Any], *, write: bool) -> dict[str, Any]:
    """One SDK call (``run`` takes the SDK client) in a worker thread; PayPal's JSON object.
    Raises PayPalRefused or ProviderUnavailable."""
    token = await access_token(ctx)
    client = _sdk(ctx, asyncio.get_running_loop(), operation, token)
    try:
        answer = await asyncio.to_thread(run, client)
    except ApiException as exc:
        if getattr(exc, "response_code", 0) == 401:
            await forget_token(ctx)
        raise _refused(exc, operation) from exc
    return _json(answer.text, operation, write=write)


async def verify_webhook(ctx: GatewayContext, fields: Mapping[str, str], body: bytes) -> str:
    """PayPal's ``verification_status`` for one webhook delivery.  The event goes back
    byte for byte as it came (re-serialising it could change what PayPal signed)."""
    token = await access_token(ctx)
    head = json.dumps(dict(fields))[:-1]
    content = head.encode() + b', "webhook_event": ' + body + b"}"
    executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="PayPal")
    response = await executor.send(
        "verify webhook", "POST", base_url(ctx) + VERIFY_PATH,
        headers={"Authorization": f"Bearer {token['access_token']}",
                 "Content-Type": "application/json", "Accept": "application/json"},
        content=content, sensitive=SENSITIVE)
    if response.status_code == 401:
        await forget_token(ctx)
    data = _json(response.text, "verify webhook", write=False) \
        if response.status_code < 400 else {}
    return str(data.get("verification_status") or f"HTTP {response.status_code}")[:40]


__all__ = ["LIVE_URL", "SANDBOX_URL", "PayPalRefused", "access_token", "base_url", "call",
           "verify_webhook"]
