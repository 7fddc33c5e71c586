"""The Razorpay end-to-end tests' shared steps (their fixtures are
``tests/gateways/razorpay/conftest.py``'s): the stand-in's credentials, a payment's intent,
a payment through our API, our checkout handing Checkout.js its order (:func:`to_razorpay`)
and posting the handler's fields to our callback (:func:`post_handler`)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from tests.simulators.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET
from tests.support.factories import MerchantKeys
from tests.support.standins import (
    body,
    create_payment,
)

CREDENTIALS = {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET}


def intent(**overrides: Any) -> dict[str, Any]:
    return body({
        "gateway": "razorpay", "amount": "1250.50", "currency": "INR",
        "order_id": "ORD-" + secrets.token_hex(4), "customer_name": "Gaurav Kumar",
        "customer_email": "gaurav.kumar@example.com", "customer_phone": "+919000090000",
        "return_url": "https://shop.example/return",
    }, overrides)


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      **overrides: Any) -> str:
    return await create_payment(customer, merchant, intent(**overrides))


async def open_checkout(customer: httpx.AsyncClient, txn: str) -> httpx.Response:
    """Open our checkout page: it renders Checkout.js for the payment's Razorpay order."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 200, r.text
    assert 'id="razorpay-form"' in r.text, r.text
    return r


def order_on(page: httpx.Response) -> str:
    """The Razorpay order id our page hands Checkout.js."""
    found = re.search(r'data-order-id="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def to_razorpay(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout; the order id Checkout.js is given."""
    return order_on(await open_checkout(customer, txn))


def callback(txn: str) -> str:
    return f"/gateways/razorpay/callback/{txn}"


async def post_handler(customer: httpx.AsyncClient, txn: str,
                       fields: dict[str, str] | None) -> httpx.Response:
    """What our script does with Checkout.js's handler fields: POST them to our return."""
    assert fields is not None
    return await customer.post(callback(txn), data=fields)
