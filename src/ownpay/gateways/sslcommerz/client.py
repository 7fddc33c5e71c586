"""SSLCommerz's API as the adapter uses it, every call through the provider executor.

SSLCommerz authenticates each call with ``store_id`` and ``store_passwd`` as request
fields (form fields of the session POST, query parameters of the GET APIs; the executor
never logs a query string and redacts the password field of a body).  Answers are JSON with
HTTP 200; the GET APIs say whether the request was understood in ``APIConnect``
(``DONE``; ``INVALID_REQUEST``, ``FAILED`` and ``INACTIVE`` are refusals before acting).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ownpay.gateways.base import GatewayContext
from ownpay.gateways.executor import ProviderDidNotAct, ProviderExecutor, ProviderMayHaveActed

SLUG = "sslcommerz"
SANDBOX_URL = "https://sandbox.sslcommerz.com"
LIVE_URL = "https://securepay.sslcommerz.com"

SESSION = "/gwprocess/v4/api.php"
VALIDATION = "/validator/api/validationserverAPI.php"
QUERY = "/validator/api/merchantTransIDvalidationAPI.php"

SENSITIVE_FIELDS = ("store_passwd", "cus_phone", "cus_email", "cus_name")


def base_url(ctx: GatewayContext) -> str:
    explicit = str(ctx.settings.get("base_url") or "").strip()
    if explicit:
        return explicit.rstrip("/")
    return LIVE_URL if str(ctx.settings.get("environment")) == "live" else SANDBOX_URL


def _auth(ctx: GatewayContext) -> dict[str, str]:
    return {"store_id": ctx.credentials.get("store_id", ""),
            "store_passwd": ctx.credentials.get("store_passwd", "")}


def _json(response: Any, operation: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        unreadable = (f"SSLCommerz answered HTTP {response.status_code} without a JSON "
                      f"object on {operation}")
        if response.status_code < 400:
            raise ProviderMayHaveActed(unreadable)
        raise ProviderDidNotAct(unreadable)
    if response.status_code >= 400:
        raise ProviderDidNotAct(f"SSLCommerz answered HTTP {response.status_code} on "
                                f"{operation}")
    return data


async def post_form(ctx: GatewayContext, path: str, fields: Mapping[str, str], *,
                    operation: str) -> dict[str, Any]:
    executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="SSLCommerz")
    response = await executor.send(
        operation, "POST", base_url(ctx) + path,
        content=urlencode({**_auth(ctx), **fields}),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"},
        sensitive=SENSITIVE_FIELDS,
    )
    return _json(response, operation)


async def get(ctx: GatewayContext, path: str, query: Mapping[str, str], *,
              operation: str) -> dict[str, Any]:
    executor = ProviderExecutor(ctx.http, gateway=SLUG, provider="SSLCommerz")
    params = urlencode({**query, **_auth(ctx), "v": "1", "format": "json"})
    response = await executor.send(operation, "GET", f"{base_url(ctx)}{path}?{params}",
                                   headers={"Accept": "application/json"})
    return _json(response, operation)
