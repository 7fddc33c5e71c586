"""Nagad's checkout API as the adapter uses it, every call through the provider executor.

* initialize: ``POST {base}/api/dfs/check-out/initialize/{merchantId}/{orderId}`` with
  ``accountNumber``, ``dateTime`` (``YYYYMMDDHHmmss``, Asia/Dhaka) and the encrypted, signed
  ``{merchantId, datetime, orderId, challenge}``; the answer's ``sensitiveData`` (encrypted
  to the merchant's key, signed by Nagad) holds ``paymentReferenceId``, ``challenge`` and
  ``acceptDateTime``;
* complete: ``POST {base}/api/dfs/check-out/complete/{paymentReferenceId}`` with the
  encrypted, signed ``{merchantId, orderId, currencyCode, amount, challenge}`` and
  ``merchantCallbackURL`` -> ``status`` ``"Success"`` and ``callBackUrl`` (Nagad's page);
* verify: ``GET {base}/api/dfs/verify/payment/{paymentReferenceId}`` -> plain JSON;
* refund: ``POST {base}/api/dfs/purchase/cancel?paymentRefId=…&orderId=…`` with the
  encrypted, signed ``sensitiveDataCancelRequest`` -> a signed ``sensitiveData``.

Every call carries ``X-KM-Api-Version: v-0.2.0``, ``X-KM-IP-V4``, ``X-KM-Client-Type:
PC_WEB`` and ``X-KM-MC-Id``.  A refusal is ``{"reason": …, "message": …}`` (with HTTP 200
or 4xx): :class:`NagadRefused`, before Nagad acted.  A signed answer that does not decrypt
or verify is never believed (:class:`NagadAnswerUntrusted`, Nagad may have acted).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from ownpay.gateways.base import GatewayContext, GatewayError
from ownpay.gateways.executor import ProviderDidNotAct, ProviderExecutor, ProviderMayHaveActed
from ownpay.gateways.nagad import crypto
from ownpay.gateways.nagad.mapping import said

SLUG = "nagad"
SANDBOX_URL = "http://sandbox.mynagad.com:10080/remote-payment-gateway-1.0"
LIVE_URL = "https://api.mynagad.com"
API_VERSION = "v-0.2.0"
DHAKA = timedelta(hours=6)  # Asia/Dhaka: UTC+6 all year (no daylight saving)
# Fields of our requests and Nagad's answers the executor redacts in its log lines, besides
# the secrets (signature, …) it always redacts.
SENSITIVE = ("sensitiveData", "sensitiveDataCancelRequest", "challenge", "accountNumber",
             "clientMobileNo", "merchantMobileNo", "X-KM-MC-Id")


class NagadRefused(GatewayError):
    """Nagad refused the request (``reason`` / ``message``); it did not act on it."""

    def __init__(self, operation: str, words: str) -> None:
        super().__init__(f"Nagad refused the {operation}: {words}", retryable=False,
                         may_have_acted=False)
        self.said = words


class NagadAnswerUntrusted(ProviderMayHaveActed):
    """An answer whose ``sensitiveData`` does not decrypt, or whose signature is not
    Nagad's: nothing in it is believed, and Nagad may have acted."""


def base_url(ctx: GatewayContext) -> str:
    explicit = str(ctx.settings.get("base_url") or "").strip()
    if explicit:
        return explicit.rstrip("/")
    environment = str(ctx.settings.get("environment") or "")
    if not environment:
        environment = "live" if ctx.mode == "live" else "sandbox"
    return LIVE_URL if environment == "live" else SANDBOX_URL


def dhaka_now() -> datetime:
    return datetime.now(UTC) + DHAKA


def dhaka_stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S")


def _keys(ctx: GatewayContext) -> tuple[Any, Any]:
    return (crypto.load_private_key(ctx.credentials.get("merchant_private_key", "")),
            crypto.load_public_key(ctx.credentials.get("nagad_public_key", "")))


def _headers(ctx: GatewayContext) -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": "application/json",
            "X-KM-Api-Version": API_VERSION, "X-KM-Client-Type": "PC_WEB",
            "X-KM-IP-V4": str(ctx.settings.get("server_ip") or "127.0.0.1"),
            "X-KM-MC-Id": ctx.credentials.get("merchant_id", "")}


def sealed(ctx: GatewayContext, plain: Mapping[str, Any]) -> tuple[str, str]:
    """(``sensitiveData``, ``signature``): ``plain`` encrypted to Nagad and signed by us."""
    private, public = _keys(ctx)
    text = crypto.plain_json(plain)
    return crypto.encrypt(public, text), crypto.sign(private, text)


