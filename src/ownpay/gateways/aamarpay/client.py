"""aamarPay's API as the adapter uses it, every call through the provider executor.

* the payment request: ``POST {base}/jsonpost.php`` with a JSON body carrying ``store_id``
  and ``signature_key``; the answer is ``{"result": "true", "payment_url": …}`` or the
  reason of a refusal;
* the search ("trxcheck") API: ``GET {base}/api/v1/trxcheck/request.php?request_id=…&
  store_id=…&signature_key=…&type=json``, aamarPay's word on one of our transactions.

aamarPay answers with HTTP 200 and judges in the body, so every answer is read.  An answer
that is no JSON is :class:`ProviderMayHaveActed` for the payment request (it may have been
registered) and :class:`ProviderDidNotAct` for the search (a read changes nothing).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ownpay.gateways.base import GatewayContext, GatewayError
from ownpay.gateways.executor import ProviderDidNotAct, ProviderExecutor, ProviderMayHaveActed

SLUG = "aamarpay"
SANDBOX_URL = "https://sandbox.aamarpay.com"
LIVE_URL = "https://secure.aamarpay.com"
PAYMENT_REQUEST = "/jsonpost.php"
SEARCH = "/api/v1/trxcheck/request.php"
# Fields of our requests and aamarPay's answers the executor redacts in its log lines,
# besides the secrets it always redacts.
SENSITIVE = ("signature_key", "store_id", "cus_name", "cus_email", "cus_phone", "cardnumber")


class AamarpayRefused(GatewayError):
    """aamarPay refused the payment request (credentials, a field); nothing happened."""

    def __init__(self, said: str, customer_message: str) -> None:
        super().__init__(f"aamarPay refused the payment request: {said}", retryable=False,
                         may_have_acted=False)
        self.said = said
        self.customer_message = customer_message


def base_url(ctx: GatewayContext) -> str:
    configured = ctx.settings.get("base_url") or ctx.credentials.get("base_url")
    if configured:
        return str(configured).rstrip("/")
    return LIVE_URL if ctx.mode == "live" else SANDBOX_URL


def _executor(ctx: GatewayContext) -> ProviderExecutor:
    return ProviderExecutor(ctx.http, gateway=SLUG, provider="aamarPay")


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def payment_request(ctx: GatewayContext, body: dict[str, Any]) -> Any:
    """Register a payment; aamarPay's answer (a JSON value).  Never repeated here."""
    response = await _executor(ctx).send(
        "payment request", "POST", base_url(ctx) + PAYMENT_REQUEST, json=body,
        headers={"Accept": "application/json"}, sensitive=SENSITIVE,
    )
    data = _json(response)
    if data is None:
        said = f"aamarPay answered HTTP {response.status_code} without JSON (payment request)"
        if response.status_code < 400:
            raise ProviderMayHaveActed(said)
        raise ProviderDidNotAct(said)
    return data


async def search(ctx: GatewayContext, transaction_id: str) -> dict[str, Any]:
    """aamarPay's record of our transaction ``transaction_id`` (its ``mer_txnid``)."""
    query = urlencode({
        "request_id": transaction_id,
        "store_id": ctx.credentials.get("store_id", ""),
        "signature_key": ctx.credentials.get("signature_key", ""),
        "type": "json",
    })
    response = await _executor(ctx).send(
        "search", "GET", f"{base_url(ctx)}{SEARCH}?{query}",
        headers={"Accept": "application/json"}, sensitive=SENSITIVE,
    )
    data = _json(response)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if isinstance(data, str):  # aamarPay's words instead of a record ("Invalid Request ID")
        return {"said": " ".join(data.split())[:200]}
    if not isinstance(data, dict):
        raise ProviderDidNotAct(
            f"aamarPay answered HTTP {response.status_code} without a JSON object (search)")
    return data
