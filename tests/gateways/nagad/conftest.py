"""Nagad end-to-end fixtures: the stand-in (``tests/simulators/nagad.py``) on a loopback
port and a merchant whose ``nagad`` gateway (test mode) points at it; our app and the
customer are ``tests/gateways/conftest.py``'s."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.simulators.nagad import CREDENTIALS
from tests.simulators.nagad import create_app as create_simulator
from tests.support.factories import MerchantKeys
from tests.support.standins import (
    bdt_intent,
    create_payment,
    shop_fixture,
    standin_fixture,
    to_hosted_page,
)

CALLBACK = re.compile(r"^http://pay\.test/gateways/nagad/callback/(txn_[0-9a-f]+)/"
                      r"[0-9a-f]{32}$")


sim_server = standin_fixture(create_simulator)
shop = shop_fixture("nagad", CREDENTIALS)


def intent(**overrides: Any) -> dict[str, Any]:
    return bdt_intent("nagad", overrides)


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      **overrides: Any) -> str:
    return await create_payment(customer, merchant, intent(**overrides))


to_provider = to_hosted_page  # our checkout sends the customer to Nagad's page


async def at_provider(http: httpx.AsyncClient, page_url: str, choice: str = "success") -> str:
    """The customer on Nagad's page: the callback URL Nagad sends the browser back to."""
    r = await http.get(page_url, params={"choice": choice})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def ref_of(page_url: str) -> str:
    return page_url.rstrip("/").rsplit("/", 1)[-1]
