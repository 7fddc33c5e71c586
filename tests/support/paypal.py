"""The PayPal end-to-end tests' shared steps (their fixtures are
``tests/gateways/paypal/conftest.py``'s): the stand-in's credentials, a payment's intent, a
payment through our API, the order token of PayPal's approve link (:func:`order_of`) and the
brand's webhook URL."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.simulators.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
from tests.support.factories import MerchantKeys
from tests.support.standins import (
    body,
    create_payment,
    to_hosted_page,
)

CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
               "webhook_id": WEBHOOK_ID}


def intent(**overrides: Any) -> dict[str, Any]:
    return body({
        "gateway": "paypal", "amount": "49.95", "currency": "USD",
        "order_id": "ORD-" + secrets.token_hex(4), "customer_name": "John Doe",
        "customer_email": "john.doe@example.com",
        "return_url": "https://shop.example/return",
    }, overrides)


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      **overrides: Any) -> str:
    return await create_payment(customer, merchant, intent(**overrides))


to_paypal = to_hosted_page  # our checkout sends the customer to the order's approve link


def order_of(approve_url: str) -> str:
    token = dict(parse_qsl(urlsplit(approve_url).query)).get("token")
    assert token, approve_url
    return token


def webhook_url(merchant: MerchantKeys) -> str:
    return f"/gateways/paypal/webhooks/{merchant.slug}/test"
