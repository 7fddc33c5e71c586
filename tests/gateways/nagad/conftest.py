"""Nagad end-to-end fixtures: the stand-in (``tests/simulators/nagad.py``) on a loopback
port and a merchant whose ``nagad`` gateway (test mode) points at it; our app and the
customer are ``tests/gateways/conftest.py``'s."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ownpay.context import AppContext
from tests.simulators.nagad import CREDENTIALS
from tests.simulators.nagad import create_app as create_simulator
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.standins import SimServer, body, create_payment, enable, serving

CALLBACK = re.compile(r"^http://pay\.test/gateways/nagad/callback/(txn_[0-9a-f]+)/"
                      r"[0-9a-f]{32}$")


@pytest.fixture
async def sim_server() -> AsyncIterator[SimServer]:
    async with serving(create_simulator) as server:
        yield server


@pytest.fixture
async def shop(gateway_ctx: AppContext, sim_server: SimServer) -> MerchantKeys:
    merchant = await create_merchant(gateway_ctx, gateways=(("test", "sandbox"),))
    await enable(gateway_ctx, merchant, "nagad", **CREDENTIALS, base_url=sim_server.url)
    return merchant


def intent(**overrides: Any) -> dict[str, Any]:
    return body({
        "gateway": "nagad", "amount": "1250.50", "currency": "BDT",
        "order_id": "ORD-" + secrets.token_hex(4), "customer_name": "Rahim Uddin",
        "customer_email": "rahim@example.com", "customer_phone": "01770618575",
        "return_url": "https://shop.example/return",
    }, overrides)


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      **overrides: Any) -> str:
    return await create_payment(customer, merchant, intent(**overrides))


async def to_provider(customer: httpx.AsyncClient, txn: str) -> str:
    """Open our checkout: it sends the customer to Nagad's page (returned)."""
    r = await customer.get(f"/checkout/{txn}")
    assert r.status_code == 303, r.text
    return r.headers["location"]


async def at_provider(http: httpx.AsyncClient, page_url: str, choice: str = "success") -> str:
    """The customer on Nagad's page: the callback URL Nagad sends the browser back to."""
    r = await http.get(page_url, params={"choice": choice})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def ref_of(page_url: str) -> str:
    return page_url.rstrip("/").rsplit("/", 1)[-1]
