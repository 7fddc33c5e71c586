"""bKash's API as the adapter uses it: authenticated POSTs through the provider executor,
and access tokens shared by every process.

How bKash answers (its published Tokenized Checkout API and error-code table):

* business results and errors come with HTTP 200 and ``statusCode``/``statusMessage``
  (``"0000"`` = success; some endpoints use ``errorCode``/``errorMessage``), so every reply
  is judged by its body;
* token problems are answered by bKash's API gateway *before* any bKash logic runs:
  HTTP 401 ``{"message": "Unauthorized"}`` or ``"The incoming token has expired"``, and
  HTTP 403 ``{"message": "Forbidden"}`` for a wrong ``X-APP-Key``.  A 401 is therefore the
  only refusal that is retried (once, with a renewed token): nothing happened at bKash.

Failures are the executor's: :class:`ProviderDidNotAct` (never reached bKash, or refused
before acting) and :class:`ProviderMayHaveActed` (a timeout after sending, a 5xx, an answer
that is no JSON object); a refusal with a code is :class:`BkashRefused`.

Access tokens live in the shared, encrypted ``ctx.store`` (the ``gateway_state`` table), so
every API process and worker reuses one grant instead of granting its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from ownpay.gateways.base import GatewayContext, GatewayError
from ownpay.gateways.bkash.mapping import SUCCESS, code, message
from ownpay.gateways.bkash.messages import CUSTOMER_MESSAGES, GENERIC, MERCHANT_SIDE
from ownpay.gateways.executor import ProviderDidNotAct, ProviderExecutor, ProviderMayHaveActed

log = structlog.get_logger("ownpay.gateways.bkash")

SLUG = "bkash"
SANDBOX_URL = "https://tokenized.sandbox.bka.sh/v1.2.0-beta"
LIVE_URL = "https://tokenized.pay.bka.sh/v1.2.0-beta"

GRANT = "/tokenized/checkout/token/grant"
REFRESH = "/tokenized/checkout/token/refresh"
CREATE = "/tokenized/checkout/create"
EXECUTE = "/tokenized/checkout/execute"
STATUS = "/tokenized/checkout/payment/status"
REFUND = "/tokenized/checkout/payment/refund"

TOKEN_STATE_KEY = "tokens"  # noqa: S105 - the name of a state entry, not a secret
TOKEN_MARGIN = 120  # seconds before expiry at which an id_token is renewed
# Request fields that identify the customer (the executor redacts them in its log lines,
# besides the credentials and tokens it always redacts).
SENSITIVE_FIELDS = ("payerReference", "customerMsisdn")


class BkashRefused(GatewayError):
    """bKash (or its API gateway) refused a call with a code; nothing happened there."""

    def __init__(self, code: str, message: str, *, operation: str) -> None:
        super().__init__(f"bKash {code} {message} ({operation})".strip(), retryable=False,
                         may_have_acted=False)
        self.code = code
        self.bkash_message = message
        self.operation = operation

    @property
    def customer_message(self) -> str:
        if self.operation.startswith("token"):  # the merchant's credentials were refused
            return MERCHANT_SIDE
        return CUSTOMER_MESSAGES.get(self.code, GENERIC)


@dataclass(frozen=True)
class Reply:
    status: int
    data: dict[str, Any]


def base_url(ctx: GatewayContext) -> str:
    return (ctx.credentials.get("base_url") or SANDBOX_URL).rstrip("/")


def _fingerprint(ctx: GatewayContext) -> str:
    """Which credentials a stored token belongs to (so a changed key never reuses it)."""
    c = ctx.credentials
    raw = "\x00".join((base_url(ctx), c.get("app_key", ""), c.get("username", "")))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _usable(record: Mapping[str, Any] | None, fingerprint: str, rejected: str | None) -> bool:
    if not record or record.get("for") != fingerprint or not record.get("id_token"):
        return False
    if rejected is not None and record["id_token"] == rejected:
        return False
    try:
        expires_at = float(record.get("expires_at", 0))
    except (TypeError, ValueError):
        return False
    return expires_at - TOKEN_MARGIN > time.time()


class BkashClient:
    """One per adapter instance: the token-renewal locks of this process live here."""

    def __init__(self) -> None:
        # One token renewal at a time per credentials and event loop in this process;
        # other processes see the renewed token through the shared store.
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    async def post(
        self, ctx: GatewayContext, path: str, body: Mapping[str, Any],
        headers: Mapping[str, str], *, operation: str,
    ) -> Reply:
        """One POST through the executor; never retried here."""
        executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="bKash")
        response = await executor.send(
            operation, "POST", base_url(ctx) + path, json=dict(body),
            headers={"Accept": "application/json", **headers}, sensitive=SENSITIVE_FIELDS,
        )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            unreadable = (f"bKash answered HTTP {response.status_code} without a JSON object "
                          f"on {operation}")
            if response.status_code < 400:
                raise ProviderMayHaveActed(unreadable)
            raise ProviderDidNotAct(unreadable)
        return Reply(response.status_code, data)

    def _lock(self, fingerprint: str) -> asyncio.Lock:
        key = (id(asyncio.get_running_loop()), fingerprint)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _renew(
        self, ctx: GatewayContext, path: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        c = ctx.credentials
        operation = "token refresh" if path == REFRESH else "token grant"
        reply = await self.post(
            ctx,
            path,
            {"app_key": c.get("app_key", ""), "app_secret": c.get("app_secret", ""), **body},
            {"username": c.get("username", ""), "password": c.get("password", "")},
            operation=operation,
        )
        data = reply.data
        token = data.get("id_token")
        if reply.status >= 400 or not token or code(data) not in (None, SUCCESS):
            refused = code(data) or f"http_{reply.status}"
            raise BkashRefused(refused, message(data) or "no id_token", operation=operation)
        try:
            expires_in = max(int(data.get("expires_in") or 3600), 1)
        except (TypeError, ValueError):
            expires_in = 3600
        return {
            "for": _fingerprint(ctx),
            "id_token": str(token),
            "refresh_token": str(data.get("refresh_token") or ""),
            "expires_at": time.time() + expires_in,
        }

    async def token(self, ctx: GatewayContext, *, rejected: str | None = None) -> str:
        """A valid id_token: shared cache -> refresh -> grant.  ``rejected``: a token bKash
        just refused, to be replaced (unless another process replaced it already)."""
        fingerprint = _fingerprint(ctx)
        record = await ctx.store.get(TOKEN_STATE_KEY)
        if _usable(record, fingerprint, rejected):
            return str(record["id_token"])  # type: ignore[index]
        # One renewal at a time: per process (the asyncio lock), then across processes (the
        # store's lock), so a token another process just stored is used, not granted again.
        async with self._lock(fingerprint), ctx.store.exclusive(TOKEN_STATE_KEY):
            record = await ctx.store.get(TOKEN_STATE_KEY)  # renewed while we waited?
            if _usable(record, fingerprint, rejected):
                return str(record["id_token"])  # type: ignore[index]
            fresh: dict[str, Any] | None = None
            if record and record.get("for") == fingerprint and record.get("refresh_token"):
                try:
                    fresh = await self._renew(
                        ctx, REFRESH, {"refresh_token": str(record["refresh_token"])}
                    )
                except BkashRefused as exc:  # expired/revoked refresh token: grant anew
                    log.info("bkash_refresh_refused", code=exc.code, message=exc.bkash_message)
            if fresh is None:
                fresh = await self._renew(ctx, GRANT, {})
                log.info("bkash_token_granted")
            else:
                log.info("bkash_token_refreshed")
            await ctx.store.put(TOKEN_STATE_KEY, fresh)
            return str(fresh["id_token"])

    async def call(
        self, ctx: GatewayContext, path: str, body: Mapping[str, Any], *, operation: str
    ) -> dict[str, Any]:
        """An authenticated call.  HTTP 401 (token expired/unknown at bKash's API gateway,
        which answers before bKash acts) renews the token and sends the call once more;
        nothing else is ever repeated.  Returns bKash's body; raises BkashRefused for an
        API-gateway refusal, the executor's ProviderDidNotAct / ProviderMayHaveActed when
        bKash could not be asked."""
        app_key = ctx.credentials.get("app_key", "")
        token = await self.token(ctx)
        for attempt in (1, 2):
            reply = await self.post(
                ctx, path, body, {"Authorization": token, "X-APP-Key": app_key},
                operation=operation,
            )
            if reply.status == 401 and attempt == 1:
                log.info("bkash_token_refused", operation=operation, message=message(reply.data))
                token = await self.token(ctx, rejected=token)
                continue
            if reply.status in (401, 403):
                raise BkashRefused(f"http_{reply.status}", message(reply.data),
                                   operation=operation)
            if reply.status >= 400 and code(reply.data) is None:
                raise ProviderDidNotAct(
                    f"bKash answered HTTP {reply.status} on {operation}: {message(reply.data)}"
                )
            return reply.data
        raise AssertionError("unreachable")  # pragma: no cover