def capacity(ctx: GatewayContext) -> int:
    return crypto.capacity(_keys(ctx)[1])


def _executor(ctx: GatewayContext) -> ProviderExecutor:
    return ProviderExecutor(ctx.http, gateway=SLUG, provider="Nagad")


def _read(response: Any, operation: str, *, read_only: bool = False) -> dict[str, Any]:
    """The answer as a JSON object; a refusal raises NagadRefused."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        words = f"Nagad answered HTTP {response.status_code} without a JSON object ({operation})"
        if response.status_code < 400 and not read_only:
            raise ProviderMayHaveActed(words)
        raise ProviderDidNotAct(words)
    if data.get("reason") and not (data.get("sensitiveData") or data.get("status")):
        raise NagadRefused(operation, said(data))
    if response.status_code >= 400:
        raise ProviderDidNotAct(f"Nagad answered HTTP {response.status_code} on {operation}")
    return data


def opened(ctx: GatewayContext, data: Mapping[str, Any], operation: str) -> dict[str, Any]:
    """A signed answer's ``sensitiveData``, decrypted with our key and checked against
    Nagad's signature over the decrypted text."""
    private, public = _keys(ctx)
    sensitive, signature = data.get("sensitiveData"), data.get("signature")
    if not isinstance(sensitive, str) or not isinstance(signature, str):
        raise NagadAnswerUntrusted(f"Nagad's {operation} answer has no sensitiveData/signature")
    try:
        text = crypto.decrypt(private, sensitive)
        crypto.verify(public, text, signature)
        inner = json.loads(text)
    except (crypto.CryptoError, ValueError) as exc:
        raise NagadAnswerUntrusted(f"Nagad's {operation} answer is not trusted: {exc}") from exc
    if not isinstance(inner, dict):
        raise NagadAnswerUntrusted(f"Nagad's {operation} sensitiveData is not a JSON object")
    return inner


async def _post(ctx: GatewayContext, operation: str, url: str, body: Mapping[str, Any]
                ) -> dict[str, Any]:
    response = await _executor(ctx).send(operation, "POST", url, json=dict(body),
                                         headers=_headers(ctx), sensitive=SENSITIVE)
    return _read(response, operation)


async def initialize(ctx: GatewayContext, order_id: str, challenge: str) -> dict[str, Any]:
    """Open a Nagad session for ``order_id``; the decrypted, verified answer."""
    merchant = ctx.credentials.get("merchant_id", "")
    stamp = dhaka_stamp(dhaka_now())
    sensitive, signature = sealed(ctx, {"merchantId": merchant, "datetime": stamp,
                                        "orderId": order_id, "challenge": challenge})
    url = (f"{base_url(ctx)}/api/dfs/check-out/initialize/{quote(merchant, safe='')}/"
           f"{quote(order_id, safe='')}")
    data = await _post(ctx, "initialize", url, {
        "accountNumber": ctx.credentials.get("merchant_number", ""), "dateTime": stamp,
        "sensitiveData": sensitive, "signature": signature})
    return opened(ctx, data, "initialize")


async def complete(ctx: GatewayContext, payment_ref: str, plain: Mapping[str, Any],
                   callback_url: str) -> dict[str, Any]:
    """Place the order on the session; Nagad's answer (``status``, ``callBackUrl``)."""
    sensitive, signature = sealed(ctx, plain)
    url = f"{base_url(ctx)}/api/dfs/check-out/complete/{quote(payment_ref, safe='=')}"
    return await _post(ctx, "complete", url, {
        "sensitiveData": sensitive, "signature": signature,
        "merchantCallbackURL": callback_url})


async def verify(ctx: GatewayContext, payment_ref: str) -> dict[str, Any]:
    """Nagad's record of one payment (a read: an unreadable answer changed nothing)."""
    url = f"{base_url(ctx)}/api/dfs/verify/payment/{quote(payment_ref, safe='=')}"
    response = await _executor(ctx).send("verify", "GET", url, headers=_headers(ctx),
                                         sensitive=SENSITIVE)
    return _read(response, "verify", read_only=True)


async def cancel(ctx: GatewayContext, payment_ref: str, order_id: str,
                 plain: Mapping[str, Any]) -> dict[str, Any]:
    """Refund (Nagad's purchase/cancel); the decrypted, verified answer."""
    sensitive, signature = sealed(ctx, plain)
    query = urlencode({"paymentRefId": payment_ref, "orderId": order_id})
    data = await _post(ctx, "refund", f"{base_url(ctx)}/api/dfs/purchase/cancel?{query}",
                       {"sensitiveDataCancelRequest": sensitive, "signature": signature})
    return opened(ctx, data, "refund")
