"""The SSLCommerz end-to-end tests' shared steps (their fixtures are
``tests/gateways/sslcommerz/conftest.py``'s): the stand-in's credentials, a payment's
intent, a payment through our API, the customer at the hosted page and its auto-posted form
(:func:`at_provider`), and the return URL's shape."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.simulators.sslcommerz import STORE_ID, STORE_PASSWD
from tests.support.factories import MerchantKeys
from tests.support.standins import (
    bdt_intent,
    create_payment,
    to_hosted_page,
)

CREDENTIALS = {"store_id": STORE_ID, "store_passwd": STORE_PASSWD}
RETURN_PATH = re.compile(r"^http://pay\.test/gateways/sslcommerz/callback/(txn_[0-9a-f]+)/"
                         r"[0-9a-f]{32}$")


def intent(**overrides: Any) -> dict[str, Any]:
    return bdt_intent("sslcommerz", overrides)


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      **overrides: Any) -> str:
    return await create_payment(customer, merchant, intent(**overrides))


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action") or ""
        elif tag == "input" and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""


to_provider = to_hosted_page  # our checkout sends the customer to SSLCommerz's page


async def at_provider(http: httpx.AsyncClient, page_url: str, choice: str = "success"
                      ) -> tuple[str, dict[str, str]]:
    """The customer at the hosted page: where its auto-posted form goes, and the fields."""
    r = await http.get(f"{page_url}&choice={choice}")
    assert r.status_code == 200, r.text
    form = _Form()
    form.feed(r.text)
    # the route hands the adapter the token in the path as ``return_token``
    return form.action, {**form.fields, "return_token": form.action.rsplit("/", 1)[-1]}


def session_key_of(page_url: str) -> str:
    return str(httpx.URL(page_url).params["SESSIONKEY"])
