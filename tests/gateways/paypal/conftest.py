"""PayPal end-to-end fixtures: the stand-in (``tests/simulators/paypal.py``) on a loopback
port and a merchant whose ``paypal`` gateway (test mode) points at it; our app (provider
timeout 1.5 s) and the customer are ``tests/gateways/conftest.py``'s."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways.base import GatewayContext, PaymentView
from ownpay.payments.presenters import payment_view
from tests.simulators.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
from tests.simulators.paypal import create_app as create_simulator
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.records import gateway_call
from tests.support.standins import SimServer, body, create_payment, enable, serving, stored

CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
               "webhook_id": WEBHOOK_ID}


@pytest.fixture
async def sim_server() -> AsyncIterator[SimServer]:
    async with serving(create_simulator) as server:
        yield server


@pytest.fixture
async def shop(gateway_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
    merchant = await create_merchant(gateway_ctx, gateways=(("test", "sandbox"),))
    await enable(gateway_ctx, merchant, "paypal", **CREDENTIALS, base_url=sim_server.url)
    return merchant


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



async def to_paypal(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout: it sends the customer to the order's approve link."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 303, r.text
    return r.headers["location"]


def order_of(approve_url: str) -> str:
    token = dict(parse_qsl(urlsplit(approve_url).query)).get("token")
    assert token, approve_url
    return token



async def adapter_view(ctx: AppContext, txn: str) -> tuple[GatewayContext, PaymentView]:
    intent_row = await stored(ctx, txn)
    gctx, slug = await gateway_call(ctx, intent_row)
    return gctx, payment_view(intent_row, slug)


def webhook_url(merchant: MerchantKeys) -> str:
    return f"/gateways/paypal/webhooks/{merchant.slug}/test"
