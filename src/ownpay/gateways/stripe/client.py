"""The official Stripe SDK, carried by the provider executor.

Every SDK call goes through its async methods; the SDK's HTTP traffic goes through
:class:`_SharedHttpx`, which hands each request to :class:`ProviderExecutor` (one log line
and one metric sample per HTTP call, secrets redacted, failures classified) on the process's
shared httpx client.  The SDK may repeat a request once (``max_network_retries=1``, with the
same idempotency key), and only when the executor says it cannot have reached Stripe: a
customer's card is never put through twice on a guess.

:func:`send` turns the SDK's outage exceptions into the executor's taxonomy
(:class:`ProviderDidNotAct` / :class:`ProviderMayHaveActed`); Stripe's refusals
(``InvalidRequestError``, ``CardError``, ``IdempotencyError``) propagate for the adapter
to judge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import stripe

from ownpay.gateways.base import GatewayContext, GatewayError
from ownpay.gateways.executor import (
    ProviderDidNotAct,
    ProviderExecutor,
    ProviderMayHaveActed,
    ProviderUnavailable,
)

SLUG = "stripe"
DEFAULT_API_BASE = "https://api.stripe.com"

# The adapter's name for the SDK call in progress ("retrieve", "refund", …): the executor's
# operation label for the HTTP requests the SDK makes for it.
_operation: ContextVar[str | None] = ContextVar("stripe_operation", default=None)


def _fallback_operation(method: str, url: str) -> str:
    """An operation name from the request itself, should a call escape :func:`send`."""
    segments = [s for s in urlsplit(url).path.split("/") if s][1:2]  # /v1/<resource>/…
    return f"{method.lower()} {segments[0] if segments else 'unknown'}"


class _SharedHttpx(stripe.HTTPClient):
    """The SDK's HTTP client: each request is one :meth:`ProviderExecutor.send`.  Async
    only: the SDK's sync paths are never used."""

    name = "ownpay-executor"

    def __init__(self, executor: ProviderExecutor) -> None:
        super().__init__()
        self._executor = executor

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        operation = _operation.get() or _fallback_operation(method, url)
        try:
            response = await self._executor.send(
                operation, method, url, headers=dict(headers), content=post_data,
                server_errors="return",  # the SDK reads Stripe's 5xx bodies and headers
            )
        except ProviderUnavailable as exc:
            # Retry only when nothing can have reached Stripe.
            raise stripe.APIConnectionError(
                str(exc), should_retry=not exc.may_have_acted
            ) from exc
        return response.content, response.status_code, response.headers

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(secs)

    async def close_async(self) -> None:
        return None  # the shared client belongs to the application context


def client(ctx: GatewayContext) -> stripe.StripeClient:
    executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="Stripe")
    return stripe.StripeClient(
        ctx.credentials.get("secret_key", ""),
        base_addresses={"api": ctx.credentials.get("api_base") or DEFAULT_API_BASE},
        http_client=_SharedHttpx(executor),
        max_network_retries=1,
    )


@contextmanager
def _named(what: str) -> Iterator[None]:
    token = _operation.set(what)
    try:
        yield
    finally:
        _operation.reset(token)


async def send(what: str, pending: Awaitable[Any]) -> Any:
    """Await one SDK call; outages become the executor's ProviderDidNotAct or
    ProviderMayHaveActed, Stripe's refusals propagate."""
    with _named(what):
        try:
            return await pending
        except stripe.APIConnectionError as exc:
            cause = exc.__cause__
            if isinstance(cause, ProviderUnavailable):
                raise type(cause)(str(cause)) from exc
            raise ProviderMayHaveActed(f"Stripe connection failed on {what}") from exc
        except stripe.RateLimitError as exc:
            # Stripe turned the request away before acting on it.
            raise ProviderDidNotAct(f"Stripe answered HTTP {exc.http_status} on {what}") from exc
        except stripe.APIError as exc:
            status = exc.http_status
            if status is not None and status < 500:
                raise ProviderDidNotAct(f"Stripe answered HTTP {status} on {what}") from exc
            raise ProviderMayHaveActed(f"Stripe answered HTTP {status} on {what}") from exc
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            # Stripe masks keys in its messages, but ours carries none at all.
            raise GatewayError(
                f"Stripe refused the merchant's API key on {what} (HTTP {exc.http_status})",
                retryable=False, may_have_acted=False,
            ) from exc


def as_dict(what: str, obj: Any) -> dict[str, Any]:
    data = obj.to_dict() if hasattr(obj, "to_dict") else None
    if not isinstance(data, dict):
        raise ProviderMayHaveActed(f"Stripe answered an unexpected body on {what}")
    return data


async def call(what: str, pending: Awaitable[Any]) -> dict[str, Any]:
    return as_dict(what, await send(what, pending))


def replayed(obj: Any) -> bool:
    """Stripe answered with the first response to this idempotency key (a replay)."""
    response = getattr(obj, "last_response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return str(headers.get("idempotent-replayed", "")).lower() == "true"
    except AttributeError:
        return False
