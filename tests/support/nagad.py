"""The Nagad end-to-end tests' shared steps (their fixtures are
``tests/gateways/nagad/conftest.py``'s): a payment's intent, a payment through our API, the
customer on Nagad's page (:func:`at_provider`) and the callback URL it sends the browser
back to."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support.factories import MerchantKeys
from tests.support.standins import (
    bdt_intent,
    create_payment,
    to_hosted_page,
)

CALLBACK = re.compile(r"^http://pay\.test/gateways/nagad/callback/(txn_[0-9a-f]+)/"
                      r"[0-9a-f]{32}$")


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
