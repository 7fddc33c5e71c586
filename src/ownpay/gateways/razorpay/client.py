"""Razorpay's REST API as the adapter uses it, every call through the provider executor.

Every call authenticates with HTTP Basic ``key_id:key_secret`` (the executor never logs the
``Authorization`` header).  Answers are JSON; a refusal is HTTP 4xx with
``{"error": {"code": "BAD_REQUEST_ERROR", "description": …}}`` and means Razorpay did not
act (:class:`RazorpayRefused`); a 5xx or a lost answer is the executor's
:class:`ProviderMayHaveActed`.  An answer that is no JSON object may have acted for a write
and cannot have for a read.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from ownpay.gateways.base import GatewayContext, GatewayError
from ownpay.gateways.executor import ProviderDidNotAct, ProviderExecutor, ProviderMayHaveActed
from ownpay.gateways.razorpay.mapping import error_description

SLUG = "razorpay"
API_URL = "https://api.razorpay.com"  # test and live keys share it (rzp_test_/rzp_live_)

PAYMENT_LINKS = "/v1/payment_links"
PAYMENTS = "/v1/payments"
REFUNDS = "/v1/refunds"
# Fields of our requests and Razorpay's answers redacted in the executor's log lines,
# besides the secrets it always redacts.
SENSITIVE = ("contact", "email", "name", "customer", "vpa", "card")


class RazorpayRefused(GatewayError):
    """Razorpay answered 4xx with its error object: it did not act."""

    def __init__(self, status: int, said: str, operation: str) -> None:
        super().__init__(f"Razorpay refused {operation} (HTTP {status}): {said}",
                         retryable=False, may_have_acted=False)
        self.status = status
        self.said = said


def base_url(ctx: GatewayContext) -> str:
    configured = ctx.settings.get("base_url") or ctx.credentials.get("base_url")
    return str(configured).rstrip("/") if configured else API_URL


def path_id(value: str) -> str:
    """A Razorpay id as one path segment (never a way to another path)."""
    return quote(value, safe="")


def _headers(ctx: GatewayContext, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    pair = f"{ctx.credentials.get('key_id', '')}:{ctx.credentials.get('key_secret', '')}"
    token = base64.b64encode(pair.encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json",
            **(extra or {})}


async def call(ctx: GatewayContext, operation: str, method: str, path: str, *,
               body: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None,
               headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One call; Razorpay's JSON object.  Raises RazorpayRefused or ProviderUnavailable."""
    url = base_url(ctx) + path + (f"?{urlencode(query)}" if query else "")
    extra = dict(headers or {})
    if body is not None:
        extra["Content-Type"] = "application/json"
    executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="Razorpay")
    response = await executor.send(operation, method, url, headers=_headers(ctx, extra),
                                   json=dict(body) if body is not None else None,
                                   sensitive=SENSITIVE)
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 409:  # the same idempotent request is still being processed
        raise ProviderMayHaveActed(f"Razorpay answered HTTP 409 on {operation}: "
                                   f"{error_description(data)}")
    if response.status_code == 429:
        raise ProviderDidNotAct(f"Razorpay rate-limited {operation} (HTTP 429)")
    if response.status_code >= 400:
        raise RazorpayRefused(response.status_code, error_description(data), operation)
    if not isinstance(data, dict):
        said = f"Razorpay answered HTTP {response.status_code} without a JSON object on " \
               f"{operation}"
        if method.upper() == "GET":
            raise ProviderDidNotAct(said)
        raise ProviderMayHaveActed(said)
    return data
